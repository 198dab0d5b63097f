"""What an operator relies on: health, metrics, replay of inbox events, balance rebuilds, a real worker."""

import io
import json
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F
from django.test import Client

from saleor_loyalty.celery_app import app
from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.accounts import member_accounts
from saleor_loyalty.ledger.maintenance import TOTAL_FIELDS
from saleor_loyalty.ledger.models import Account
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.schedule import JOBS
from saleor_loyalty.webhooks import tasks
from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from tests import samples
from tests.brokers import celery_through
from tests.factories import make_install

pytestmark = pytest.mark.django_db
REDIS_URL = "redis://127.0.0.1:6379/14"


def test_healthz_reports_database_and_eager_broker():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "broker": "eager"}}


def test_healthz_checks_a_real_redis_broker(settings):
    settings.CELERY_BROKER_URL = REDIS_URL

    app.conf.broker_url = REDIS_URL
    try:
        response = Client().get("/healthz")
        assert response.status_code == 200, response.content
        assert response.json()["checks"]["broker"] == "ok"
        app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
        response = Client().get("/healthz")
        assert response.status_code == 503
        assert response.json()["checks"]["broker"].startswith("error")
    finally:
        app.conf.broker_url = None


def test_metrics_count_webhooks_and_postings():
    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    delivery = next(d for d in samples.subscribed() if d.event == "order_fully_paid")
    Client().post(
        f"/api/webhooks/{delivery.path}", data=delivery.body, content_type="application/json", headers=delivery.headers
    )
    Client().post(
        "/api/webhooks/orders",
        data=b"{}",
        content_type="application/json",
        headers={"Saleor-Event": "order_fully_paid", "Saleor-Api-Url": "https://unknown.example/graphql/"},
    )
    text = Client().get("/metrics").content.decode()
    assert 'loyalty_webhooks_received_total{event="order_fully_paid"}' in text
    assert 'loyalty_webhooks_rejected_total{event="order_fully_paid",reason="unknown_install"}' in text
    assert 'loyalty_webhooks_processed_total{event="order_fully_paid",outcome="earned"}' in text
    assert 'loyalty_ledger_postings_total{kind="earn"}' in text
    assert install.pk


def stored_paid_delivery(status: str, **fields: str) -> InboxEvent:
    """The real sample ORDER_FULLY_PAID delivery, already in the inbox of a fresh install of its store."""
    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    delivery = next(d for d in samples.subscribed() if d.event == "order_fully_paid")
    return InboxEvent.objects.create(
        install=install,
        event=delivery.event,
        body=delivery.body.decode(),
        body_sha256="x" * 64,
        status=status,
        **fields,
    )


def test_replay_inbox_event_reprocesses_failed_events():
    event = stored_paid_delivery(InboxStatus.FAILED, last_error="boom")
    out = io.StringIO()
    call_command("replay_inbox_event", "--failed", stdout=out)
    event.refresh_from_db()
    assert event.status == InboxStatus.PROCESSED and "earned" in out.getvalue()
    out = io.StringIO()
    call_command("replay_inbox_event", str(event.pk), "--force", stdout=out)
    assert "unchanged" in out.getvalue()  # state-based: a replay never awards twice
    with pytest.raises(CommandError):
        call_command("replay_inbox_event", "999999")


def test_rebuild_balances_finds_and_repairs_drift():
    install = make_install()
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    with transaction.atomic():
        actions.earn(member=member, points=40, key="e", source="adjustment")
    call_command("rebuild_balances", "--member", str(member.pk), stdout=io.StringIO())
    Account.objects.filter(pk=member_accounts(member).points.pk).update(credits_posted=400)  # a bad manual edit
    out = io.StringIO()
    with pytest.raises(CommandError, match="drifted"):
        call_command("rebuild_balances", "--install", install.saleor_api_url, stdout=out)
    assert "stored" in out.getvalue()
    call_command("rebuild_balances", "--member", str(member.pk), "--apply", stdout=io.StringIO())
    assert member_balances(member).available == 40


@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_processes_the_inbox_over_redis(settings):
    """Ingest answers after storing; a worker fed through Redis does the processing."""

    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    settings.CELERY_BROKER_URL = REDIS_URL
    with celery_through(REDIS_URL), start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        delivery = next(d for d in samples.subscribed() if d.event == "order_fully_paid")
        response = Client().post(
            f"/api/webhooks/{delivery.path}",
            data=delivery.body,
            content_type="application/json",
            headers=delivery.headers,
        )
        assert response.status_code == 200 and json.loads(response.content)["accepted"]
        event = InboxEvent.objects.get(install=install)
        for _ in range(100):
            event.refresh_from_db()
            if event.status != InboxStatus.PENDING:
                break
            time.sleep(0.1)
        assert event.status == InboxStatus.PROCESSED


