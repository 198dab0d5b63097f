"""The periodic work Celery beat does in production, run in a thread for the embedded first run.

Without a broker there is no beat: failed inbox events would never be retried, points never unlock and abandoned
redemptions never expire. ``serve`` starts this loop when ``CELERY_BROKER_URL`` is empty.
"""

import logging
import threading
import time
from typing import Any

from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)
INTERVAL_SECONDS = 60.0


def run_periodic_tasks() -> None:
    from saleor_loyalty.program.tasks import (
        expire_points_everywhere,
        give_birthday_bonuses_everywhere,
        queue_expiry_reminders_everywhere,
        unlock_due_lots,
    )
    from saleor_loyalty.redemption.tasks import expire_abandoned_redemptions
    from saleor_loyalty.referrals.tasks import settle_due_referrals
    from saleor_loyalty.saleor.tasks import audit_subscriptions_everywhere
    from saleor_loyalty.tiers.tasks import apply_tier_change_effects, review_tiers
    from saleor_loyalty.webhooks.tasks import prune_inbox, redeliver_stuck_events

    tasks: tuple[Any, ...] = (
        redeliver_stuck_events,
        unlock_due_lots,
        expire_abandoned_redemptions,
        prune_inbox,
        audit_subscriptions_everywhere,
    )
    if connection.vendor == "postgresql":  # the set-based jobs are written for PostgreSQL
        tasks += (
            expire_points_everywhere,
            queue_expiry_reminders_everywhere,
            give_birthday_bonuses_everywhere,
            settle_due_referrals,
            review_tiers,
            apply_tier_change_effects,
        )
    for task in tasks:
        try:
            task()
        except Exception:  # keep the loop alive; the next round retries
            logger.exception("periodic task failed", extra={"data": {"task": task.name}})


def start(interval: float = INTERVAL_SECONDS) -> threading.Thread:
    def loop() -> None:
        while True:
            time.sleep(interval)
            run_periodic_tasks()
            close_old_connections()

    thread = threading.Thread(target=loop, name="embedded-beat", daemon=True)
    thread.start()
    return thread
