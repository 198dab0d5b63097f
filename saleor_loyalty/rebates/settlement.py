"""Settling rebates: pending → payable after the return window, payable → paid at the period's end (or early, on
reaching the minimum payout), and what members owe netted first.

Each step locks the period's row and is safe to repeat: money moves only by the period's counters, which every
step reads under that lock. Paying has two halves: a payout is created in the database (its money held by a
pending ledger transfer) and committed; then the payer is called, outside any transaction, and its answer posts
the hold (paid) or voids it (failed). A crash in between leaves a ``created`` payout that the next run sends again
under the same key.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from saleor_loyalty.core.money import from_minor_units, to_minor_units
from saleor_loyalty.installs.models import Install

from . import movements
from .accounts import rebate_accounts
from .models import PayoutState, RebatePayout, RebatePeriod, RebateProgram, RecoveryPolicy
from .payers import Payer, PayoutFailed, PayoutRequest, Sent, payer_for

logger = logging.getLogger(__name__)


def release_due(now: datetime | None = None, batch_size: int = 500) -> int:
    """Make pending rebates whose return window has passed payable, and pay early those that reach their
    program's minimum payout. Returns the number of periods released. Each period in its own transaction."""
    now = now or timezone.now()
    due = RebatePeriod.objects.filter(pending__gt=0, release_at__lte=now).order_by("release_at")
    released = 0
    for period_id in due.values_list("pk", flat=True)[:batch_size]:
        with transaction.atomic():
            period = RebatePeriod.objects.select_for_update().select_related("program", "member").get(pk=period_id)
            if period.pending <= 0 or period.release_at is None or period.release_at > now:
                continue  # another run got here first
            accounts = rebate_accounts(period.member, period.currency)
            period.revision += 1
            movements.release(period, accounts, key=f"rebate:{period.pk}:r{period.revision}:release")
            minimum = to_minor_units(period.program.minimum_payout, period.currency)
            if minimum > 0 and period.payable >= minimum:
                _create_payout(period, period.program)
            period.save()
            released += 1
    return released


@dataclass
class Closed:
    """What ``close_period`` did."""

    periods: int = 0  # member periods settled
    waiting: int = 0  # member periods with money still in its return window (settled by a later run)
    payouts: list[int] = field(default_factory=list)  # the payouts created
    paid: int = 0
    failed: int = 0


def close_period(install: Install, period: str, *, payer: Payer | None = None, now: datetime | None = None) -> Closed:
    """Settle every member's ``period`` (a key, "2026-11") of the install's programs once it has ended: release
    what is past its return window, net what members owe, and pay the payable through ``payer`` (default: the
    payer registered for the program's method). Safe to call again: what was paid is not payable any more."""
    now = now or timezone.now()
    closed = Closed()
    ids = RebatePeriod.objects.filter(install=install, period=period, ends_at__lte=now).values_list("pk", flat=True)
    for period_id in ids:
        with transaction.atomic():
            row = RebatePeriod.objects.select_for_update().select_related("program", "member").get(pk=period_id)
            payout = _settle_period(row, now)
            row.save()
        closed.periods += 1
        closed.waiting += row.pending > 0
        if payout is not None:
            closed.payouts.append(payout.pk)
    payouts = RebatePayout.objects.filter(install=install, period__period=period, state=PayoutState.CREATED)
    sent = send_payouts(payouts.select_related("member", "program"), payer=payer)
    closed.paid, closed.failed = sent.paid, sent.failed
    return closed


def _settle_period(period: RebatePeriod, now: datetime) -> RebatePayout | None:
    accounts = rebate_accounts(period.member, period.currency)
    if period.pending > 0 and period.release_at is not None and period.release_at <= now:
        period.revision += 1
        movements.release(period, accounts, key=f"rebate:{period.pk}:r{period.revision}:release")
    if period.pending == 0 and period.closed_at is None:
        period.closed_at = now
    return _create_payout(period, period.program)


def _create_payout(period: RebatePeriod, program: RebateProgram) -> RebatePayout | None:
    """Net what the member owes out of the period's payable (``net`` policy), then hold the rest for a payout."""
    if period.payable <= 0:
        return None
    accounts = rebate_accounts(period.member, period.currency)
    period.revision += 1
    key = f"rebate:{period.pk}:r{period.revision}"
    if program.recovery_policy == RecoveryPolicy.NET:
        movements.net_recovery(period, accounts, key=f"{key}:netting")
    amount = period.payable
    if amount <= 0:
        return None
    hold_id = movements.hold_payout(period, accounts, amount=amount, key=f"{key}:payout")
    return RebatePayout.objects.create(
        install_id=period.install_id,
        program=program,
        period=period,
        member=period.member,
        amount=amount,
        currency=period.currency,
        method=program.payout_method,
        idempotency_key=f"{key}:payout",
        hold_transfer_id=hold_id,
    )


@dataclass
class Outcomes:
    paid: int = 0
    failed: int = 0
    waiting: int = 0  # no payer for the method, or the payer raised something else: sent again next time
    sent: int = 0  # handed over, the outcome confirmed later (Stripe refunds)


