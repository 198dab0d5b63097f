"""Scheduled membership work (Celery beat, saleor_loyalty/schedule.py); issuing one benefit is in ``benefits``."""

from celery import shared_task

from . import benefits, state


@shared_task(name="saleor_loyalty.memberships.tasks.end_lapsed_memberships")
def end_lapsed_memberships() -> int:
    """The tier goes from members whose grace after a failed payment, or whose last paid period, is over."""
    return state.end_lapsed()


@shared_task(name="saleor_loyalty.memberships.tasks.issue_pending_membership_benefits")
def issue_pending_membership_benefits() -> int:
    """Vouchers of benefits still pending (a broker or Saleor down when their period began)."""
    return benefits.issue_pending()
