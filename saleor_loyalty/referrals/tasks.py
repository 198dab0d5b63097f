"""Scheduled referral work (Celery beat)."""

from celery import shared_task

from . import actions


@shared_task
def settle_due_referrals() -> int:
    """Referrals whose first order's return window has passed become REWARDED. Idempotent."""
    return actions.settle_due()
