"""Scheduled rebate work (Celery beat): the job table in ``saleor_loyalty.schedule`` names it."""

from celery import shared_task

from .settlement import send_payout_ids
from .settlement import settle_rebates as settle


@shared_task
def settle_rebates() -> dict[str, int]:
    """Hourly: pending rebates past their return window become payable (paid early at the minimum payout), ended
    periods are settled (set-based, a batch of periods per transaction); the payouts waiting for their payer are
    handed to ``send_rebate_payouts``, a chunk per task, for the workers to send in parallel. Idempotent."""
    return settle(dispatch=_enqueue)


def _enqueue(payout_ids: list[int]) -> None:
    send_rebate_payouts.delay(payout_ids)


@shared_task
def send_rebate_payouts(payout_ids: list[int]) -> dict[str, int]:
    """Call the payer for these payouts (those still ``created``), outside any transaction; record each answer."""
    sent = send_payout_ids(payout_ids)
    return {"paid": sent.paid, "failed": sent.failed, "waiting": sent.waiting}