def send_payouts(payouts: Iterable[RebatePayout], *, payer: Payer | None = None) -> Outcomes:
    """Call the payer for each ``created`` payout (outside any transaction), then record its answer. A ``sent``
    payout is offered to its payer again, to finish what it left (a store credit fallback)."""
    outcomes = Outcomes()
    for payout in payouts:
        if payout.state not in (PayoutState.CREATED, PayoutState.SENT):
            continue
        chosen = payer or payer_for(payout.method)
        if chosen is None:
            outcomes.waiting += 1
            continue
        try:
            answer = chosen.pay(_request(payout))
        except PayoutFailed as exc:
            outcomes.failed += _record(payout, paid=False, detail=str(exc))
        except Exception:
            logger.exception("rebate payout not sent; retried later", extra={"data": {"payout_id": payout.pk}})
            outcomes.waiting += 1
        else:
            if isinstance(answer, Sent):
                mark_sent(payout.pk, answer.reference)
                payout.refresh_from_db(fields=["state"])
                outcomes.sent += payout.state == PayoutState.SENT
                outcomes.paid += payout.state == PayoutState.PAID
                outcomes.failed += payout.state == PayoutState.FAILED
            else:
                outcomes.paid += _record(payout, paid=True, detail=answer)
    return outcomes


def mark_sent(payout_id: int, reference: str) -> bool:
    """A ``created`` payout was handed over; its outcome comes later. True if this call moved it to ``sent``."""
    updated = RebatePayout.objects.filter(pk=payout_id, state=PayoutState.CREATED).update(
        state=PayoutState.SENT, reference=reference[:255]
    )
    return updated == 1


def settle_sent(payout_id: int, *, paid_amount: int, detail: str) -> int:
    """The final outcome of a ``created`` or ``sent`` payout, once: ``paid_amount`` of it was paid (the hold posted
    for that much, the rest payable again), or nothing (0: voided, ``failed``). 1 if this call recorded it. The
    caller may hold a transaction open (a webhook's)."""
    payout = RebatePayout.objects.get(pk=payout_id)
    if paid_amount <= 0:
        return _record(payout, paid=False, detail=detail)
    return _record(payout, paid=True, detail=detail, paid_amount=paid_amount)


def _request(payout: RebatePayout) -> PayoutRequest:
    return PayoutRequest(
        key=payout.idempotency_key,
        payout_id=payout.pk,
        install_id=payout.install_id,
        member_id=payout.member_id,
        saleor_user_id=payout.member.saleor_user_id,
        email=payout.member.email,
        channel_slug=payout.program.channel_slug,
        amount=from_minor_units(payout.amount, payout.currency),
        currency=payout.currency,
        method=payout.method,
    )


def _record(payout: RebatePayout, *, paid: bool, detail: str, paid_amount: int | None = None) -> int:
    """The payer's answer, once: the hold posted (for ``paid_amount``, default all of it) or voided, the payout paid
    or failed. 1 if this call recorded it."""
    with transaction.atomic():
        period = RebatePeriod.objects.select_for_update().get(pk=payout.period_id)
        payout = RebatePayout.objects.select_for_update().get(pk=payout.pk)
        if payout.state not in (PayoutState.CREATED, PayoutState.SENT):
            return 0
        posted = (payout.amount if paid_amount is None else paid_amount) if paid else None
        movements.settle_payout(
            period,
            hold_id=payout.hold_transfer_id,
            amount=payout.amount,
            key=f"{payout.idempotency_key}:{'paid' if paid else 'failed'}",
            paid=paid,
            paid_amount=posted,
        )
        payout.state = PayoutState.PAID if paid else PayoutState.FAILED
        payout.reference = (detail if paid else payout.reference)[:255]
        payout.failure = payout.failure if paid else detail  # a payer's note on what it could not pay stays
        payout.settled_amount = posted
        payout.settled_at = timezone.now()
        payout.save()
        period.save()
    return 1


def settle_rebates(now: datetime | None = None) -> dict[str, int]:
    """The periodic run: release what is due, settle every ended period that still holds money, send payouts that
    wait for their payer."""
    now = now or timezone.now()
    released = release_due(now)
    ended = (
        RebatePeriod.objects.filter(ends_at__lte=now)
        .filter(Q(payable__gt=0) | Q(pending__gt=0, release_at__lte=now))
        .values_list("install_id", "period")
        .distinct()
    )
    payouts = 0
    for install_id, period in ended:
        payouts += len(close_period(Install.objects.get(pk=install_id), period, now=now).payouts)
    waiting = send_payouts(
        RebatePayout.objects.filter(state__in=(PayoutState.CREATED, PayoutState.SENT))
        .select_related("member", "program")
        .order_by("created_at", "pk")
    )
    return {
        "released": released,
        "payouts": payouts,
        "paid": waiting.paid,
        "waiting": waiting.waiting,
        "sent": waiting.sent,
    }
