"""Processing stored Stripe events: each once, under its row lock, its handlers in one savepoint.

A handler that raises leaves the event unprocessed (its writes undone) with the error recorded; the sweep retries
it with the others that were missed (a broker down at ingest) up to ``MAX_ATTEMPTS``.
"""

import json
import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from saleor_loyalty.core.logging import log_context

from .events import event_from, handlers_for
from .models import StripeEvent

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
SWEEP_AFTER = timedelta(minutes=1)
SWEEP_BATCH = 100


def enqueue(event_pk: int) -> None:
    """Publish without Celery's connection retries: with the broker down the event waits for the sweep, and
    Stripe's delivery is answered at once."""
    try:
        process_stripe_event.apply_async(args=[event_pk], retry=False)
    except Exception:  # whatever the broker does, the event is stored and the sweep takes it
        logger.warning("stripe event not enqueued; the sweep will process it", exc_info=True)


@shared_task(name="saleor_loyalty.payments.tasks.process_stripe_event")
def process_stripe_event(event_pk: int) -> str | None:
    """``processed``, ``failed``, or None when the event is done already or being processed elsewhere."""
    with transaction.atomic():
        row = (
            StripeEvent.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("install")
            .filter(pk=event_pk, processed_at=None)
            .first()
        )
        if row is None:
            return None
        with log_context(install=row.install_id, stripe_event=row.event_id):
            event = event_from(json.loads(row.payload))
            try:
                with transaction.atomic():
                    for handler in handlers_for(row.type):
                        handler(row.install, event)
            except Exception as exc:  # recorded, retried by the sweep
                logger.exception("stripe event handler failed", extra={"data": {"type": row.type}})
                StripeEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=repr(exc)[:2000])
                return "failed"
            StripeEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, processed_at=timezone.now())
    return "processed"


@shared_task(name="saleor_loyalty.payments.tasks.process_missed_stripe_events")
def process_missed_stripe_events() -> int:
    """Process events left unprocessed for a minute (a broker down at ingest, a failed handler)."""
    due = StripeEvent.objects.filter(
        processed_at=None, attempts__lt=MAX_ATTEMPTS, received_at__lt=timezone.now() - SWEEP_AFTER
    ).order_by("received_at")
    ids = list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(process_stripe_event(pk) == "processed" for pk in ids)
