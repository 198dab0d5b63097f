"""Processing inbox events in Celery, and the sweep that re-enqueues what was missed.

The inbox table is the queue. Ingest does not publish a message per delivery (a Celery publish costs more than
verifying and storing the delivery): it signals "there is work" at most once per ``SIGNAL_INTERVAL`` per process,
with a trailing signal so no stored event waits longer than that, and ``drain_inbox`` workers take pending rows.
Each event is processed under its row lock (``SKIP LOCKED``: concurrent drains never take the same row), in a
savepoint, and its outcome recorded. A malformed body is marked failed for good; any other error is retried by
the sweep with backoff, up to ``MAX_ATTEMPTS``, and stays replayable by an operator, except a database connection
lost inside the event (a server restart): that leaves it pending, for the next drain. Without a broker (the
embedded default) events are processed in the request that stored them.
"""

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import F
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.core.logging import log_context
from saleor_loyalty.core.metrics import WEBHOOK_BATCH_FALLBACKS, WEBHOOKS_PROCESSED
from saleor_loyalty.installs.models import Install
from saleor_loyalty.notifications import outbox
from saleor_loyalty.program import config

from .handlers import SubscriptionAltered, handle
from .models import InboxEvent, InboxStatus
from .payloads import MalformedPayload

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


SIGNAL_INTERVAL = 0.5  # seconds: a stored event waits at most this long for a worker to be told
_signal_lock = threading.Lock()
_last_signal = -1e9
_trailing: threading.Timer | None = None


def enqueue(event_id: int) -> None:
    """Make sure a stored event gets processed. If the broker is down it stays pending for the sweep."""
    if process_inbox_event.app.conf.task_always_eager:
        process_inbox_event.delay(event_id)
        return
    signal_drain()


def signal_drain() -> None:
    """Ask a worker to drain the inbox: now, or (if a signal went out moments ago) once the interval is over."""
    global _last_signal, _trailing  # noqa: PLW0603 - per-process coalescing state
    with _signal_lock:
        elapsed = time.monotonic() - _last_signal
        if elapsed < SIGNAL_INTERVAL:
            if _trailing is None:
                _trailing = threading.Timer(SIGNAL_INTERVAL - elapsed, _trailing_signal)
                _trailing.daemon = True
                _trailing.start()
            return
        _last_signal = time.monotonic()
    _publish_drain()


def _trailing_signal() -> None:
    global _last_signal, _trailing  # noqa: PLW0603 - per-process coalescing state
    with _signal_lock:
        _trailing = None
        _last_signal = time.monotonic()
    _publish_drain()


def _publish_drain() -> None:
    """Publish the drain signal from a thread of its own: the delivery that triggers it has been stored and is
    answered at once, whatever the broker does. With the broker down, a publish that waited for it (Celery retries
    connecting, ~1.3 s against a closed Redis port) held every such delivery, and Saleor's senders with it."""
    threading.Thread(target=_send_drain_signal, name="inbox-drain-signal", daemon=True).start()


def _send_drain_signal() -> None:
    try:
        drain_inbox.apply_async(retry=False)  # no retry loop: a later signal or the sweep catches up
    except Exception:  # the inbox rows are the durable record
        logger.warning("could not signal the inbox drain: the broker is unreachable", exc_info=True)


_EVENT, _INSTALL = db.Row(InboxEvent), db.Row(Install)
# The event's columns, its install's, and the store's configuration version (what its configuration is cached by).
_TAKE_COLUMNS = (
    f"{_EVENT.columns('e')}, {_INSTALL.columns('i')}, "  # noqa: S608 - column names
    "(SELECT v.version FROM program_config_version v WHERE v.install_id = e.install_id)"
)
_TAKE_FROM = "FROM webhooks_inbox_event e JOIN installs_install i ON i.id = e.install_id"


def _taken(rows: list[tuple[Any, ...]]) -> list[tuple[InboxEvent, int | None]]:
    """Events read by a ``_TAKE_COLUMNS`` select, each with its install (one instance per store) and the store's
    configuration version."""
    installs: dict[int, Install] = {}
    taken = []
    for row in rows:
        event = _EVENT.build(row)
        assert event is not None
        if event.install_id not in installs:
            install = _INSTALL.build(row, _EVENT.width)
            assert install is not None
            installs[event.install_id] = install
        event.install = installs[event.install_id]
        taken.append((event, row[_EVENT.width + _INSTALL.width]))
    return taken


def _take(where: str, params: list[Any]) -> list[tuple[InboxEvent, int | None]]:
    """The events ``where`` selects, locked unless another worker holds them (``SKIP LOCKED``): one prepared
    statement, with their installs and configuration versions.

    ``FOR UPDATE OF e``: the events only. Locking the joined install row too made every event of a store wait for the
    one being processed (a second worker skipped them all); events of one order are serialised by the order's own
    row lock in ``program.orders``."""
    lock = " FOR UPDATE OF e SKIP LOCKED" if connection.vendor == "postgresql" else ""
    return _taken(db.fetchall(f"SELECT {_TAKE_COLUMNS} {_TAKE_FROM} WHERE {where}{lock}", params))


