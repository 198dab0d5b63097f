"""The named writes of referrals. The API, signal receivers, commands and tasks all go through these.

Every action is safe to repeat: orders are reconciled many times, so each step checks the referral's status
under a row lock, and ledger writes use keys derived from the referral's id (``referral:<id>:referrer`` ...).
Both sides' reward lots carry ``order_id = "referral:<id>"`` so a void claws back exactly those lots.
"""

import logging
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member
from saleor_loyalty.notifications.actions import shop_name
from saleor_loyalty.notifications.models import NotificationKind
from saleor_loyalty.notifications.outbox import send_after_commit
from saleor_loyalty.program.issuing import issue_points
from saleor_loyalty.program.models import ClawbackPolicy, OrderAward
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.snapshots import CustomerSnapshot, OrderSnapshot

from . import fraud
from .models import (
    Fingerprint,
    Referral,
    ReferralCode,
    ReferralFlag,
    ReferralProgram,
    ReferralSource,
    ReferralStatus,
)

logger = logging.getLogger(__name__)

METADATA_KEY = "loyalty_referral_code"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed without confusion
CODE_LENGTH = 8


class ReferralError(Exception):
    """A refusal to show the shopper or the operator. ``code`` is a ``LoyaltyErrorCode`` value."""

    def __init__(self, message: str, code: str = "INVALID", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# -- settings and codes --------------------------------------------------------------------------------------


def referral_program(install: Install) -> ReferralProgram:
    program = ReferralProgram.objects.filter(install=install).first()
    if program is None:
        ReferralProgram.objects.bulk_create([ReferralProgram(install=install)], ignore_conflicts=True)
        program = ReferralProgram.objects.get(install=install)
    return program


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str:
    return "".join(raw.split()).upper()


def code_for(member: Member) -> ReferralCode:
    """The member's referral code, created on first use."""
    existing = ReferralCode.objects.filter(member=member).first()
    if existing is not None:
        return existing
    for _ in range(10):
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(install_id=member.install_id, member=member, code=new_code())
        except IntegrityError:
            existing = ReferralCode.objects.filter(member=member).first()
            if existing is not None:  # created concurrently for this member
                return existing
    raise RuntimeError("could not find a free referral code")  # pragma: no cover - 32^8 codes


def find_code(install: Install, raw: str) -> ReferralCode | None:
    code = normalize_code(raw or "")
    if not code:
        return None
    return ReferralCode.objects.select_related("member").filter(install=install, code=code, is_active=True).first()


# -- attaching referees ----------------------------------------------------------------------------------------


def referral_of(member: Member) -> Referral | None:
    """The referral that brought this member (or a guest member merged into it), if any."""
    return (
        Referral.objects.filter(Q(referee=member) | Q(referee__merged_into=member)).order_by("created_at", "pk").first()
    )


def is_new_shopper(member: Member, *, except_order_id: str | None = None) -> bool:
    """No paid order yet (other than ``except_order_id``, the order carrying the code)."""
    paid = OrderAward.objects.filter(Q(member=member) | Q(member__merged_into=member), first_paid_at__isnull=False)
    if except_order_id is not None:
        paid = paid.exclude(order_id=except_order_id)
    return not paid.exists()


def _attach(member: Member, code: ReferralCode, source: str) -> Referral:
    """Record the referee, with the rewards on offer now (the terms the shopper was shown)."""
    program = referral_program(member.install)
    new = Referral(
        install_id=member.install_id,
        code=code,
        referrer=code.member,
        referee=member,
        source=source,
        referee_points=program.referee_reward_points,
        referrer_points=program.referrer_reward_points,
    )
    Referral.objects.bulk_create([new], ignore_conflicts=True)
    referral = Referral.objects.get(referee=member)
    if not member.is_referee:
        member.is_referee = True
        Member.objects.filter(pk=member.pk).update(is_referee=True)
    logger.info(
        "referee attached",
        extra={"data": {"referral_id": referral.pk, "referrer_id": code.member_id, "source": source}},
    )
    return referral


def apply_code(member: Member, raw_code: str) -> Referral:
    """A signed-in shopper says who referred them (``applyReferralCode``). Repeating the same code is fine."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        install = member.install
        code = find_code(install, raw_code)
        if code is None:
            raise ReferralError("no such referral code", "NOT_FOUND", "code")
        existing = referral_of(member)
        if existing is not None:
            if existing.code_id == code.pk:
                return existing
            raise ReferralError("you were already referred by someone else", "INVALID", "code")
        if code.member_id == member.pk:
            raise ReferralError("this is your own referral code", "INVALID", "code")
        if not referral_program(install).is_active:
            raise ReferralError("the store has no referral program now", "INVALID", "code")
        if not is_new_shopper(member):
            raise ReferralError("referral codes are for new customers", "INVALID", "code")
        return _attach(member, code, ReferralSource.API)


def _attach_from_metadata(
    install: Install, member: Member, metadata: dict[str, str], source: str, order_id: str | None = None
) -> Referral | None:
    """A code the storefront left in order or customer metadata; silently ignored when it does not apply."""
    raw = (metadata.get(METADATA_KEY) or "").strip()
    if not raw or referral_of(member) is not None:
        return None
    if not referral_program(install).is_active or not is_new_shopper(member, except_order_id=order_id):
        return None
    code = find_code(install, raw)
    if code is None:
        logger.info("unknown referral code in metadata", extra={"data": {"member_id": member.pk}})
        return None
    # Even the member's own code is recorded: it is held for review (same user) when the order is paid.
    return _attach(member, code, source)


def on_customer_changed(install: Install, customer: CustomerSnapshot, member: Member) -> Referral | None:
    """A storefront that registers shoppers with ``metadata: [{key: "loyalty_referral_code", ...}]``."""
    return _attach_from_metadata(install, member, customer.metadata, ReferralSource.CUSTOMER_METADATA)


# -- orders: qualifying, paying, voiding ---------------------------------------------------------------------


def record_fingerprints(install: Install, member: Member, order: OrderSnapshot) -> None:
    """Every paid order's traces (address, email, device digests), for the self-referral checks to compare: one
    prepared statement on PostgreSQL, on every order's hot path, sent with the order's next statement (nothing here
    waits for it: ``core.db.execute_later``)."""
    prints = fraud.order_fingerprints(install.pk, order)
    if not prints:
        return
    if connection.vendor != "postgresql":
        Fingerprint.objects.bulk_create(
            [Fingerprint(install=install, member=member, kind=kind, digest=value) for kind, value in prints.items()],
            ignore_conflicts=True,
        )
        return
    kinds, digests = list(prints), list(prints.values())
    db.execute_later(_RECORD_FINGERPRINTS, [install.pk, member.pk, timezone.now(), kinds, digests])


_RECORD_FINGERPRINTS = (
    "INSERT INTO referrals_fingerprint (install_id, member_id, kind, digest, created_at) "
    "SELECT %s, %s, f.kind, f.digest, %s FROM unnest(%s::varchar[], %s::varchar[]) AS f(kind, digest) "
    "ON CONFLICT DO NOTHING"
)


def on_order_reconciled(install: Install, order: OrderSnapshot, member: Member, award: OrderAward) -> None:
    """Everything an order means for referrals. Runs inside the order's reconciliation (its row is locked).

    Only a referee's orders, or an order carrying a code, can qualify a referral: for the others (nearly every
    order) the member's flag spares the lookup."""
    record_fingerprints(install, member, order)
    if not member.is_referee and not (order.metadata.get(METADATA_KEY) or "").strip():
        return
    referral = referral_of(member)
    if referral is None:
        referral = _attach_from_metadata(install, member, order.metadata, ReferralSource.ORDER_METADATA, order.id)
        if referral is None:
            return
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if referral.status == ReferralStatus.PENDING:
        if award.was_fully_paid and award.spend > 0 and award.first_paid_at is not None:
            _qualify(referral, order, award)
    elif referral.order_id == order.id:
        _follow_order(referral, award)


