"""Scheduled rebate work (Celery beat): the job table in ``saleor_loyalty.schedule`` names it."""

from celery import shared_task

from .settlement import settle_rebates as settle
from .stripe_payout import finish_waiting


@shared_task
def settle_rebates() -> dict[str, int]:
    """Hourly: pending rebates past their return window become payable (paid early at the minimum payout), ended
    periods are paid, payouts waiting for their payer are sent (and store credit in place of failed Stripe
    refunds is paid). Idempotent; each period in its own transaction."""
    result = settle()
    result["fallbacks"] = finish_waiting()
    return result
