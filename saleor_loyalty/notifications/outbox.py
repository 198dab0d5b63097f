"""Emails decided inside a hot transaction (an order's settlement), recorded and sent after it commits, in batches.

``send_after_commit`` costs the transaction nothing: no read, no write. Once it commits, the email joins the open
batch (``batched``: a worker draining the inbox opens one per round of events) or, outside a batch, goes at once;
each batch is one ``send_emails`` task, which takes the same decision as ``actions.notify`` (opt-out, disabled kinds,
guests, no address), records every ``Notification`` by its idempotency key in one transaction and sends those
queued. If the transaction rolls back nothing happens. If the broker cannot take the task, the emails are recorded
here, queued, for ``requeue_stuck_notifications`` to send; a process that dies between the commit and the publish
loses them (the price of keeping them out of the order's transaction).
"""

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from celery import shared_task
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from saleor_loyalty.members.models import Member

from .actions import record_emails
from .models import NotificationKind, NotificationStatus
from .tasks import RETRY, deliver, retry_delay, send_notification

logger = logging.getLogger(__name__)

_local = threading.local()


def send_after_commit(
    member: Member, kind: NotificationKind, key: str, context: Mapping[str, Any], *, shop_name: str
) -> None:
    """Email ``member`` once the current transaction commits (``key``: the idempotency key, as for ``notify``)."""
    email = {
        "member_id": member.pk,
        "kind": str(kind),
        "key": key,
        "shop_name": shop_name,
        # as the Notification's JSONField stores it (DjangoJSONEncoder), and as JSON carries it to the task
        "context": json.loads(json.dumps(dict(context), cls=DjangoJSONEncoder)),
    }
    transaction.on_commit(partial(_committed, email), robust=True)


def _committed(email: dict[str, Any]) -> None:
    batch: list[dict[str, Any]] | None = getattr(_local, "batch", None)
    if batch is not None:
        batch.append(email)
    else:
        _publish([email])


@contextmanager
def batched() -> Iterator[None]:
    """Collect the emails of the transactions committed inside, and publish them as one task at the end."""
    if getattr(_local, "batch", None) is not None:  # nested: the outer batch publishes
        yield
        return
    _local.batch = []
    try:
        yield
    finally:
        emails, _local.batch = _local.batch, None
        if emails:
            _publish(emails)


def _publish(emails: list[dict[str, Any]]) -> None:
    try:
        send_emails.delay(emails)
    except Exception:  # the broker is down: record them queued, for the requeue sweep
        logger.warning("could not publish emails; recording them for the requeue sweep", exc_info=True)
        try:
            record_emails(emails)
        except Exception:
            logger.exception("emails lost: neither published nor recorded", extra={"data": {"emails": len(emails)}})


# Named as when it lived in ``tasks``: messages queued before an upgrade still find it.
@shared_task(acks_late=True, name="saleor_loyalty.notifications.tasks.send_emails")
def send_emails(emails: list[dict[str, Any]]) -> int:
    """Record a batch of emails decided in committed transactions (``outbox``) and send those queued; a failed
    send is retried by ``send_notification``, as any other. Safe to run twice: records and sends are keyed."""
    sent = 0
    for notification_id in record_emails(emails):
        outcome, attempts = deliver(notification_id)
        if outcome == RETRY:
            send_notification.apply_async((notification_id,), countdown=retry_delay(attempts))
        sent += outcome == NotificationStatus.SENT
    return sent