def test_healthz_fails_while_migrations_are_pending(monkeypatch):
    from saleor_loyalty.core import views

    monkeypatch.setattr(views, "_migrations_applied", False)
    monkeypatch.setattr(views, "pending_migrations", lambda: ["ledger.9999_future"])
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert "unapplied migrations" in response.json()["checks"]["migrations"]


def test_the_embedded_beat_runs_the_periodic_work(settings):
    settings.INBOX_RETENTION_DAYS = 0  # keep the event, to see it processed
    from saleor_loyalty.core.embedded_beat import run_periodic_tasks

    event = stored_paid_delivery(InboxStatus.PENDING)
    InboxEvent.objects.filter(pk=event.pk).update(received_at=event.received_at.replace(year=2020))
    run_periodic_tasks()
    event.refresh_from_db()
    assert event.status == InboxStatus.PROCESSED
    settings.INBOX_RETENTION_DAYS = 30
    run_periodic_tasks()  # processed, and received in 2020: pruned
    assert not InboxEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_ingest_answers_at_once_and_stores_every_delivery():
    """The inbox is the queue: a broker outage must not slow ingest down (Saleor waits on every delivery)."""

    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    answered = []
    with celery_through("redis://127.0.0.1:1/0"):  # a closed port: the broker is down
        for delivery in samples.subscribed():
            tasks._last_signal = -1e9  # every delivery signals the drain: each would wait on the broker
            started = time.monotonic()
            response = Client().post(
                f"/api/webhooks/{delivery.path}", data=delivery.body, content_type="application/json",
                headers=delivery.headers,
            )  # fmt: skip
            answered.append(time.monotonic() - started)
            assert response.status_code == 200, response.content
    # ~1.3 s each while the publish waited for the broker to refuse; a busy machine may slow one, not all
    assert statistics.median(answered) < 0.2, answered
    stored = InboxEvent.objects.filter(install=install)
    assert stored.count() == len(samples.subscribed())
    assert not stored.exclude(status=InboxStatus.PENDING).exists()  # kept for the sweep


@pytest.mark.django_db(transaction=True)
def test_a_backlog_left_by_a_broker_outage_drains_through_the_sweep_once_redis_is_back(settings):

    install = make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    for delivery in samples.subscribed():  # stored while the broker was down: nothing was told to process them
        InboxEvent.objects.create(
            install=install,
            event=delivery.event,
            body=delivery.body.decode(),
            body_sha256=delivery.name.ljust(64, "0")[:64],
        )
    stored = InboxEvent.objects.filter(install=install)
    settings.CELERY_BROKER_URL = REDIS_URL
    with celery_through(REDIS_URL), start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert tasks.redeliver_stuck_events(older_than_seconds=0) == stored.count()  # beat's sweep
        for _ in range(300):
            if not stored.filter(status=InboxStatus.PENDING).exists():
                break
            time.sleep(0.1)
    assert set(stored.values_list("status", flat=True)) == {InboxStatus.PROCESSED}


