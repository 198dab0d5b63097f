"""Scheduled rebate work (Celery beat): the job table in ``saleor_loyalty.schedule`` names it."""

from celery import shared_task

from .refund_polling import poll_refunds
from .settlement import send_payout_ids
from .settlement import settle_rebates as settle
from .stripe_payout import finish_waiting


@shared_task
def settle_rebates() -> dict[str, int]:
    """Hourly: pending rebates past their return window become payable (paid early at the minimum payout), ended
    periods are settled (set-based, a batch of periods per transaction); the payouts waiting for their payer are
    handed to ``send_rebate_payouts``, a chunk per task, for the workers to send in parallel; store credit in place
    of failed Stripe refunds is paid. Idempotent."""
    result = settle(dispatch=_enqueue)
    result["fallbacks"] = finish_waiting()
    return result


def _enqueue(payout_ids: list[int]) -> None:
    send_rebate_payouts.delay(payout_ids)


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
