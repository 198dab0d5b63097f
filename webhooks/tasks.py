"""Processing inbox events in Celery, and the sweep that re-enqueues what was missed.

A task locks its inbox row (``SKIP LOCKED``: a duplicate task for the same event just leaves), runs the
handler in a savepoint and records the outcome. A malformed body is marked failed for good; any other error
is retried by the sweep with backoff, up to ``MAX_ATTEMPTS``, and stays replayable by an operator.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.core.logging import log_context
from saleor_loyalty.core.metrics import WEBHOOKS_PROCESSED

from .handlers import handle
from .models import InboxEvent, InboxStatus
from .payloads import MalformedPayload

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def enqueue(event_id: int) -> None:
    """Hand an event to Celery. If the broker is down the event stays pending and the sweep picks it up."""
    try:
        process_inbox_event.delay(event_id)
    except Exception:
        logger.exception("could not enqueue inbox event", extra={"data": {"inbox_event_id": event_id}})


def process_event(event_id: int, *, force: bool = False) -> str | None:
    """Process one inbox event now. ``force`` re-runs a processed event (operator replay)."""
    statuses = [InboxStatus.PENDING, InboxStatus.FAILED]
    if force:
        statuses += [InboxStatus.PROCESSED, InboxStatus.IGNORED]
    with transaction.atomic():
        event = (
            InboxEvent.objects.select_for_update(skip_locked=True)
            .select_related("install")
            .filter(pk=event_id, status__in=statuses)
            .first()
        )
        if event is None:
            return None
        with log_context(install_id=event.install_id, inbox_event_id=event.pk, event=event.event):
            event.attempts += 1
            try:
                with transaction.atomic():
                    outcome = handle(event.install, event.event, event.body)
                event.status = InboxStatus.PROCESSED
                event.last_error = ""
            except MalformedPayload as exc:
                outcome = "malformed"
                event.status = InboxStatus.FAILED
                event.attempts = MAX_ATTEMPTS  # can never succeed: do not retry
                event.last_error = f"malformed payload: {exc}"
                logger.error("inbox event malformed", extra={"data": {"error": str(exc)}})
            except Exception as exc:
                outcome = "error"
                event.status = InboxStatus.FAILED
                event.last_error = f"{type(exc).__name__}: {exc}"
                logger.exception("inbox event failed")
            event.processed_at = timezone.now()
            event.save(update_fields=["status", "attempts", "last_error", "processed_at"])
        WEBHOOKS_PROCESSED.labels(event=event.event, outcome=outcome).inc()
        return outcome


@shared_task(acks_late=True)
def process_inbox_event(event_id: int) -> str | None:
    return process_event(event_id)


@shared_task
def redeliver_stuck_events(older_than_seconds: int = 60, limit: int = 500) -> int:
    """Re-enqueue pending events nobody processed, and failed ones due for a retry (exponential backoff)."""
    now = timezone.now()
    count = 0
    candidates = InboxEvent.objects.filter(
        status__in=[InboxStatus.PENDING, InboxStatus.FAILED],
        attempts__lt=MAX_ATTEMPTS,
        received_at__lte=now - timedelta(seconds=older_than_seconds),
    ).order_by("received_at")[:limit]
    for event in candidates:
        due = event.processed_at is None or event.processed_at + timedelta(seconds=30 * 2**event.attempts) <= now
        if due:
            enqueue(event.pk)
            count += 1
    return count