@pytest.mark.django_db
def test_ingest_does_not_wait_for_a_broker_that_hangs(monkeypatch):
    """A broker that never answers (packets dropped, not refused) must not hold a delivery either."""
    make_install(api_url=samples.SAMPLE_API_URL, jwks=samples.jwks())
    released = threading.Event()
    eager = app.conf.task_always_eager
    app.conf.update(task_always_eager=False)
    monkeypatch.setattr(tasks.drain_inbox, "apply_async", lambda *a, **k: released.wait(10))
    monkeypatch.setattr(tasks, "_last_signal", -1e9)
    delivery = next(d for d in samples.subscribed() if d.event == "order_fully_paid")
    try:
        started = time.monotonic()
        response = Client().post(
            f"/api/webhooks/{delivery.path}", data=delivery.body, content_type="application/json",
            headers=delivery.headers,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        released.set()
        app.conf.update(task_always_eager=eager)
    assert response.status_code == 200 and InboxEvent.objects.get().status == InboxStatus.PENDING
    assert elapsed < 5, elapsed  # the publish hangs 10 s: the answer did not wait for it


def test_beat_and_the_embedded_beat_run_the_same_table_of_jobs_and_every_job_is_a_task():
    app.loader.import_default_modules()
    assert [name for name in settings.CELERY_BEAT_SCHEDULE] == [job.name for job in JOBS]
    assert [job.task for job in JOBS if job.task not in app.tasks] == []


def test_the_embedded_beat_runs_each_job_on_its_own_schedule():
    """Found on the tenth real-Saleor run: without a broker every job ran every minute, whatever its schedule (the
    tier review, due daily at 03:00, every minute)."""
    from saleor_loyalty.core.embedded_beat import Schedule

    ticks, now = [0.0], [datetime(2026, 12, 2, 1, 0, tzinfo=UTC)]
    schedule = Schedule(clock=lambda: ticks[0], now=lambda: now[0])

    def advance(seconds: float) -> set[str]:
        ticks[0] += seconds
        now[0] += timedelta(seconds=seconds)
        return {job.name for job in schedule.due()}

    first = {job.name for job in schedule.due()}
    assert "redeliver-stuck-inbox-events" in first and "unlock-due-lots" in first  # every N seconds: at once
    assert "review-tiers" not in first and "prune-inbox" not in first  # at their times: not at the start
    assert advance(60) == {"redeliver-stuck-inbox-events", "process-missed-stripe-events"}  # the 60 s jobs only
    assert "expire-abandoned-redemptions" in advance(60)  # every 120 s
    ran = {name: 0 for name in ("review-tiers", "unlock-due-lots", "settle-rebates")}
    for _ in range(int(24 * 3600 / 60) - 2):  # the rest of a day, minute by minute
        for name in advance(60) & set(ran):
            ran[name] += 1
    assert ran["review-tiers"] == 1  # at 03:00 once
    assert 287 <= ran["unlock-due-lots"] <= 288  # every 300 s
    assert ran["settle-rebates"] == 24  # hourly


def test_the_whole_store_check_finds_drift_in_one_statement_as_account_by_account_would():
    """``drifted_member_accounts`` and ``uncovered_points_accounts`` sum the store's transfers and lots by account in
    the database; they find exactly what comparing each account with its own transfers and lots finds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saleor_loyalty.ledger.maintenance import drifted_member_accounts, recompute_totals, uncovered_points_accounts
    from saleor_loyalty.ledger.models import Lot

    install = make_install()
    members = [member_for_user(install, f"VXNlcjo{i}", f"s{i}@example.com") for i in range(12)]
    for i, member in enumerate(members):
        with transaction.atomic():
            actions.earn(member=member, points=10 + i, key=f"e{i}", source="adjustment")
            if i % 3 == 0:
                actions.hold(member=member, points=5, key=f"h{i}")  # a pending transfer, unresolved
    assert drifted_member_accounts(install.pk) == [] and uncovered_points_accounts(install.pk) == []
    assert integrity_problems(install.pk) == []

    posted = member_accounts(members[1]).points
    Account.objects.filter(pk=posted.pk).update(credits_posted=F("credits_posted") + 7)  # a bad manual edit
    held = member_accounts(members[3]).points
    Account.objects.filter(pk=held.pk).update(debits_pending=0)  # the hold forgotten
    Lot.objects.filter(account=member_accounts(members[5]).points).update(remaining=F("remaining") - 1)

    with CaptureQueriesContext(connection) as queries:
        drifts = drifted_member_accounts(install.pk)
        uncovered = uncovered_points_accounts(install.pk)
    assert len(queries.captured_queries) == 2  # whatever the number of accounts
    by_hand = {
        account.pk: recompute_totals(account)
        for account in Account.objects.filter(install=install, member__isnull=False)
        if recompute_totals(account) != {n: getattr(account, n) for n in TOTAL_FIELDS}
    }
    assert {d.account_id: d.recomputed for d in drifts} == by_hand
    assert set(by_hand) == {posted.pk, held.pk}
    assert {d.account_id: d.stored["credits_posted"] - d.recomputed["credits_posted"] for d in drifts}[posted.pk] == 7
    assert {a for a, *_ in uncovered} == {posted.pk, held.pk, member_accounts(members[5]).points.pk}
    problems = integrity_problems(install.pk)
    assert any(
        f"account {held.pk} (points) running totals differ from its transfers: debits_pending 0 ≠ 5" in p
        for p in problems
    ), problems

    out, err = io.StringIO(), io.StringIO()
    call_command("rebuild_balances", "--install", install.saleor_api_url, "--apply", stdout=out, stderr=err)
    assert "checked 12 members, 2 drifted accounts" in out.getvalue()
    assert drifted_member_accounts(install.pk) == []
    assert [a for a, *_ in uncovered_points_accounts(install.pk)] == [member_accounts(members[5]).points.pk]