def _unlock_time(install: Install, award: OrderAward) -> datetime:
    paid_at = award.first_paid_at or timezone.now()
    return paid_at + timedelta(days=program_settings(install).return_window_days)


def _qualify(referral: Referral, order: OrderSnapshot, award: OrderAward) -> None:
    program = referral_program(referral.install)
    if not program.is_active:
        return
    ReferralCode.objects.select_for_update().get(pk=referral.code_id)  # serialises the referrer's cap count
    referral.order_id = order.id
    referral.order_number = order.number
    referral.qualified_at = award.first_paid_at
    referral.rewards_unlock_at = _unlock_time(referral.install, award)
    flags = fraud.fraud_flags(referral, program, order)
    if flags:
        referral.status = ReferralStatus.HELD
        referral.reason = ",".join(flags)
        referral.save()
        logger.warning(
            "referral held for review", extra={"data": {"referral_id": referral.pk, "reason": referral.reason}}
        )
        return
    _pay(referral)


def _pay(referral: Referral) -> None:
    """Earn both sides' rewards: pending until the first order's return window ends (available if it has)."""
    program = program_settings(referral.install)
    sides = (
        (referral.referee, referral.referee_points, "referee"),
        (referral.referrer, referral.referrer_points, "referrer"),
    )
    for member, points, side in sides:
        if points > 0:
            issue_points(
                members.current(member),
                program,
                points=points,
                key=f"{referral.ledger_ref}:{side}",
                source="referral",
                order_id=referral.ledger_ref,
                unlocks_at=referral.rewards_unlock_at,
            )
    if referral.referrer_points > 0:
        _email_referrer(referral)
    now = timezone.now()
    referral.paid_at = now
    unlocked = referral.rewards_unlock_at is None or referral.rewards_unlock_at <= now
    referral.status = ReferralStatus.REWARDED if unlocked else ReferralStatus.QUALIFIED
    referral.save()
    logger.info("referral rewarded", extra={"data": {"referral_id": referral.pk, "status": referral.status}})


