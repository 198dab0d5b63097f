"""Awarding and taking back an order's points: state-based and idempotent.

From an order's current state compute what it is worth now (net of refunds, zero if cancelled), compare with
what the ledger already holds for it, and post the difference. Deliveries that repeat, retry or arrive out of
order converge on the same ledger: the order's row is locked while it is reconciled, and a payload older than
the newest one applied (by Saleor's ``updatedAt``) changes nothing.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.core.logging import log_context
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.accounts import (
    EnrolWithAccounts,
    MemberAccounts,
    lookup_member_with_points_accounts,
    member_accounts,
)
from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member

from . import signals
from .earning import RuleSnapshot, kept_share, net_spend, order_points
from .extensions import order_redemptions, store_credit_spent
from .issuing import issue_many, issue_points
from .models import ClawbackPolicy, GuestOrderPolicy, OrderAward, OrderPlacement, ProgramSettings
from .rules import program_settings, rule_for_order
from .snapshots import OrderSnapshot

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    EARNED = "earned"
    CLAWED_BACK = "clawed_back"
    UNCHANGED = "unchanged"
    STALE = "stale"
    NO_MEMBER = "no_member"


@dataclass(frozen=True)
class Settlement:
    """What one reconcile settled, for the ``order_reconciled`` receivers to read instead of querying it again."""

    program: ProgramSettings  # the settings this reconcile read (one read per event)
    earned: int = 0  # whole points this change issued (the order's own and carried fractions, net of carry taken)
    unlocks_at: datetime | None = None  # when the points issued by this change become spendable


@dataclass(frozen=True)
class Principal:
    """Who caused the event (Saleor's ``issuingPrincipal``): a user id, an app id, or nobody (anonymous)."""

    kind: str | None  # "User", "App" or None
    id: str | None


def placement_of(order: OrderSnapshot, principal: Principal) -> OrderPlacement:
    """Who placed the order, as seen on ORDER_CREATED."""
    if principal.kind is None:
        return OrderPlacement.GUEST
    if principal.kind == "User" and principal.id == order.user_id:
        return OrderPlacement.CUSTOMER
    return OrderPlacement.STAFF_OR_APP


_AWARD_FIELDS = [f for f in OrderAward._meta.concrete_fields if not f.primary_key]


@dataclass(frozen=True)
class Shopper:
    """The order's shopper as read with its award, in the same round trip (PostgreSQL): ``found`` holds their
    member's row, locked, and that member's points accounts (``lookup_member_with_points_accounts``). None: not
    looked up (a guest order the program does not award, or another database)."""

    found: db.Query | None = None
    # how a new shopper is enrolled: with their points accounts, in one statement
    enrolment: EnrolWithAccounts = field(default_factory=EnrolWithAccounts)


def _lock_award(install: Install, order: OrderSnapshot, program: ProgramSettings) -> tuple[OrderAward, Shopper]:
    """The order's award, locked: inserted, or the existing row locked, by one statement; with it, in the same round
    trip, the shopper's member (locked: award first, then member, the order every event of the order takes them in)
    and accounts, which all but a few orders settle with (``_member_for``)."""
    new = OrderAward(
        install=install,
        order_id=order.id,
        order_number=order.number,
        channel_slug=order.channel_slug,
        currency=order.currency,
    )
    if connection.vendor != "postgresql":
        OrderAward.objects.bulk_create([new], ignore_conflicts=True)
        return OrderAward.objects.select_for_update().get(install=install, order_id=order.id), Shopper()
    award_query = db.insert_or_lock(new, ("install", "order_id"))
    shopper = _shopper(install, order, program)
    db.fetch_together(award_query, *([shopper.found] if shopper.found is not None else []))
    award, _ = db.inserted_or_locked(OrderAward, award_query)
    return award, shopper


def _shopper(install: Install, order: OrderSnapshot, program: ProgramSettings) -> Shopper:
    if order.user_id:
        key = members.shopper_key(install, user_id=order.user_id)
    elif order.user_email and program.guest_orders == GuestOrderPolicy.EARN:
        key = members.shopper_key(install, email=order.user_email)
    else:
        return Shopper()
    return Shopper(found=lookup_member_with_points_accounts(key))


def _member_for(
    install: Install, award: OrderAward, order: OrderSnapshot, program: ProgramSettings, shopper: Shopper
) -> tuple[Member | None, bool]:
    """The order's member, locked (``FOR UPDATE``): the row the settlement updates, read once (with the award, when
    it is the shopper's); and whether it was enrolled just now (it has no ledger accounts yet)."""
    if award.member_id is not None:
        looked_up = members.found(shopper.found) if shopper.found is not None else None
        if looked_up is not None and looked_up.pk == award.member_id and looked_up.merged_into_id is None:
            return looked_up, False
        member = Member.objects.select_for_update().get(pk=award.member_id)
        if member.merged_into_id is not None:
            member = Member.objects.select_for_update().get(pk=members.current(member).pk)
        return member, False
    if order.user_id:
        return members.find_or_enrol_user(
            install, order.user_id, order.user_email, lock=True, looked_up=shopper.found, enrol=shopper.enrolment
        )
    if order.user_email and program.guest_orders == GuestOrderPolicy.EARN:
        return members.find_or_enrol_guest(
            install, order.user_email, lock=True, looked_up=shopper.found, enrol=shopper.enrolment
        )
    return None, False


def _excluded(award: OrderAward, program: ProgramSettings) -> bool:
    return award.placement == OrderPlacement.GUEST and program.registered_email_guest_orders == GuestOrderPolicy.IGNORE


def reconcile_order(
    install: Install, order: OrderSnapshot, *, principal: Principal | None = None, is_creation: bool = False
) -> Outcome:
    """Bring the ledger in line with the order's state. ``principal`` matters only on ORDER_CREATED."""
    # No savepoint of its own: it joins the caller's transaction (``process_event`` runs each event in a savepoint),
    # so an error here fails the caller's block.
    with log_context(install_id=install.pk, order_id=order.id), transaction.atomic(savepoint=False):
        program = program_settings(install)
        award, shopper = _lock_award(install, order, program)
        loaded = _values(award)
        if is_creation and principal is not None and award.placement == OrderPlacement.UNKNOWN:
            award.placement = placement_of(order, principal)
        stale = award.state_updated_at is not None and order.updated_at < award.state_updated_at
        # the code an order used never changes: even a stale payload says it
        if _capture_redemption(install, order):
            award.has_redemption = True
        if not stale:
            award.was_fully_paid = award.was_fully_paid or order.is_fully_charged
        member, enrolled = _member_for(install, award, order, program, shopper)
        if member is None:
            _record_state(install, order, award, stale, program, loaded)
            return Outcome.NO_MEMBER
        award.member = member

        rule = (
            RuleSnapshot.from_json(award.rule)
            if award.rule
            else rule_for_order(
                install, order.channel_slug, order.currency, member=member, placed_at=order.created, program=program
            )
        )
        store_credit = Decimal(0) if stale else store_credit_spent(install, member, order)
        if _excluded(award, program):
            desired = Decimal(0)
        elif stale:
            desired = award.exact_points
        else:
            desired = order_points(
                order,
                rule,
                was_fully_paid=award.was_fully_paid,
                redeemed_value=_redeemed_value(install, order, award, program),
                store_credit=store_credit,
            )
            if not program.is_active:
                desired = min(desired, award.exact_points)
        if desired > 0 and award.rule is None:
            award.rule = rule.to_json()
        outcome, settlement = _apply(award, member, enrolled, desired, program, order, shopper)
        _record_state(install, order, award, stale, program, loaded, store_credit)
        if not stale:
            signals.order_reconciled.send(
                sender=reconcile_order,
                install=install,
                order=order,
                member=member,
                award=award,
                outcome=outcome,
                settlement=settlement,
            )
        if stale and outcome == Outcome.UNCHANGED:
            return Outcome.STALE
        return outcome


def _redeemed_value(install: Install, order: OrderSnapshot, award: OrderAward, program: ProgramSettings) -> Decimal:
    """The points-paid part of the order, when the merchant lets it earn too (off by default)."""
    if not program.earn_on_redeemed_value or not award.has_redemption:
        return Decimal(0)
    return order_redemptions().redeemed_value(install, order_id=order.id)


def _values(award: OrderAward) -> dict[str, Any]:
    return {f.attname: getattr(award, f.attname) for f in _AWARD_FIELDS}


def _record_state(
    install: Install,
    order: OrderSnapshot,
    award: OrderAward,
    stale: bool,
    program: ProgramSettings,
    loaded: dict[str, Any],
    store_credit: Decimal = Decimal(0),
) -> None:
    """Settle what depends on the newest state (points spent on the order) and remember that state: the award's
    columns that changed since it was ``loaded``, and nothing if none did. Its spend (what tiers qualify on) leaves
    out ``store_credit``, the money paid with the program's own store credit, as its points do."""
    if not stale:
        _return_redeemed_points(install, order, award, program)
        award.spend = net_spend(order, award.was_fully_paid, store_credit)
        if award.was_fully_paid and award.first_paid_at is None:
            award.first_paid_at = timezone.now()
        award.state_updated_at = order.updated_at
    changed = [name for name, value in loaded.items() if getattr(award, name) != value]
    if changed:
        db.update_fields_later(award, [*changed, "updated_at"])


def _capture_redemption(install: Install, order: OrderSnapshot) -> bool:
    """An order that used a redemption code spends its points (whoever placed it, member or not). True when the
    order's code was a redemption's."""
    return order_redemptions().capture(install, order_id=order.id, voucher_code=order.voucher_code)


def _return_redeemed_points(
    install: Install, order: OrderSnapshot, award: OrderAward, program: ProgramSettings
) -> None:
    """Points spent on this order come back as refunds and cancellation take the order back. Only an order that
    had a redemption captured can have any (``has_redemption``): the others need no lookup."""
    if not award.has_redemption:
        return
    order_redemptions().settle_returns(
        install, order_id=order.id, kept_share=kept_share(order, award.was_fully_paid), program=program
    )


def _apply(
    award: OrderAward,
    member: Member,
    enrolled: bool,
    desired: Decimal,
    program: ProgramSettings,
    order: OrderSnapshot,
    shopper: Shopper,
) -> tuple[Outcome, Settlement]:
    """Post the change from what the order held to ``desired`` (its whole points, and its fraction carried on the
    member), then write the member's row once: lifetime points, last activity, accrued fractions and carry."""
    new_points = int(desired)  # floor: desired is never negative
    old_points = award.points
    fraction_change = (desired - new_points) - (award.exact_points - old_points)
    if new_points == old_points and fraction_change == 0:
        return Outcome.UNCHANGED, Settlement(program)
    award.revision += 1
    key = f"order:{award.order_id}:r{award.revision}"
    unlocks_at = timezone.now() + timedelta(days=program.return_window_days)
    accounts = member_accounts(member, new_member=enrolled, looked_up=shopper.found, enrolment=shopper.enrolment)
    totals = ledger.MemberTotals()
    ordered = new_points - old_points
    carry = member.carry_points
    if fraction_change:
        carry = int(member.earn_accrual + fraction_change)  # the member's row is locked: its accrual is current
    carried = carry - member.carry_points
    if ordered > 0 and carried > 0:  # both earn: one posting of both lots
        earnings = [
            ledger.Earning(points=ordered, key=key, source="order", rule=award.rule),
            ledger.Earning(points=carried, key=f"{key}:carry", source="carry"),
        ]
        issue_many(
            member, program, earnings, order_id=award.order_id, unlocks_at=unlocks_at, accounts=accounts, totals=totals
        )
    else:
        order_id = award.order_id
        _post_points(member, program, ordered, "order", key, order_id, unlocks_at, accounts, totals, rule=award.rule)
        _post_points(member, program, carried, "carry", f"{key}:carry", order_id, unlocks_at, accounts, totals)
    earned = max(0, ordered) + carried
    _write_member(member, totals, fraction_change, carry)
    outcome = Outcome.EARNED if desired > award.exact_points else Outcome.CLAWED_BACK
    award.exact_points = desired
    award.points = new_points
    logger.info(
        "order reconciled",
        extra={
            "data": {
                "order_number": order.number,
                "points": new_points,
                "previous_points": old_points,
                "member_id": member.pk,
            }
        },
    )
    return outcome, Settlement(program, earned=earned, unlocks_at=unlocks_at)


def _post_points(
    member: Member,
    program: ProgramSettings,
    points: int,
    source: str,
    key: str,
    order_id: str | None,
    unlocks_at: datetime | None,
    accounts: MemberAccounts | None = None,
    totals: ledger.MemberTotals | None = None,
    *,
    rule: dict[str, Any] | None = None,
) -> None:
    """Issue ``points`` (an order's or its carried fractions'), or take them back when negative."""
    if points > 0:
        issue_points(
            member,
            program,
            points=points,
            key=key,
            source=source,
            order_id=order_id,
            rule=rule,
            unlocks_at=unlocks_at,
            accounts=accounts,
            totals=totals,
        )
    elif points < 0:
        ledger.claw_back(
            member=member,
            points=-points,
            key=key,
            order_id=order_id,
            write_off=program.clawback_policy == ClawbackPolicy.WRITE_OFF,
            accounts=accounts,
            totals=totals,
        )


# Last activity is kept to the hour: "after N days without activity" never needs it finer, and leaving an indexed
# column as it is lets PostgreSQL update the row in place (HOT: no index entry written) for every order but a
# shopper's first in an hour.
ACTIVITY_RESOLUTION = timedelta(hours=1)


def _write_member(member: Member, totals: ledger.MemberTotals, fraction_change: Decimal, carry: int) -> None:
    """The settlement's one write of the member's row (nothing when nothing on it moved)."""
    changes: dict[str, tuple[str, Any]] = {}  # column: (SQL assignment, value)
    if totals.lifetime_points:
        changes["lifetime_points"] = ("lifetime_points + %s", totals.lifetime_points)
    last = member.last_activity_at
    if totals.active_at is not None and (last is None or totals.active_at - last >= ACTIVITY_RESOLUTION):
        changes["last_activity_at"] = ("%s", totals.active_at)
        member.last_activity_at = totals.active_at
    if fraction_change:
        changes["earn_accrual"] = ("earn_accrual + %s", fraction_change)
        member.earn_accrual += fraction_change
    if carry != member.carry_points:
        changes["carry_points"] = ("%s", carry)
        member.carry_points = carry
    if not changes:
        return
    if connection.vendor != "postgresql":  # the ORM's arithmetic on SQLite's decimals
        Member.objects.filter(pk=member.pk).update(
            **{column: F(column) + value if "+" in sql else value for column, (sql, value) in changes.items()}
        )
        return
    assignments = ", ".join(f"{column} = {sql}" for column, (sql, _) in changes.items())
    db.execute_later(
        f"UPDATE members_member SET {assignments} WHERE id = %s",  # noqa: S608 - constant column names
        [*(value for _, value in changes.values()), member.pk],
    )


def settle_carry(member: Member, program: ProgramSettings, *, key: str, order_id: str | None) -> int:
    """Award (or take back) whole points accrued from carried fractions, so carry == floor(accrual), for a member
    whose accrual moved outside an order's settlement (a guest's merged in). Returns the points awarded
    (negative: taken back)."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    carried = int(member.earn_accrual) - member.carry_points
    _post_points(member, program, carried, "carry", key, order_id, None)
    if carried:
        Member.objects.filter(pk=member.pk).update(carry_points=member.carry_points + carried)
    return carried
