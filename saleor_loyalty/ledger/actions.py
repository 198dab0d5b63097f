"""The named writes of the points ledger. Webhooks, the API, tasks and commands all go through these.

Each must run inside ``transaction.atomic`` (the callers hold the lock that serialises the business object:
the order being reconciled, the member being merged). Keys make every action safe to repeat.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from saleor_loyalty.members.models import Member

from . import lots
from .accounts import MemberAccounts, member_accounts, program_account
from .errors import IdempotencyConflict, LedgerError
from .models import Account, AccountCode, Lot, Transfer, TransferKind
from .posting import LotPosting, NewLot, Posted, post, post_lots, resolve_pending

logger = logging.getLogger(__name__)


def _fresh(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


@dataclass
class MemberTotals:
    """What postings move on the member's own row (points earned over its lifetime, last activity), gathered for a
    caller that writes the row once for several postings (an order's settlement) instead of once per posting."""

    lifetime_points: int = 0
    active_at: datetime | None = None


def _count(member: Member, totals: MemberTotals | None, lifetime_points: int, active_at: datetime | None) -> None:
    if totals is not None:
        totals.lifetime_points += lifetime_points
        totals.active_at = active_at or totals.active_at
        return
    changes: dict[str, Any] = {"lifetime_points": F("lifetime_points") + lifetime_points}
    if active_at is not None:
        changes["last_activity_at"] = active_at
    Member.objects.filter(pk=member.pk).update(**changes)


@dataclass(frozen=True)
class Earning:
    """One lot ``earn_many`` issues: its points, its idempotency key and where it came from."""

    points: int
    key: str
    source: str
    rule: dict[str, Any] | None = None
    order_line_id: str | None = None


def earn(
    *,
    member: Member,
    points: int,
    key: str,
    source: str,
    order_id: str | None = None,
    order_line_id: str | None = None,
    rule: dict[str, Any] | None = None,
    unlocks_at: datetime | None = None,
    expires_at: datetime | None = None,
    accounts: MemberAccounts | None = None,
    totals: MemberTotals | None = None,
) -> Lot:
    """Issue ``points`` to the member as a new lot: pending until ``unlocks_at``, else available at once.

    The transfer claims ``key`` and creates the lot in one statement, and lifetime points move only for the writer
    that claimed it: concurrent calls with one key issue one lot, counted once, and all get that lot back.
    ``accounts``: the member's, when the caller has them; ``totals``: gather the member row's moves there for the
    caller to write (else written here).
    """
    earning = Earning(points=points, key=key, source=source, rule=rule, order_line_id=order_line_id)
    (lot,) = earn_many(
        member=member,
        earnings=[earning],
        order_id=order_id,
        unlocks_at=unlocks_at,
        expires_at=expires_at,
        accounts=accounts,
        totals=totals,
    )
    return lot


def earn_many(
    *,
    member: Member,
    earnings: Sequence[Earning],
    order_id: str | None = None,
    unlocks_at: datetime | None = None,
    expires_at: datetime | None = None,
    accounts: MemberAccounts | None = None,
    totals: MemberTotals | None = None,
) -> list[Lot]:
    """``earn`` for several lots that unlock and expire together (an order's points and its carried fractions), all
    posted by one statement (``posting.post_lots``); each key is idempotent on its own. The lots, in order."""
    accounts = accounts or member_accounts(member)
    now = timezone.now()
    locked = unlocks_at is not None and unlocks_at > now
    target = accounts.pending if locked else accounts.points
    postings = [
        LotPosting(
            key=earning.key,
            amount=earning.points,
            memo={"source": earning.source},
            new_lot=NewLot(
                source=earning.source,
                order_line_id=earning.order_line_id,
                rule=earning.rule or {},
                earned_at=now,
                unlocks_at=unlocks_at,
                unlocked_at=None if locked else now,
                expires_at=expires_at,
            ),
        )
        for earning in earnings
    ]
    posted = post_lots(
        install_id=member.install_id,
        kind=TransferKind.EARN,
        debit=program_account(member.install_id, AccountCode.ISSUED),
        credit=target,
        member_id=member.pk,
        order_id=order_id,
        postings=postings,
    )
    issued = []
    for posting, result in zip(postings, posted, strict=True):
        if not result.created:  # the key was claimed before (a repeat, or a concurrent writer): its lot is the answer
            if result.lot_id is None:
                raise IdempotencyConflict(f"idempotency key {posting.key!r} was used for a transfer without a lot")
            issued.append(Lot.objects.get(pk=result.lot_id))
            continue
        _count(member, totals, posting.amount, now)
        lot = _created_lot(
            result, posting.new_lot, member=member, account=target, points=posting.amount, order_id=order_id
        )
        issued.append(lot)
    if not locked and any(result.created for result in posted):
        repay_debt(member, key=f"{postings[0].key}:repay")
    return issued


def _created_lot(
    posted: Posted, new_lot: NewLot, *, member: Member, account: Account, points: int, order_id: str | None
) -> Lot:
    """The lot a posting with ``new_lot`` wrote, as ``Lot.objects.create`` would have returned it (no query)."""
    assert posted.lot_id is not None and new_lot.earned_at is not None
    lot = Lot(
        pk=posted.lot_id,
        install_id=member.install_id,
        member=member,
        account=account,
        points=points,
        remaining=points,
        source=new_lot.source,
        order_id=order_id,
        order_line_id=new_lot.order_line_id,
        rule=new_lot.rule,
        earned_at=new_lot.earned_at,
        unlocks_at=new_lot.unlocks_at,
        unlocked_at=new_lot.unlocked_at,
        expires_at=new_lot.expires_at,
    )
    lot._state.adding, lot._state.db = False, "default"
    return lot


def unlock(lot: Lot) -> bool:
    """Move a lot whose return window has passed from pending to available points. Safe to repeat."""
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.unlocked_at is not None:
        return False
    member = lot.member
    accounts = member_accounts(member)
    if lot.remaining > 0:
        post(
            install_id=lot.install_id,
            key=f"unlock:lot:{lot.pk}",
            kind=TransferKind.UNLOCK,
            debit=accounts.pending,
            credit=accounts.points,
            amount=lot.remaining,
            member_id=member.pk,
            order_id=lot.order_id,
            lot_id=lot.pk,
        )
    Lot.objects.filter(pk=lot.pk).update(account=accounts.points, unlocked_at=timezone.now())
    repay_debt(member, key=f"unlock:lot:{lot.pk}:repay")
    return True


@dataclass(frozen=True)
class Clawback:
    from_pending: int
    from_points: int
    shortfall: int  # recorded as the member's debt, or written off, by policy


# The parts ``claw_back`` posts, each under its own key ``<key>:<part>``: what ``queries.clawed_back`` looks for.
CLAWBACK_PARTS = ("pending", "points", "shortfall")


def claw_back(
    *,
    member: Member,
    points: int,
    key: str,
    order_id: str | None,
    write_off: bool,
    accounts: MemberAccounts | None = None,
    totals: MemberTotals | None = None,
) -> Clawback:
    """Take back points an order no longer earns.

    First this order's own pending lots, then available points (this order's lots first, then the soonest
    to expire). What was already spent is never silently dropped: it becomes a debt the member repays from
    future points, or (``write_off``) a loss recorded against the program.
    """
    install_id = member.install_id
    clawed_back = program_account(install_id, AccountCode.CLAWED_BACK)
    accounts = accounts or member_accounts(member)
    left = points

    from_pending = min(left, lots.order_lot_points(accounts.pending, order_id)) if order_id else 0
    if from_pending:
        posted = post(
            install_id=install_id,
            key=f"{key}:pending",
            kind=TransferKind.CLAWBACK,
            debit=accounts.pending,
            credit=clawed_back,
            amount=from_pending,
            member_id=member.pk,
            order_id=order_id,
        )
        if posted.created:
            lots.consume_order_lots(accounts.pending, order_id or "", from_pending, posted.transfer_id)
        left -= from_pending

    # the points account's balance is read only when the order's pending lots did not cover it all (most refunds
    # come inside the return window: their points are still pending)
    from_points = min(left, max(0, _fresh(accounts.points).available)) if left else 0
    if from_points:
        posted = post(
            install_id=install_id,
            key=f"{key}:points",
            kind=TransferKind.CLAWBACK,
            debit=accounts.points,
            credit=clawed_back,
            amount=from_points,
            member_id=member.pk,
            order_id=order_id,
        )
        if posted.created:
            taken = (
                lots.consume_order_lots(accounts.points, order_id, from_points, posted.transfer_id) if order_id else 0
            )
            taken += (
                lots.consume(accounts.points, from_points - taken, posted.transfer_id) if taken < from_points else 0
            )
            if taken != from_points:
                raise LedgerError(f"lots of account {accounts.points.pk} do not cover its balance")
        left -= from_points

    if left:
        debit = accounts.debt if not write_off else program_account(install_id, AccountCode.WRITTEN_OFF)
        kind = TransferKind.WRITE_OFF if write_off else TransferKind.DEBT
        post(
            install_id=install_id,
            key=f"{key}:shortfall",
            kind=kind,
            debit=debit,
            credit=clawed_back,
            amount=left,
            member_id=member.pk,
            order_id=order_id,
        )
    _count(member, totals, -points, None)
    return Clawback(from_pending=from_pending, from_points=from_points, shortfall=left)


def adjust(
    *, member: Member, points: int, key: str, reason: str, actor: str, expires_at: datetime | None = None
) -> int:
    """A merchant's manual correction (goodwill credit, a mistake undone). Returns the transfer's id.

    Positive: a new lot, available at once, issued by the program (it repays debt first, like any available
    points); it is not *earned*, so lifetime points do not move. Negative: taken from available points, soonest to
    expire first, and given back to the program. A deduction never goes below zero and never creates debt: more
    than is available raises ``InsufficientBalance`` and posts nothing. Call inside ``transaction.atomic()``.
    """
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise LedgerError(f"an adjustment is a non-zero whole number of points, got {points!r}")
    accounts = member_accounts(member)
    issued = program_account(member.install_id, AccountCode.ISSUED)
    memo = {"reason": reason, "actor": actor}
    if points > 0:
        existing = Transfer.objects.filter(install_id=member.install_id, idempotency_key=key).first()
        if existing is not None:
            return existing.pk
        now = timezone.now()
        posted = post(  # claims the key and creates the lot in one step: a concurrent repeat writes nothing
            install_id=member.install_id,
            key=key,
            kind=TransferKind.ADJUST,
            debit=issued,
            credit=accounts.points,
            amount=points,
            member_id=member.pk,
            memo=memo,
            new_lot=NewLot(source="adjustment", rule=memo, earned_at=now, unlocked_at=now, expires_at=expires_at),
        )
        if posted.created:
            Member.objects.filter(pk=member.pk).update(last_activity_at=now)
            repay_debt(member, key=f"{key}:repay")
        return posted.transfer_id
    posted = post(
        install_id=member.install_id,
        key=key,
        kind=TransferKind.ADJUST,
        debit=accounts.points,
        credit=issued,
        amount=-points,
        member_id=member.pk,
        memo=memo,
    )
    if posted.created and lots.consume(accounts.points, -points, posted.transfer_id) != -points:
        raise LedgerError(f"lots of account {accounts.points.pk} do not cover its balance")
    return posted.transfer_id


def points_owed(member: Member) -> int:
    debt = member_accounts(member).debt
    fresh = _fresh(debt)
    return fresh.debits_posted - fresh.credits_posted


def repay_debt(member: Member, *, key: str) -> int:
    """Use available points to pay back what the member owes; returns the points repaid."""
    accounts = member_accounts(member)
    debt = _fresh(accounts.debt)
    owed = debt.debits_posted - debt.credits_posted
    if owed <= 0:
        return 0
    amount = min(owed, _fresh(accounts.points).available)
    if amount <= 0:
        return 0
    posted = post(
        install_id=member.install_id,
        key=key,
        kind=TransferKind.DEBT_REPAYMENT,
        debit=accounts.points,
        credit=debt,
        amount=amount,
        member_id=member.pk,
    )
    if posted.created and lots.consume(accounts.points, amount, posted.transfer_id) != amount:
        raise LedgerError(f"lots of account {accounts.points.pk} do not cover its balance")
    return amount


def merge_members(*, source: Member, target: Member, key: str) -> None:
    """Move everything a (guest) member holds to another member; the source stays as an empty tombstone."""
    if source.install_id != target.install_id or source.pk == target.pk:
        raise LedgerError("can only merge two different members of the same install")
    src, dst = member_accounts(source), member_accounts(target)
    for name in ("points", "pending"):
        account = _fresh(getattr(src, name))
        if account.available > 0:
            post(
                install_id=source.install_id,
                key=f"{key}:{name}",
                kind=TransferKind.MERGE,
                debit=account,
                credit=getattr(dst, name),
                amount=account.available,
                member_id=target.pk,
            )
        Lot.objects.filter(account=account).update(account=getattr(dst, name), member=target)
    owed = points_owed(source)
    if owed > 0:
        post(
            install_id=source.install_id,
            key=f"{key}:debt",
            kind=TransferKind.MERGE,
            debit=dst.debt,
            credit=src.debt,
            amount=owed,
            member_id=target.pk,
        )
    source.refresh_from_db()
    Member.objects.filter(pk=target.pk).update(
        lifetime_points=F("lifetime_points") + source.lifetime_points,
        earn_accrual=F("earn_accrual") + source.earn_accrual,
        carry_points=F("carry_points") + source.carry_points,
    )
    Member.objects.filter(pk=source.pk).update(merged_into=target, lifetime_points=0, earn_accrual=0, carry_points=0)
    repay_debt(target, key=f"{key}:repay")


def hold(*, member: Member, points: int, key: str, memo: dict[str, Any] | None = None) -> int:
    """Reserve available points for a redemption: a pending transfer that reserves lots, soonest expiry first.

    Returns the pending transfer's id; ``capture`` spends it, ``release`` gives the very same lots back.
    """
    accounts = member_accounts(member)
    posted = post(
        install_id=member.install_id,
        key=key,
        kind=TransferKind.REDEEM,
        debit=accounts.points,
        credit=program_account(member.install_id, AccountCode.REDEEMED),
        amount=points,
        pending=True,
        member_id=member.pk,
        memo=memo,
    )
    if posted.created:
        if lots.consume(accounts.points, points, posted.transfer_id) != points:
            raise LedgerError(f"lots of account {accounts.points.pk} do not cover its balance")
        Member.objects.filter(pk=member.pk).update(last_activity_at=timezone.now())
    return posted.transfer_id


def capture(*, pending_id: int, key: str, points: int | None = None, order_id: str | None = None) -> int:
    """Spend held points (all, or ``points`` of them, releasing the rest to their lots), for ``order_id``."""
    pending = Transfer.objects.get(pk=pending_id)
    amount = pending.amount if points is None else points
    posted = resolve_pending(pending_id=pending_id, key=key, post_amount=amount, order_id=order_id)
    if posted.created and amount < pending.amount:
        lots.restore(pending_id, posted.transfer_id, amount=pending.amount - amount)
    return posted.transfer_id


def release(*, pending_id: int, key: str) -> int:
    """Void a hold: the points return to the same lots, with their original expiry."""
    posted = resolve_pending(pending_id=pending_id, key=key, post_amount=None)
    if posted.created:
        lots.restore(pending_id, posted.transfer_id)
    return posted.transfer_id


def return_redeemed(*, member: Member, hold_id: int, points: int, key: str, order_id: str | None = None) -> None:
    """Give spent points back (a refunded redeeming order) into the very lots they came from.

    Points that never came from lots (spent while owing) first cancel what the member still owes, and any
    rest comes back as a new lot.
    """
    accounts = member_accounts(member)
    redeemed = program_account(member.install_id, AccountCode.REDEEMED)
    to_lots = min(points, lots.restorable(hold_id))
    if to_lots:
        posted = post(
            install_id=member.install_id,
            key=key,
            kind=TransferKind.REDEEM_RETURN,
            debit=redeemed,
            credit=accounts.points,
            amount=to_lots,
            member_id=member.pk,
            order_id=order_id,
            reverses_id=hold_id,
        )
        if posted.created and lots.restore(hold_id, posted.transfer_id, amount=to_lots) != to_lots:
            raise LedgerError(f"cannot return {to_lots} points to the lots of transfer {hold_id}")
    rest = points - to_lots
    forgiven = min(rest, max(0, points_owed(member)))
    if forgiven:
        post(
            install_id=member.install_id,
            key=f"{key}:debt",
            kind=TransferKind.REDEEM_RETURN,
            debit=redeemed,
            credit=accounts.debt,
            amount=forgiven,
            member_id=member.pk,
            order_id=order_id,
            reverses_id=hold_id,
        )
    if rest > forgiven:
        post(
            install_id=member.install_id,
            key=f"{key}:lot",
            kind=TransferKind.REDEEM_RETURN,
            debit=redeemed,
            credit=accounts.points,
            amount=rest - forgiven,
            member_id=member.pk,
            order_id=order_id,
            reverses_id=hold_id,
            new_lot=NewLot(source="redeem_return", unlocked_at=timezone.now()),
        )
    repay_debt(member, key=f"{key}:repay")


def spend_owing(*, member: Member, points: int, key: str, order_id: str | None = None) -> int | None:
    """Spend points that must be spent now (a redemption code used after its hold was released).

    What is available is spent through a hold captured at once (so lots are recorded); the rest becomes debt.
    Returns the hold's id, or None when nothing was available.
    """
    accounts = member_accounts(member)
    part = min(points, max(0, _fresh(accounts.points).available))
    hold_id = None
    if part:
        hold_id = hold(member=member, points=part, key=f"{key}:hold")
        capture(pending_id=hold_id, key=f"{key}:capture", order_id=order_id)
    if points > part:
        post(
            install_id=member.install_id,
            key=f"{key}:debt",
            kind=TransferKind.DEBT,
            debit=accounts.debt,
            credit=program_account(member.install_id, AccountCode.REDEEMED),
            amount=points - part,
            member_id=member.pk,
            order_id=order_id,
        )
    return hold_id
