"""Sending notification emails (Celery). Each notification is sent at most once per successful commit.

``send_notification`` locks the row and sends only while it is ``queued``, then marks it ``sent`` in the same
transaction: a task delivered twice (retries, ``acks_late`` redelivery, the requeue sweep) sends once. The one
window left is a crash after the mail server accepted the email and before the commit; the row then stays
queued and is sent again, with the same Message-ID.
"""

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from .models import EmailPreference, Notification, NotificationStatus
from .rendering import build_message

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY = "retry"


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt: 1, 4, 16, 64 minutes."""
    return int(60 * 4 ** max(0, attempts - 1))


@shared_task(bind=True, max_retries=None)
def send_notification(self: Any, notification_id: int) -> str:
    outcome, attempts = deliver(notification_id)
    if outcome == RETRY:
        raise self.retry(countdown=retry_delay(attempts))
    return outcome


def deliver(notification_id: int) -> tuple[str, int]:
    """Send one queued notification. Returns (its status after this, or ``RETRY``; attempts so far)."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None:
            return "missing", 0
        if notification.status != NotificationStatus.QUEUED:
            return notification.status, notification.attempts
        now = timezone.now()
        notification.updated_at = now
        if EmailPreference.objects.filter(member_id=notification.member_id, opted_out=True).exists():
            # opted out after the email was queued
            notification.status = NotificationStatus.SKIPPED_OPT_OUT
            notification.save(update_fields=["status", "updated_at"])
            return notification.status, notification.attempts
        notification.attempts += 1
        try:
            build_message(notification).send()
        except Exception as exc:
            notification.error = f"{type(exc).__name__}: {exc}"[:2000]
            if notification.attempts >= MAX_ATTEMPTS:
                notification.status = NotificationStatus.FAILED
            notification.save(update_fields=["status", "attempts", "error", "updated_at"])
            logger.warning(
                "notification not sent",
                extra={
                    "data": {
                        "notification_id": notification.pk,
                        "attempts": notification.attempts,
                        "error": notification.error,
                        "gave_up": notification.status == NotificationStatus.FAILED,
                    }
                },
            )
            outcome = notification.status if notification.status == NotificationStatus.FAILED else RETRY
            return outcome, notification.attempts
        notification.status = NotificationStatus.SENT
        notification.sent_at = now
        notification.error = ""
        notification.save(update_fields=["status", "attempts", "error", "sent_at", "updated_at"])
        logger.info("notification sent", extra={"data": {"notification_id": notification.pk}})
        return notification.status, notification.attempts


@shared_task
def requeue_stuck_notifications(older_than_minutes: int = 120, batch_size: int = 500) -> int:
    """Schedule again notifications queued but untouched for a while (the broker was down at commit, a worker
    lost the message). Longer than the longest retry delay, so it does not cut retries short. Safe to repeat."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    stuck = list(
        Notification.objects.filter(status=NotificationStatus.QUEUED, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    Notification.objects.filter(pk__in=stuck, status=NotificationStatus.QUEUED).update(updated_at=timezone.now())
    for pk in stuck:
        send_notification.delay(pk)
    return len(stuck)