def _lock_event(event_id: int, statuses: list[InboxStatus]) -> tuple[InboxEvent, int | None] | None:
    """The event, locked, if it is in one of ``statuses`` and no other worker holds it."""
    taken = _take(
        f"e.id = %s AND e.status IN ({', '.join(['%s'] * len(statuses))})",
        [event_id, *(str(status) for status in statuses)],
    )
    return taken[0] if taken else None


def _run(event: InboxEvent, config_version: int | None) -> str:
    """The event's handler, under its log context and its store's configuration version."""
    with (
        log_context(install_id=event.install_id, inbox_event_id=event.pk, event=event.event),
        config.known_version(event.install_id, config_version),
    ):
        return handle(event.install, event.event, event.body)


def process_event(event_id: int, *, force: bool = False) -> str | None:
    """Process one inbox event now. ``force`` re-runs a processed event (operator replay).

    The event runs in one transaction with its row lock, and no savepoint of its own: when it fails, that
    transaction is rolled back whole and the failure is recorded by a statement of its own (``_record_failure``),
    so a settled event costs no SAVEPOINT and RELEASE. Between the two the row is unlocked: another worker may take
    the event meanwhile, and the failure is then recorded only if the event is still unsettled."""
    statuses = [InboxStatus.PENDING, InboxStatus.FAILED]
    if force:
        statuses += [InboxStatus.PROCESSED, InboxStatus.IGNORED]
    install_id, kind = None, ""
    ran_on = None
    try:
        with transaction.atomic(), db.writes_behind():
            ran_on = connection.connection  # the database connection the event runs on
            locked = _lock_event(event_id, statuses)
            if locked is None:
                return None
            event, config_version = locked
            install_id, kind = event.install_id, event.event
            outcome = _run(event, config_version)
            _mark_processed([event.pk])
    except SubscriptionAltered as exc:
        outcome = "held"
        with log_context(install_id=install_id, inbox_event_id=event_id, event=kind):
            logger.error("inbox event held: webhook subscriptions altered")
        # replayed by an operator once the store's webhooks are ours again
        _record_failure(event_id, statuses, f"held: webhook subscriptions altered: {exc}"[:2000], final=True)
    except (MalformedPayload, DataError) as exc:  # DataError: a value no column holds (an id too long)
        outcome = "malformed"
        with log_context(install_id=install_id, inbox_event_id=event_id, event=kind):
            logger.error("inbox event malformed", extra={"data": {"error": str(exc)}})
        _record_failure(event_id, statuses, f"malformed payload: {exc}", final=True)  # can never succeed
    except Exception as exc:
        if install_id is None:  # the event was never taken (the lock itself failed): nothing to record
            raise
        if connection.connection is not ran_on:
            # The connection was lost inside the event (the server restarted, or the backend was terminated): its
            # rollback failed, so Django dropped it. The server rolled the event back and the failure is the
            # database's, not the event's: it stays pending for the next drain. Recorded FAILED (possible only when
            # the server was back by then) it would spend an attempt and wait out the sweep's backoff.
            raise
        outcome = "error"
        with log_context(install_id=install_id, inbox_event_id=event_id, event=kind):
            logger.exception("inbox event failed")
        _record_failure(event_id, statuses, f"{type(exc).__name__}: {exc}", final=False)
    WEBHOOKS_PROCESSED.labels(event=kind, outcome=outcome).inc()
    return outcome


def _record_failure(event_id: int, statuses: list[InboxStatus], error: str, *, final: bool) -> None:
    """Mark a failed event FAILED, counting the attempt (``final``: no retries left), in a transaction of its own
    (the event's was rolled back). Only while it is still unsettled: a worker that took it since and settled it
    wins (the UPDATE waits for its lock, then matches nothing)."""
    with transaction.atomic():
        InboxEvent.objects.filter(pk=event_id, status__in=statuses).update(
            status=InboxStatus.FAILED,
            attempts=MAX_ATTEMPTS if final else F("attempts") + 1,
            last_error=error,
            processed_at=timezone.now(),
        )


@shared_task(acks_late=True)
def process_inbox_event(event_id: int) -> str | None:
    return process_event(event_id)


BATCH_SIZE = 16  # events a drain settles in one transaction
EMAIL_ROUND = 128  # events whose emails go out as one task (each batch's emails wait at most this long)
# A batch waits at most this long for a row another transaction holds, then falls back to single events, so one
# slow transaction elsewhere (an operator's command on a shopper) does not hold up a whole batch. Waiting for another
# worker's batch on the same order or shopper is normal and short (a batch takes tens of milliseconds); two batches
# that wait on each other are a deadlock, which PostgreSQL breaks after ``deadlock_timeout`` (1 s) by failing one.
# A shorter timeout made a loaded machine fall back on plain waits and redo whole batches.
BATCH_LOCK_TIMEOUT = "2s"


