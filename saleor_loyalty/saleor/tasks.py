"""Periodic work on the installs themselves."""

import logging

from celery import shared_task

from saleor_loyalty.core.logging import log_context
from saleor_loyalty.installs.models import Install

from .client import SaleorError
from .subscription_audit import audit_subscriptions

logger = logging.getLogger(__name__)


@shared_task
def audit_subscriptions_everywhere() -> int:
    """Audit every active install's webhooks; returns how many have altered subscriptions. A store that cannot
    be asked now keeps what was recorded and is asked again next time."""
    altered = 0
    for install in Install.objects.filter(is_active=True).exclude(encrypted_token=""):
        with log_context(install_id=install.pk):
            try:
                altered += bool(audit_subscriptions(install))
            except SaleorError as exc:
                logger.warning("webhook subscription audit failed", extra={"data": {"error": str(exc)[:500]}})
    return altered