def _email_referrer(referral: Referral) -> None:
    """Tell the referrer their friend's first order earned them the reward: decided here, recorded and sent once
    the order's transaction commits (``outbox``), once per referral (its key)."""
    send_after_commit(
        members.current(referral.referrer),
        NotificationKind.REFERRAL_REWARD,
        key=f"referral:{referral.pk}:referrer",
        context={"points": referral.referrer_points, "unlocks_at": referral.rewards_unlock_at},
        shop_name=shop_name(referral.install),
    )


def _within_window(referral: Referral) -> bool:
    return referral.rewards_unlock_at is not None and timezone.now() < referral.rewards_unlock_at


def _follow_order(referral: Referral, award: OrderAward) -> None:
    """The first order changed after qualifying: refunded or cancelled within its window voids the referral."""
    returned = award.spend <= 0
    if referral.status == ReferralStatus.QUALIFIED:
        if not _within_window(referral):
            referral.status = ReferralStatus.REWARDED
            referral.save()
        elif returned:
            _void(referral)
            _close(referral, ReferralStatus.REJECTED, ReferralFlag.ORDER_RETURNED)
    elif referral.status == ReferralStatus.HELD and returned and _within_window(referral):
        _close(referral, ReferralStatus.REJECTED, ReferralFlag.ORDER_RETURNED)


def _close(referral: Referral, status: str, flag: str | None = None) -> None:
    referral.status = status
    if flag:
        referral.reason = ",".join(filter(None, [referral.reason, flag]))
    referral.save()


def _void(referral: Referral) -> None:
    """Take back both sides' rewards (still pending: they sit in the lots tagged with the referral)."""
    if referral.paid_at is None or referral.voided_at is not None:
        return
    write_off = program_settings(referral.install).clawback_policy == ClawbackPolicy.WRITE_OFF
    sides = (
        (referral.referee, referral.referee_points, "referee"),
        (referral.referrer, referral.referrer_points, "referrer"),
    )
    for member, points, side in sides:
        if points > 0:
            ledger.claw_back(
                member=members.current(member),
                points=points,
                key=f"{referral.ledger_ref}:{side}:void",
                order_id=referral.ledger_ref,
                write_off=write_off,
            )
    referral.voided_at = timezone.now()
    logger.info("referral rewards voided", extra={"data": {"referral_id": referral.pk}})


# -- review ---------------------------------------------------------------------------------------------------


def approve_referral(referral: Referral, *, reviewer: str = "", note: str = "") -> Referral:
    """Pay a HELD referral (the reviewer found it genuine); the program's caps do not apply."""
    with transaction.atomic():
        _lock_referee(referral)
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status != ReferralStatus.HELD:
            raise ReferralError(f"only a held referral can be approved; this one is {referral.status}")
        if ReferralFlag.SAME_USER in referral.reason.split(","):
            raise ReferralError("a shopper cannot refer themselves")
        award = OrderAward.objects.filter(install_id=referral.install_id, order_id=referral.order_id).first()
        if award is None or award.spend <= 0:
            raise ReferralError("the referee's first order was refunded or cancelled")
        _review(referral, reviewer, note)
        _pay(referral)
        return referral


def reject_referral(referral: Referral, *, reviewer: str = "", note: str = "") -> Referral:
    """Refuse a referral: nothing is paid, and rewards still pending are taken back. Rewarded ones stay paid."""
    with transaction.atomic():
        _lock_referee(referral)
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status == ReferralStatus.REJECTED:
            return referral
        if referral.status == ReferralStatus.REWARDED or (
            referral.status == ReferralStatus.QUALIFIED and not _within_window(referral)
        ):
            raise ReferralError("this referral's rewards are already unlocked")
        if referral.status == ReferralStatus.QUALIFIED:
            _void(referral)
        _review(referral, reviewer, note)
        _close(referral, ReferralStatus.REJECTED)
        return referral


def _lock_referee(referral: Referral) -> None:
    """Take the referee's member lock first, as order reconciliation does (member, then referral): no deadlock."""
    referee = members.current(Member.objects.get(pk=referral.referee_id))
    Member.objects.select_for_update().get(pk=referee.pk)


def _review(referral: Referral, reviewer: str, note: str) -> None:
    referral.reviewed_by = reviewer
    referral.reviewed_at = timezone.now()
    referral.review_note = note


def settle_due(install: Install | None = None) -> int:
    """Mark QUALIFIED referrals whose return window has passed as REWARDED (their lots unlock by themselves)."""
    due = Referral.objects.filter(status=ReferralStatus.QUALIFIED, rewards_unlock_at__lte=timezone.now())
    if install is not None:
        due = due.filter(install=install)
    return due.update(status=ReferralStatus.REWARDED, updated_at=timezone.now())
