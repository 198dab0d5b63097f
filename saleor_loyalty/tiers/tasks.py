"""Scheduled tier work (Celery beat); the Saleor metadata mirror's task is in ``metadata``."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from . import effects, review

logger = logging.getLogger(__name__)


@shared_task
def review_tiers(install_id: int | None = None) -> int:
    """Nightly: decide every member's tier in one SQL statement, then apply the changes' effects in batches.

    Idempotent: a second run at the same moment changes nothing. Returns the number of tier changes.
    """
    with transaction.atomic():
        change_ids = review.run(now=timezone.now(), install_id=install_id)
    logger.info("tiers reviewed", extra={"data": {"install_id": install_id, "changes": len(change_ids)}})
    effects.apply_each(change_ids)
    return len(change_ids)


@shared_task
def apply_tier_change_effects(batch_size: int = 500) -> int:
    """Safety net: bonuses, emails and mirrors of tier changes not applied yet (e.g. after a crash)."""
    return effects.apply_pending_effects(batch_size)
