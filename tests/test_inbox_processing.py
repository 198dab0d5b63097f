"""The inbox: failures answer 503 so Saleor retries; processing errors are recorded and retried; logs carry ids."""

import json
import logging
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from saleor_loyalty.core.logging import JsonFormatter
from saleor_loyalty.installs.lookup import active_install
from saleor_loyalty.webhooks import tasks
from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from saleor_loyalty.webhooks.payloads import MalformedPayload, require_storable_text
from tests import samples
from tests.factories import make_install

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample_install(db):
    return make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())


def paid_delivery() -> samples.Delivery:
    return next(d for d in samples.subscribed() if d.event == "order_fully_paid")


def post(delivery: samples.Delivery, body: bytes | None = None):
    return Client().post(
        f"/api/webhooks/{delivery.path}",
        data=body or delivery.body,
        content_type="application/json",
        headers=delivery.headers,
    )


def test_a_database_failure_answers_503_so_saleor_retries(sample_install):
    assert active_install(samples.SAMPLE_API_URL) is not None  # cached now: only the INSERT touches the database
    # the INSERT itself fails, as the server's own error (not Django's wrapper): the view must still see it
    with mock.patch.object(psycopg.Cursor, "execute", side_effect=psycopg.OperationalError("server closed")):
        response = post(paid_delivery())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert not InboxEvent.objects.exists()
    assert post(paid_delivery()).status_code == 200  # Saleor's retry, once the database is back


def test_ingest_stores_through_a_prepared_statement_on_postgresql(sample_install):
    assert post(paid_delivery()).json() == {"accepted": True, "duplicate": False}
    for _ in range(5):  # psycopg prepares a statement on a connection's fifth use
        assert post(paid_delivery()).json()["duplicate"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO webhooks_inbox_event" in statement for statement in statements)
    assert InboxEvent.objects.count() == 1


def test_ingest_works_without_prepared_statements_behind_a_pooler(sample_install, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    execute = psycopg.Cursor.execute
    with mock.patch.object(psycopg.Cursor, "execute", autospec=True, side_effect=execute) as spy:
        first, again = post(paid_delivery()), post(paid_delivery())
    inserts = [call.args[0] for call in spy.call_args_list if "INSERT INTO webhooks_inbox_event" in str(call.args[1])]
    assert len(inserts) == 2
    assert all(isinstance(cursor, psycopg.ClientCursor) for cursor in inserts)  # Django's: never prepared
    assert first.json() == {"accepted": True, "duplicate": False}
    assert again.json() == {"accepted": True, "duplicate": True}
    assert InboxEvent.objects.count() == 1


def test_a_processing_error_is_recorded_and_retried_by_the_sweep(sample_install):
    with mock.patch("saleor_loyalty.webhooks.handlers.reconcile_order", side_effect=RuntimeError("bug")):
        assert post(paid_delivery()).status_code == 200  # stored: Saleor's part is done
    event = InboxEvent.objects.get()
    assert (event.status, event.attempts) == (InboxStatus.FAILED, 1)
    assert "RuntimeError: bug" in event.last_error

    InboxEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=5), processed_at=timezone.now() - timedelta(minutes=5)
    )
    assert tasks.redeliver_stuck_events() == 1
    event.refresh_from_db()
    assert event.status == InboxStatus.PROCESSED


def test_a_malformed_but_signed_body_is_not_retried(sample_install):
    event = InboxEvent.objects.create(
        install=sample_install,
        event="order_fully_paid",
        body=json.dumps({"__typename": "OrderFullyPaid"}),
        body_sha256="0" * 64,
    )
    assert tasks.process_event(event.pk) == "malformed"
    event.refresh_from_db()
    assert event.status == InboxStatus.FAILED and event.attempts == tasks.MAX_ATTEMPTS
    assert "missing field: order" in event.last_error


def test_json_logs_carry_install_order_and_inbox_ids(sample_install, caplog):
    caplog.set_level(logging.INFO)
    post(paid_delivery())
    records = [r for r in caplog.records if r.getMessage() == "order reconciled"]
    assert records
    line = json.loads(JsonFormatter().format(records[0]))
    order_id = json.loads(paid_delivery().body)["order"]["id"]
    assert line["install_id"] == sample_install.pk
    assert line["order_id"] == order_id
    assert line["inbox_event_id"] == InboxEvent.objects.get().pk
    assert line["points"] == 140


def test_ingest_signals_the_drain_at_most_once_per_interval_with_a_trailing_signal(monkeypatch):
    published = []
    monkeypatch.setattr(tasks, "_publish_drain", lambda: published.append(1))
    monkeypatch.setattr(tasks, "_last_signal", -1e9)
    monkeypatch.setattr(tasks, "SIGNAL_INTERVAL", 0.2)
    for _ in range(50):
        tasks.signal_drain()
    assert len(published) == 1  # the first signal goes out at once, the rest are coalesced
    import time

    time.sleep(0.4)
    assert len(published) == 2  # ...into one trailing signal, so nothing stored waits for the sweep


