"""Scheduled redemption work (Celery beat)."""

from celery import shared_task

from .actions import expire_abandoned


@shared_task
def expire_abandoned_redemptions() -> int:
    """Give points back from checkouts abandoned past the hold time (idempotent)."""
    return expire_abandoned()
