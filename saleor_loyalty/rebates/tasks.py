"""Scheduled rebate work (Celery beat): the job table in ``saleor_loyalty.schedule`` names it."""

from datetime import datetime

from celery import shared_task

from .bulk import BATCH, settle_periods
from .refund_polling import poll_refunds
from .settlement import payout_ids_chunks, send_payout_ids
from .settlement import settle_rebates as settle
from .stripe_payout import finish_waiting


@shared_task
def settle_rebates(now: str | None = None, batch: int = BATCH) -> dict[str, int]:
    """Hourly: what is due is settled — pending past its return window released (paid early at the minimum
    payout), ended periods paid and closed — a batch of periods per ``settle_rebate_batch`` task, for the workers
    to settle in parallel (each then hands its payouts to ``send_rebate_payouts``); payouts earlier runs left
    waiting are handed over too, and store credit in place of failed Stripe refunds is paid. Idempotent. ``now``
    (ISO 8601): settle as of then instead (an operator's replay)."""
    when = datetime.fromisoformat(now) if now else None
    result = settle(when, dispatch=_enqueue, fan_out=_enqueue_batch, batch=batch)
    result["fallbacks"] = finish_waiting()
    return result


def _enqueue(payout_ids: list[int]) -> None:
    send_rebate_payouts.delay(payout_ids)


def _enqueue_batch(period_ids: list[int], now: datetime, closing: bool) -> None:
    settle_rebate_batch.delay(period_ids, now.isoformat(), closing)


@shared_task
def settle_rebate_batch(period_ids: list[int], now: str, closing: bool) -> dict[str, int]:
    """Settle one batch of periods (one transaction; safe to repeat, and beside another run), then hand the payouts
    it created to ``send_rebate_payouts``, a chunk per task."""
    settled = settle_periods([period_ids], now=datetime.fromisoformat(now), closing=closing)
    for chunk in payout_ids_chunks(settled.payouts):
        _enqueue(chunk)
    return {"periods": settled.periods, "released": settled.released, "payouts": len(settled.payouts)}


@shared_task
def send_rebate_payouts(payout_ids: list[int]) -> dict[str, int]:
    """Call the payer for these payouts (those still waiting), outside any transaction; record each answer."""
    outcomes = send_payout_ids(payout_ids)
    return {"paid": outcomes.paid, "failed": outcomes.failed, "waiting": outcomes.waiting, "sent": outcomes.sent}


@shared_task
def poll_stripe_refunds() -> dict[str, int]:
    """Every few minutes: rebate refunds Stripe made and never confirmed by webhook (lost, or still pending) are read
    back from Stripe and applied as the webhook would be (``refund_polling``). Idempotent, and safe beside the
    webhooks."""
    return poll_refunds()
