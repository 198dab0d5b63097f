"""Settling rebates: pending → payable after the return window, payable → paid at the period's end (or early, on
reaching the minimum payout), and what members owe netted first.

Paying has two halves. The accounting is set-based (``bulk.settle_periods``: a batch of periods per transaction,
each period locked and read under its lock, so it is safe to repeat and to run twice at once): pending released,
what is owed netted, the rest held for a payout by a pending ledger transfer, the ``RebatePayout`` created — and
committed. Then the payer is called per payout, outside any transaction, in chunks that can go to several workers
(``send_payout_ids``, the task ``send_rebate_payouts``); its answer posts the hold (paid) or voids it (failed). A
crash in between leaves a ``created`` payout that the next run sends again under the same key. A payout recorded
paid emails the shopper once, after its transaction commits (``emails``).
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from saleor_loyalty.core.money import from_minor_units
from saleor_loyalty.installs.models import Install

from . import movements
from .bulk import BATCH, Settled, batches_of, settle_periods
from .emails import email_rebate_paid
from .models import PayoutState, RebatePayout, RebatePeriod
from .payers import Payer, PayoutFailed, PayoutRequest, Sent, payer_for

logger = logging.getLogger(__name__)


def release_due(now: datetime | None = None, batch_size: int = BATCH) -> int:
    """Make pending rebates whose return window has passed payable, and pay early those that reach their
    program's minimum payout. Returns the number of periods released. Set-based, ``batch_size`` periods per
    transaction (``bulk.settle_periods``)."""
    now = now or timezone.now()
    due = RebatePeriod.objects.filter(pending__gt=0, release_at__lte=now)
    return settle_periods(batches_of(_pairs(due), batch_size), now=now, closing=False).released


def _pairs(periods: "QuerySet[RebatePeriod]") -> list[tuple[int, int]]:
    """``(member id, period id)`` of each period: what ``bulk.batches_of`` cuts into batches."""
    return list(periods.values_list("member_id", "pk"))


def _ended_with_work(now: datetime) -> Q:
    """A period that has ended and still has work: release what is past its window, pay the payable, be closed."""
    work = Q(pending__gt=0, release_at__lte=now) | Q(payable__gt=0) | Q(pending=0, closed_at=None)
    return Q(ends_at__lte=now) & work


@dataclass
class Closed:
    """What ``close_period`` did."""

    periods: int = 0  # member periods of the key that have ended
    waiting: int = 0  # of which with money still in its return window (settled by a later run)
    payouts: list[int] = field(default_factory=list)  # the payouts created
    paid: int = 0
    failed: int = 0


def settle_period(
    install: Install,
    period: str,
    *,
    now: datetime,
    batch: int = BATCH,
    workers: int = 1,
    on_batch: Callable[[Settled], None] | None = None,
) -> Settled:
    """The accounting half of closing ``period`` (a key, "2026-11") for every member of the install's programs, once
    it has ended: release what is past its return window, net what members owe, hold the payable for a payout —
    set-based, about ``batch`` periods per transaction, on ``workers`` connections at once (``bulk``). No payer is
    called. Safe to repeat, and to run twice at once."""
    batches = period_batches(install, period, now=now, batch=batch)
    return settle_periods(batches, now=now, closing=True, workers=workers, on_batch=on_batch)


def period_batches(install: Install, period: str, *, now: datetime, batch: int = BATCH) -> list[list[int]]:
    """The install's periods of key ``period`` that have ended and still have work, in batches (``batches_of``)."""
    return batches_of(_pairs(RebatePeriod.objects.filter(_ended_with_work(now), install=install, period=period)), batch)


@dataclass(frozen=True)
class Due:
    """What a periodic run settles, in batches (``bulk.batches_of``): periods still open whose pending is past its
    return window (``open``: released, paid early at the program's minimum payout), and ended periods with work
    left (``ended``: released, paid, closed)."""

    now: datetime
    open: list[list[int]]
    ended: list[list[int]]

    @property
    def periods(self) -> int:
        return sum(len(batch) for batch in self.open + self.ended)

    def batches(self) -> list[tuple[list[int], bool]]:
        """Each batch with whether its periods have ended (``closing``)."""
        return [(ids, False) for ids in self.open] + [(ids, True) for ids in self.ended]


def due_now(now: datetime, batch: int = BATCH) -> Due:
    """What is due now, found by index (``rebate_period_to_settle`` holds only periods with money): periods with
    money to release or pay, and — in the stores' period keys that have some — the ended periods left with nothing
    that are not closed yet (by ``rebate_period_by_period``), never a scan of every period ever closed."""
    with_money = Q(pending__gt=0, release_at__lte=now) | Q(payable__gt=0)
    still_open = RebatePeriod.objects.filter(ends_at__gt=now, pending__gt=0, release_at__lte=now)
    ended = RebatePeriod.objects.filter(with_money, ends_at__lte=now)
    pairs = _pairs(ended)
    for install_id, key in sorted(set(ended.values_list("install_id", "period"))):
        empty = RebatePeriod.objects.filter(install_id=install_id, period=key, ends_at__lte=now, pending=0)
        pairs += _pairs(empty.filter(payable=0, closed_at=None))
    return Due(now=now, open=batches_of(_pairs(still_open), batch), ended=batches_of(pairs, batch))


def settle_due(due: Due, *, workers: int = 1, on_batch: Callable[[Settled], None] | None = None) -> Settled:
    """Settle ``due`` here, on ``workers`` connections at once: the open periods' batches, then the ended ones'."""
    settled = Settled()
    for batches, closing in ((due.open, False), (due.ended, True)):
        settled.add(settle_periods(batches, now=due.now, closing=closing, workers=workers, on_batch=on_batch))
    return settled


