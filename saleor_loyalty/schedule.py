"""The app's periodic jobs, defined once: Celery beat's schedule (``CELERY_BEAT_SCHEDULE``) and the embedded beat of
the first run (``core.embedded_beat``, when there is no broker) are both made from this table.

Jobs are named by their Celery task's dotted path, so this module imports none of the domain packages (settings
load it) and sits above them all.
"""

from dataclasses import dataclass
from typing import Any

from celery.schedules import crontab


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str  # the Celery task's name: its dotted path
    every: float | crontab  # seconds, or a crontab
    postgresql_only: bool = False  # set-based jobs written for PostgreSQL: the embedded SQLite run skips them


JOBS = (
    PeriodicJob("redeliver-stuck-inbox-events", "saleor_loyalty.webhooks.tasks.redeliver_stuck_events", 60.0),
    PeriodicJob("unlock-due-lots", "saleor_loyalty.program.tasks.unlock_due_lots", 300.0),
    PeriodicJob("expire-abandoned-redemptions", "saleor_loyalty.redemption.tasks.expire_abandoned_redemptions", 120.0),
    PeriodicJob("requeue-stuck-notifications", "saleor_loyalty.notifications.tasks.requeue_stuck_notifications", 900.0),
    PeriodicJob("audit-webhook-subscriptions", "saleor_loyalty.saleor.tasks.audit_subscriptions_everywhere", 600.0),
    PeriodicJob("process-missed-stripe-events", "saleor_loyalty.payments.tasks.process_missed_stripe_events", 60.0),
    PeriodicJob("prune-inbox", "saleor_loyalty.webhooks.tasks.prune_inbox", crontab(hour=4, minute=30)),
    PeriodicJob("birthday-bonuses", "saleor_loyalty.program.tasks.give_birthday_bonuses_everywhere", 3600.0, True),
    PeriodicJob(
        "expiry-reminders", "saleor_loyalty.notifications.reminders.queue_expiry_reminders_everywhere", 3600.0, True
    ),
    PeriodicJob("expire-points", "saleor_loyalty.program.tasks.expire_points_everywhere", 3600.0, True),
    PeriodicJob("settle-due-referrals", "saleor_loyalty.referrals.tasks.settle_due_referrals", 300.0, True),
    PeriodicJob("review-tiers", "saleor_loyalty.tiers.tasks.review_tiers", crontab(hour=3, minute=0), True),
    PeriodicJob("apply-tier-change-effects", "saleor_loyalty.tiers.tasks.apply_tier_change_effects", 600.0, True),
    PeriodicJob("settle-rebates", "saleor_loyalty.rebates.tasks.settle_rebates", 3600.0, True),
    PeriodicJob("poll-stripe-refunds", "saleor_loyalty.rebates.tasks.poll_stripe_refunds", 300.0),
    PeriodicJob("end-lapsed-memberships", "saleor_loyalty.memberships.tasks.end_lapsed_memberships", 600.0),
    PeriodicJob(
        "issue-membership-benefits", "saleor_loyalty.memberships.tasks.issue_pending_membership_benefits", 300.0
    ),
)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """``CELERY_BEAT_SCHEDULE``."""
    return {job.name: {"task": job.task, "schedule": job.every} for job in JOBS}