def test_a_drain_processes_every_pending_event(sample_install):
    for delivery in samples.subscribed():
        InboxEvent.objects.create(
            install=sample_install,
            event=delivery.event,
            body=delivery.body.decode(),
            body_sha256=delivery.name.ljust(64, "0")[:64],
        )
    assert tasks.drain_inbox() == len(samples.subscribed())
    assert set(InboxEvent.objects.values_list("status", flat=True)) == {InboxStatus.PROCESSED}


def _event(install, status, age_days, n):
    event = InboxEvent.objects.create(
        install=install, event="order_fully_paid", body="{}", body_sha256=f"{n:064d}", status=status
    )
    InboxEvent.objects.filter(pk=event.pk).update(received_at=timezone.now() - timedelta(days=age_days))
    return event.pk


def test_pruning_deletes_only_old_settled_deliveries_in_batches(sample_install, settings):
    settings.INBOX_RETENTION_DAYS = 30
    old_settled = [_event(sample_install, status, 31 + n, n) for n, status in enumerate(["processed", "ignored"] * 3)]
    kept = [
        _event(sample_install, InboxStatus.PENDING, 90, 10),  # still work to do
        _event(sample_install, InboxStatus.FAILED, 90, 11),  # evidence for an operator
        _event(sample_install, InboxStatus.PROCESSED, 29, 12),  # within the retention period
    ]
    assert tasks.prune_inbox(batch_size=4) == len(old_settled)
    assert sorted(InboxEvent.objects.values_list("pk", flat=True)) == sorted(kept)
    assert tasks.prune_inbox() == 0  # nothing left to do


def test_a_retention_of_zero_keeps_every_delivery(sample_install, settings):
    settings.INBOX_RETENTION_DAYS = 0
    _event(sample_install, InboxStatus.PROCESSED, 400, 1)
    assert tasks.prune_inbox() == 0 and InboxEvent.objects.count() == 1


def test_a_delivery_resent_after_pruning_is_stored_again_and_changes_nothing(sample_install, settings):
    from saleor_loyalty.ledger.models import Transfer

    delivery = paid_delivery()
    assert post(delivery).json()["duplicate"] is False
    transfers = Transfer.objects.count()
    assert transfers > 0  # the order earned
    InboxEvent.objects.update(received_at=timezone.now() - timedelta(days=31))
    settings.INBOX_RETENTION_DAYS = 30
    assert tasks.prune_inbox() == 1
    assert post(delivery).json() == {"accepted": True, "duplicate": False}  # stored again...
    assert InboxEvent.objects.get().status == InboxStatus.PROCESSED
    assert Transfer.objects.count() == transfers  # ...and processing, being state-based, awards nothing twice


@pytest.mark.django_db(transaction=True)
def test_while_one_worker_processes_an_event_another_takes_the_next_event_of_the_same_store():
    """Only the event's row is locked: a second worker does not skip a store's other events while one runs."""
    import threading

    from django.db import close_old_connections

    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    first, second = (
        InboxEvent.objects.create(install=install, event="order_fully_paid", body="{}", body_sha256=f"{n:064d}")
        for n in (1, 2)
    )
    inside, release = threading.Event(), threading.Event()

    def slow_handle(install, event, body):
        inside.set()
        release.wait(10)
        return "processed"

    outcomes = {}

    def worker():
        try:
            outcomes["first"] = tasks.process_event(first.pk)
        finally:
            close_old_connections()

    with mock.patch.object(tasks, "handle", side_effect=slow_handle):
        thread = threading.Thread(target=worker)
        thread.start()
        try:
            assert inside.wait(10)
            with mock.patch.object(tasks, "handle", return_value="processed"):
                outcomes["second"] = tasks.process_event(second.pk)  # skipped (None) when the install was locked
            assert tasks.process_event(first.pk) is None  # the event being processed is still skipped
        finally:
            release.set()
            thread.join(10)
    assert outcomes == {"first": "processed", "second": "processed"}


@pytest.mark.parametrize("text", ["plain", "é", "😀", "\x00", "\ud800", "\udfff", "a\\u0000b", "\\ud800", "\ue000"])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_body_is_cleared_by_a_scan_of_its_text_exactly_when_the_walk_of_its_values_would_clear_it(text, ensure_ascii):
    """``require_storable_text`` clears most bodies from their text alone (no NUL or surrogate escape in it); the
    answer is the walk's in every case: NULs and lone surrogates, escaped or raw, refused; an emoji (a surrogate
    pair when escaped) and a literal backslash followed by "u0000" accepted."""
    body = json.dumps({"order": {"lines": [{"name": text}]}, "ok": True}, ensure_ascii=ensure_ascii)
    event = json.loads(body)

    def refused(*args) -> bool:
        try:
            require_storable_text(*args)
        except MalformedPayload:
            return True
        return False

    assert refused(event, body) == refused(event) == (text in ("\x00", "\ud800", "\udfff"))