def close_period(install: Install, period: str, *, payer: Payer | None = None, now: datetime | None = None) -> Closed:
    """Settle every member's ``period`` of the install's programs once it has ended (``settle_period``), then pay
    the payouts waiting for the period through ``payer`` (default: the payer registered for the program's
    method), outside the settlement's transactions. Safe to call again: what was paid is not payable any more."""
    now = now or timezone.now()
    settled = settle_period(install, period, now=now)
    ended = RebatePeriod.objects.filter(install=install, period=period, ends_at__lte=now)
    counts = ended.aggregate(periods=Count("pk"), waiting=Count("pk", filter=Q(pending__gt=0)))
    closed = Closed(periods=counts["periods"], waiting=counts["waiting"], payouts=settled.payouts)
    waiting = RebatePayout.objects.filter(install=install, period__period=period, state__in=WAITING)
    for chunk in payout_chunks(waiting):
        sent = send_payout_ids(chunk, payer=payer)
        closed.paid += sent.paid
        closed.failed += sent.failed
    return closed


@dataclass
class Outcomes:
    """What sending payouts to their payers did."""

    paid: int = 0
    failed: int = 0
    waiting: int = 0  # no payer for the method, or the payer raised something else: sent again next time
    sent: int = 0  # handed over, the outcome confirmed later (Stripe refunds)

    def add(self, other: "Outcomes") -> None:
        self.paid += other.paid
        self.failed += other.failed
        self.waiting += other.waiting
        self.sent += other.sent


# A payout waits for its payer while ``created``; a ``sent`` one is offered to its payer again, to finish what it
# left (a store-credit fallback for a failed Stripe refund).
WAITING = (PayoutState.CREATED, PayoutState.SENT)


SEND_CHUNK = 500


def payout_chunks(payouts: "QuerySet[RebatePayout]", size: int = SEND_CHUNK) -> list[list[int]]:
    """The ids of ``payouts`` in id order, ``size`` at a time: the units ``send_payout_ids`` (or the Celery task
    ``send_rebate_payouts``) sends, one after the other or on several workers at once."""
    return payout_ids_chunks(list(payouts.values_list("pk", flat=True)), size)


def payout_ids_chunks(payout_ids: Sequence[int], size: int = SEND_CHUNK) -> list[list[int]]:
    """``payout_ids`` in id order, ``size`` at a time (a batch's new payouts, handed to ``send_rebate_payouts``)."""
    ordered = sorted(payout_ids)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def send_payout_ids(payout_ids: Sequence[int], *, payer: Payer | None = None) -> Outcomes:
    """``send_payouts`` for the payouts with these ids that still wait for their payer."""
    payouts = RebatePayout.objects.filter(pk__in=list(payout_ids), state__in=WAITING)
    return send_payouts(payouts.select_related("member", "program").order_by("pk"), payer=payer)


def send_payouts(payouts: Iterable[RebatePayout], *, payer: Payer | None = None) -> Outcomes:
    """Call the payer for each waiting payout (outside any transaction), then record its answer: paid, failed, or
    ``Sent`` (handed over, the outcome confirmed later)."""
    outcomes = Outcomes()
    for payout in payouts:
        if payout.state not in WAITING:
            continue
        chosen = payer or payer_for(payout.method)
        if chosen is None:
            outcomes.waiting += 1
            continue
        try:
            answer = chosen.pay(payout_request(payout))
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


def payout_request(payout: RebatePayout) -> PayoutRequest:
    """What a payer is asked to pay for ``payout`` (the same on every retry)."""
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
        if payout.state not in WAITING:
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
        if posted:
            email_rebate_paid(payout, posted)  # sent after this commits; once per payout
    return 1


def settle_rebates(
    now: datetime | None = None,
    *,
    dispatch: Callable[[list[int]], None] | None = None,
    fan_out: Callable[[list[int], datetime, bool], None] | None = None,
    workers: int = 1,
    batch: int = BATCH,
    on_batch: Callable[[Settled], None] | None = None,
) -> dict[str, int]:
    """The periodic run: settle what is due (``due_now``: releases, early payouts, ended periods), then send the
    payouts that wait for their payer, a chunk at a time.

    Here, about ``batch`` periods per transaction on ``workers`` connections, then the payouts one chunk after
    the other (or each chunk handed to ``dispatch``, which the Celery task sets to enqueue
    ``send_rebate_payouts``). Given ``fan_out`` (the Celery task enqueues ``settle_rebate_batch``), each batch is
    handed to it instead, for the workers to settle in parallel and send the payouts it creates; this run then
    sends only the payouts earlier runs left waiting."""
    now = now or timezone.now()
    due = due_now(now, batch)
    if fan_out is not None:
        left_waiting = payout_chunks(RebatePayout.objects.filter(state__in=WAITING))  # before any batch runs
        batches = due.batches()
        for period_ids, closing in batches:
            fan_out(period_ids, now, closing)
        for chunk in left_waiting:
            (dispatch or send_payout_ids)(chunk)
        dispatched = sum(len(chunk) for chunk in left_waiting)
        return {"periods": due.periods, "batches": len(batches), "dispatched": dispatched}
    settled = settle_due(due, workers=workers, on_batch=on_batch)
    chunks = payout_chunks(RebatePayout.objects.filter(state__in=WAITING))
    summary = {"released": settled.released, "payouts": len(settled.payouts)}
    if dispatch is not None:
        for chunk in chunks:
            dispatch(chunk)
        return {**summary, "dispatched": sum(len(chunk) for chunk in chunks)}
    outcomes = Outcomes()
    for chunk in chunks:
        outcomes.add(send_payout_ids(chunk))
    return {**summary, "paid": outcomes.paid, "waiting": outcomes.waiting, "sent": outcomes.sent}