def _take_pending(limit: int) -> list[tuple[InboxEvent, int | None]]:
    """Up to ``limit`` pending events no other worker holds, oldest first: one statement for the whole batch."""
    return _take("e.status = %s ORDER BY e.received_at LIMIT %s", [str(InboxStatus.PENDING), limit])


def _mark_processed(event_ids: list[int]) -> None:
    """The events settled (one, or a batch's), in one statement: their transaction's last."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        InboxEvent.objects.filter(pk__in=event_ids).update(
            status=InboxStatus.PROCESSED, attempts=F("attempts") + 1, last_error="", processed_at=now
        )
        return
    db.execute(
        "UPDATE webhooks_inbox_event SET status = %s, attempts = attempts + 1, last_error = '', processed_at = %s "
        "WHERE id = ANY(%s)",
        [str(InboxStatus.PROCESSED), now, event_ids],
    )


def settle_batch(limit: int = BATCH_SIZE) -> int:
    """Take up to ``limit`` pending events and settle them all in ONE transaction; returns how many were taken (0:
    none is pending that another worker does not hold).

    What a batch saves over ``process_event`` per event: the statement that locks it, the one that marks it
    processed, and the transaction around it — BEGIN, COMMIT and the commit's WAL flush, which the server waits for
    on disk — each paid once per batch instead. Handlers run exactly as they do alone, so an event settles the same
    way either way. If any event of the batch fails, the batch is rolled back whole and its events are processed one
    at a time (``process_event``): the failing one is recorded on its own and the others settle. A connection lost
    inside the batch raises, as in ``process_event``: the server rolled it back, and the events stay pending."""
    taken: list[int] = []
    settled: list[tuple[str, str]] = []  # (event, outcome)
    ran_on = None
    try:
        with config.one_transaction(), transaction.atomic(), db.writes_behind():
            ran_on = connection.connection
            if connection.vendor == "postgresql":
                db.execute_later(f"SET LOCAL lock_timeout = '{BATCH_LOCK_TIMEOUT}'", [])
            batch = _take_pending(limit)
            taken = [event.pk for event, _ in batch]
            for event, config_version in batch:
                settled.append((event.event, _run(event, config_version)))
            if taken:
                _mark_processed(taken)
    except Exception as exc:
        if not taken or connection.connection is not ran_on:
            raise  # nothing was taken, or the connection was lost (see ``process_event``): the events stay pending
        logger.info(
            "inbox batch rolled back: its events are processed one at a time",
            extra={"data": {"events": len(taken), "error": f"{type(exc).__name__}: {exc}"[:500]}},
        )
        WEBHOOK_BATCH_FALLBACKS.inc()
        for event_id in taken:
            process_event(event_id)  # None: another worker took it meanwhile (it is settled there)
        return len(taken)
    for kind, outcome in settled:
        WEBHOOKS_PROCESSED.labels(event=kind, outcome=outcome).inc()
    return len(taken)


@shared_task(acks_late=True)
def drain_inbox(batch_size: int = BATCH_SIZE, max_events: int = 5000) -> int:
    """Settle pending events, oldest first, a batch per transaction, until none is left that another worker is not
    already on (or ``max_events``: the task then ends, and the next signal or the sweep goes on)."""
    done = 0
    while done < max_events:
        with outbox.batched():  # the emails of this round of batches: one task, published once the round is done
            round_done = 0
            while round_done < EMAIL_ROUND and done < max_events:
                taken = settle_batch(min(batch_size, max_events - done))
                if not taken:
                    return done
                round_done += taken
                done += taken
    return done


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
            process_inbox_event.delay(event.pk)
            count += 1
    return count


_PRUNE_BATCH_SQL = """
DELETE FROM webhooks_inbox_event
WHERE id IN (
    SELECT id FROM webhooks_inbox_event
    WHERE status IN ('processed', 'ignored') AND received_at < %s
    ORDER BY id
    LIMIT %s
)
"""


@shared_task
def prune_inbox(retention_days: int | None = None, batch_size: int = 5000, max_batches: int = 200) -> int:
    """Delete processed and ignored deliveries older than the retention period; returns how many.

    The inbox is a queue and an audit trail, not an archive: without this it grows by every delivery forever.
    Pending and failed events are never pruned (they are still work, or evidence for an operator). A delivery
    Saleor re-sends after its row was pruned is stored and processed again, which is harmless: processing is
    state-based. Deletes in short batches, oldest first, so it never holds long locks or builds a huge WAL burst.
    """
    days = settings.INBOX_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0  # keep forever
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    for _ in range(max_batches):
        with connection.cursor() as cursor:
            cursor.execute(_PRUNE_BATCH_SQL, [cutoff, batch_size])
            count = cursor.rowcount
        deleted += count
        if count < batch_size:
            break
    if deleted:
        logger.info("inbox pruned", extra={"data": {"deleted": deleted, "retention_days": days}})
    return deleted
