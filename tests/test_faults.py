"""Fault tests (issue #10): a worker killed mid-event, PostgreSQL connections dropped during a burst of deliveries,
the PostgreSQL server restarted during a burst.

The first two run against the real services the suite already needs (PostgreSQL, Redis) and restart neither: a
killed worker is a ``celery worker`` subprocess sent SIGKILL, dropped connections are ``pg_terminate_backend`` of
this test database's connections only. The third restarts a server for real: a private one the session starts for
it (``private_postgres``, tests/pg_cluster.py), never the shared one. Redis db 12 is these tests' own broker (14 is
tests/test_operations', 13 and 15 the benchmarks'); it is flushed before and after.
"""

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from celery import Celery
from django.db import OperationalError, connection

from bench.common import gunicorn, migrate
from bench.processing import API_URL, Stored, generate
from saleor_loyalty.core.metrics import WEBHOOK_BATCH_FALLBACKS
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.models import Transfer, TransferKind
from saleor_loyalty.ledger.queries import integrity_problems
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.webhooks import tasks
from saleor_loyalty.webhooks.handlers import handle
from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from tests import samples
from tests.brokers import celery_through
from tests.factories import make_install
from tests.pg_cluster import SUPERUSER, PrivateCluster
from tests.saleor_harness.signing import SaleorKeys

REPO = Path(__file__).resolve().parents[1]
BROKER_URL = "redis://127.0.0.1:6379/12"
# bench/faults.py runs these tests longer: SCALE times the events and deliveries, and more bursts of terminations.
SCALE = max(1, int(os.environ.get("FAULTS_SCALE", "1")))


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds (generous: a loaded
    2-core machine is slow, never wrong)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def side_connection() -> psycopg.Connection[Any]:
    """A connection of the test's own, outside Django (holding locks, watching and terminating backends)."""
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=int(s["PORT"] or 5432),
        user=s["USER"],
        password=s.get("PASSWORD") or None,
        dbname=s["NAME"],
        autocommit=True,
    )


def app_env(tmp: Path, database: str, conn_max_age: int) -> dict[str, str]:
    """The environment of an app process (worker or web) of these tests: on ``database`` and Redis db 12.

    tests.settings pins ``CELERY_BROKER_URL = ""`` (eager), so the processes get a settings module on top of it (in
    ``tmp``): the broker, and a 2 s Redis visibility timeout so that a message a killed worker took (tasks are
    ``acks_late``) is handed out again as soon as the next worker starts (kombu restores unacked messages older than
    the timeout when its poller starts, then every second here). Production keeps 3600 s and relies on the sweep.
    """
    module = tmp / "fault_worker_settings.py"
    if not module.exists():
        module.write_text(
            "from tests.settings import *  # noqa: F403\n"
            f"CELERY_BROKER_URL = {BROKER_URL!r}\n"
            "CELERY_TASK_ALWAYS_EAGER = False\n"
            "CELERY_BROKER_TRANSPORT_OPTIONS = {\n"
            '    "visibility_timeout": 2, "unacked_restore_interval": 1, "unacked_restore_throttle": 1\n'
            "}\n"
        )
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fault_worker_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp), str(REPO)]),
        "DATABASE_URL": database,
        "CONN_MAX_AGE": str(conn_max_age),
    }


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def send_task(name: str, **kwargs: Any) -> None:
    """Publish a task to the tests' broker, as beat or ingest would."""
    publisher = Celery("fault-tests", broker=BROKER_URL, set_as_current=False)  # else shared tasks follow it
    try:
        publisher.send_task(name, kwargs=kwargs)
    finally:
        publisher.close()


def store_pending(install: Install, stored: list[Stored]) -> None:
    """The deliveries in the inbox, PENDING, in arrival order (as ingest would have stored them)."""
    InboxEvent.objects.bulk_create(
        InboxEvent(
            install=install,
            event=s.event,
            body=s.body.decode(),
            body_sha256=hashlib.sha256(s.body).hexdigest(),
            issued_at=datetime.fromisoformat(json.loads(s.body)["issuedAt"]),
            received_at=s.received_at,
            status=InboxStatus.PENDING,
        )
        for s in stored
    )


def assert_settled_once(install: Install, stored: list[Stored], *, in_order: bool) -> None:
    """Every delivery stored once and PROCESSED; one award per order, worth what the order's final state is worth;
    the ledger sound. The order's own postings (``order:<id>:r<revision>``): at most one EARN and at most one taking
    points back, and the EARN there whenever the order is worth a point. ``in_order`` (events processed in the order
    they happened): exactly one EARN, and exactly one taking back if refunded or cancelled. Out of order, a refund or
    cancellation processed before the payment earns the reduced value at once (or nothing), which is right too."""
    events = list(InboxEvent.objects.filter(install=install).values_list("body_sha256", "status", "last_error"))
    assert sorted(sha for sha, _, _ in events) == sorted(hashlib.sha256(s.body).hexdigest() for s in stored)
    assert [e for e in events if e[1] != InboxStatus.PROCESSED] == []
    orders = {s.order.order_id: s.order for s in stored}
    awards = {a.order_id: a for a in OrderAward.objects.filter(install=install)}
    assert set(awards) == set(orders)
    wrong = [(i, a.exact_points, orders[i].expected_points()) for i, a in awards.items() if
             a.exact_points != orders[i].expected_points()]  # fmt: skip
    assert wrong == []
    # A ``...:carry`` posting moves the fraction a member carries between orders (a 94.8-point order earns 94, and
    # may tip the carry over a whole point): left aside here, integrity_problems covers it.
    postings = Transfer.objects.filter(install=install, order_id__isnull=False).exclude(
        idempotency_key__endswith=":carry"
    )
    # One revision of an order (``order:<id>:r<n>``) may post several legs: a take-back of points partly spent takes
    # the pending and available parts and records the rest as debt (``:pending``, ``:points``, ``:shortfall``), and an
    # earn repays debt first (``:repay``). Count revisions, by what they did.
    kinds: dict[str, Counter[str]] = {order_id: Counter() for order_id in orders}
    revisions: dict[tuple[str, str], set[str]] = {}
    for order_id, kind, key in postings.values_list("order_id", "kind", "idempotency_key"):
        assert order_id is not None
        revisions.setdefault((order_id, ":".join(key.split(":")[:3])), set()).add(kind)
    for (order_id, _), legs in revisions.items():
        if TransferKind.EARN in legs:
            kinds[order_id][TransferKind.EARN] += 1
        elif legs & {TransferKind.CLAWBACK, TransferKind.DEBT, TransferKind.WRITE_OFF}:
            kinds[order_id][TransferKind.CLAWBACK] += 1
    for order_id, order in orders.items():
        earned = kinds[order_id][TransferKind.EARN]
        taken_back = sum(n for kind, n in kinds[order_id].items() if kind != TransferKind.EARN)
        assert awards[order_id].points == int(order.expected_points()), (order_id, awards[order_id].points)
        assert earned <= 1 and taken_back <= 1, (order_id, kinds[order_id])
        if in_order:
            assert earned == 1, (order_id, kinds[order_id])
            assert taken_back == (1 if order.refund is not None or order.cancelled else 0), (order_id, kinds[order_id])
        elif awards[order_id].points > 0:
            assert earned == 1, (order_id, kinds[order_id])
    assert integrity_problems(install.pk) == []


# --- (1) a worker killed mid-event -----------------------------------------------------------------------------------


class WorkerProcess:
    """``celery -A saleor_loyalty worker --pool=solo`` as a subprocess, on the test database (or ``database``) and
    Redis db 12, with ``conn_max_age`` (seconds a database connection is kept; production's default is 60)."""

    def __init__(self, tmp: Path, name: str, database: str | None = None, conn_max_age: int = 0) -> None:
        self.tmp = tmp
        self.name = name
        self.database = database
        self.conn_max_age = conn_max_age
        self.log = tmp / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "WorkerProcess":
        env = app_env(self.tmp, self.database or database_url(), self.conn_max_age)
        cmd = [
            str(REPO / ".venv" / "bin" / "celery"),
            "-A",
            "saleor_loyalty",
            "worker",
            "--pool=solo",
            "-Q",
            "celery",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"{self.name}-{os.getpid()}@localhost",
        ]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        proc = self.proc
        wait_for(lambda: proc.poll() is not None or " ready." in self.tail(), 90, f"{self.name} to start")
        assert proc.poll() is None, f"worker exited at start:\n{self.tail()}"
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self) -> str:
        return self.output()[-4000:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _backend_waiting_on_a_lock(watch: psycopg.Connection[Any]) -> int | None:
    row = watch.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND wait_event_type = 'Lock' AND query ILIKE '%members_member%'"
    ).fetchone()
    return None if row is None else int(row[0])


def _backend_alive(watch: psycopg.Connection[Any], pid: int) -> bool:
    return watch.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is not None


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_event_leaves_every_event_settled_exactly_once(tmp_path, broker):
    """SIGKILL a worker while it is inside an event (blocked on the member's row lock, which the test holds), then
    start another: the unacknowledged drain message is handed to it and every event is settled once."""
    install = make_install(api_url=API_URL, jwks=samples.jwks())
    stored = generate(20 * SCALE, seed=1010)  # 16 earns, 2 partial refunds, 2 cancellations per 20: shoppers return
    blocked = next(s for s in stored if s.kind == "earn" and s.order.user_id is not None)
    assert blocked.order.user_id is not None
    member = member_for_user(install, blocked.order.user_id, blocked.order.email)  # a shopper seen before
    store_pending(install, stored)
    blocked_event = InboxEvent.objects.get(body_sha256=hashlib.sha256(blocked.body).hexdigest())

    first, second = WorkerProcess(tmp_path, "killed"), WorkerProcess(tmp_path, "restarted")
    with side_connection() as locker, side_connection() as watch:
        try:
            locker.execute("BEGIN")
            locker.execute("SELECT id FROM members_member WHERE id = %s FOR UPDATE", [member.pk])
            first.start()
            send_task(tasks.drain_inbox.name)
            orphan = wait_for(lambda: _backend_waiting_on_a_lock(watch), 60, "the worker to block on the member lock")
            first.kill()
            # acks_late: the message the dead worker was running is still unacknowledged in Redis
            assert broker.hlen("unacked") == 1, first.tail()
            locker.execute("ROLLBACK")
            # The dead worker's backend was waiting on the lock: it only notices its client is gone once it has the
            # lock and answers, then rolls back. Until then it holds the event row (a drain would SKIP it).
            wait_for(lambda: not _backend_alive(watch, orphan), 30, "the killed worker's backend to end")
            blocked_event.refresh_from_db()
            assert blocked_event.status == InboxStatus.PENDING and blocked_event.attempts == 0
            assert not OrderAward.objects.filter(install=install, order_id=blocked.order.order_id).exists()

            second.start()

            def settled() -> bool:
                return not InboxEvent.objects.filter(install=install, status=InboxStatus.PENDING).exists()

            wait_for(settled, 90 * SCALE, "the restarted worker to settle every event", interval=0.25)
            wait_for(lambda: broker.hlen("unacked") == 0, 30, "the redelivered message to be acknowledged")
        finally:
            if locker.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                locker.execute("ROLLBACK")
            first.stop()
            second.stop()
    assert "drain_inbox" in second.output(), second.tail()  # the redelivered message ran on the new worker
    assert_settled_once(install, stored, in_order=True)
    assert set(InboxEvent.objects.filter(install=install).values_list("attempts", flat=True)) == {1}


# --- (2) PostgreSQL connections dropped during a burst of deliveries -------------------------------------------------


def _post(url: str, stored: Stored, keys: SaleorKeys, timeout: float = 60) -> int:
    """POST one delivery as Saleor sends it: its status, or 0 when there was no answer (refused, reset, timed out)."""
    request = urllib.request.Request(
        url + "/api/webhooks/orders",
        data=stored.body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Saleor-Event": stored.event,
            "Saleor-Api-Url": API_URL,
            "Saleor-Domain": "localhost:8000",
            "Saleor-Signature": keys.sign_webhook(stored.body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:  # URLError, a reset connection, a timeout
        return 0


class Burst:
    """``stored`` posted to ``url`` by ``senders`` threads (thread k posts deliveries k, k + senders, ...), every
    answer recorded in ``answers`` as (index, status)."""

    def __init__(self, url: str, stored: list[Stored], keys: SaleorKeys, senders: int = 4) -> None:
        self.url, self.stored, self.keys = url, stored, keys
        self.answers: list[tuple[int, int]] = []
        self.answered = threading.Event()  # set by every answer (a fault injector clears it)
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._send, args=(range(k, len(stored), senders),), daemon=True)
            for k in range(senders)
        ]

    def _send(self, indexes: range) -> None:
        for i in indexes:
            status = _post(self.url, self.stored[i], self.keys)
            with self._lock:
                self.answers.append((i, status))
            self.answered.set()

    def start(self) -> "Burst":
        for thread in self._threads:
            thread.start()
        return self

    def count(self) -> int:
        with self._lock:
            return len(self.answers)

    def join(self, timeout: float) -> dict[int, int]:
        """Wait for every delivery's first answer; they are returned by index."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), f"deliveries still unanswered after {timeout} s"
        first = dict(self.answers)
        assert len(first) == len(self.stored)
        return first

    def repost_failures(self, first: dict[int, int], timeout: float = 60) -> int:
        """Re-post each delivery first answered 5xx until it is answered 2xx, as Saleor retries those; returns how
        many posts that took. An answer other than 200 or 503 fails the test."""
        posts = 0
        deadline = time.monotonic() + timeout
        for i in sorted(i for i, status in first.items() if status >= 500):
            while True:
                status = _post(self.url, self.stored[i], self.keys)
                posts += 1
                assert status in (200, 503), (i, status)
                if status == 200:
                    break
                assert time.monotonic() < deadline, f"delivery {i} still answered {status} after {timeout} s"
                time.sleep(0.1)
        return posts


@pytest.mark.django_db(transaction=True)
def test_database_connections_dropped_during_a_burst_lose_no_delivery(live_server, broker):
    """While deliveries arrive, terminate the app's PostgreSQL connections: each delivery is answered 200 (stored)
    or 503 (Saleor retries it: re-posted here), never 500; then every one is stored once and settles once."""
    keys = SaleorKeys()
    install = make_install(api_url=API_URL, jwks=keys.jwks())
    stored = generate(120 * SCALE, seed=2020)
    assert {s.event for s in stored} <= {"order_fully_paid", "order_refunded", "order_cancelled"}
    burst = Burst(live_server.url, stored, keys)
    terminated: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        """Terminate every backend of the test database but its own, in bursts while deliveries are in flight."""
        with side_connection() as conn:
            for _ in range(1 + SCALE):
                while not burst.answered.wait(0.2):  # answered since the last burst: connections are open again
                    if stop.is_set():
                        return  # every delivery is in: no burst left to aim at
                if stop.is_set():
                    return  # a first delivery answered: the app's connections are open
                burst.answered.clear()
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline and not stop.is_set():
                    row = conn.execute(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    ).fetchone()
                    terminated.append(int(row[0]) if row else 0)
                    time.sleep(0.02)
                time.sleep(0.3)

    with celery_through(BROKER_URL):
        kill_thread = threading.Thread(target=killer, daemon=True)
        kill_thread.start()
        burst.start()
        try:
            first_answers = burst.join(120 * SCALE)
        finally:
            stop.set()
            kill_thread.join(timeout=60)
        assert not kill_thread.is_alive()
        assert sum(terminated) > 0, "no connection was terminated: the fault was not injected"
        assert set(first_answers.values()) <= {200, 503}, Counter(first_answers.values())
        reposted = burst.repost_failures(first_answers)  # Saleor retries what was not answered 2xx
    print(
        f"faults: {sum(terminated)} backends terminated; first answers {dict(Counter(first_answers.values()))}; "
        f"{reposted} re-posted"
    )
    connection.close()  # this thread's connection may have been terminated too
    while tasks.drain_inbox():
        pass
    assert_settled_once(install, stored, in_order=False)  # four senders and retries: deliveries arrive reordered


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_inside_an_event_leaves_it_pending_not_failed(monkeypatch):
    """The worker's connection lost inside an event (its backend terminated, as a server restart does) is the
    database's failure, not the event's: the server rolled the event back, and it stays PENDING with no attempt
    spent, for the next drain. Recording it FAILED (as when the server was back by the time the failure was
    recorded) held it out of drains for the sweep's backoff (≥ 60 s) and spent one of its attempts."""
    install = make_install(api_url=API_URL, jwks=samples.jwks())
    stored = generate(20, seed=5050)
    store_pending(install, stored)
    first = InboxEvent.objects.filter(install=install).order_by("received_at", "pk").first()
    assert first is not None
    lost: list[int] = []

    def handle_on_a_lost_connection(*args: Any) -> Any:
        if not lost:  # the first event only
            assert connection.connection is not None
            lost.append(connection.connection.info.backend_pid)
            with side_connection() as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", lost)
        return handle(*args)

    monkeypatch.setattr("saleor_loyalty.webhooks.tasks.handle", handle_on_a_lost_connection)
    with pytest.raises(OperationalError):
        tasks.process_event(first.pk)
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_error) == (InboxStatus.PENDING, 0, "")
    while tasks.drain_inbox():
        pass
    assert_settled_once(install, stored, in_order=True)
    assert set(InboxEvent.objects.filter(install=install).values_list("attempts", flat=True)) == {1}


# --- the drain's batches: one transaction for several events, and what happens when one of them fails ---------------


def _pending_ids(install: Install) -> list[int]:
    return list(
        InboxEvent.objects.filter(install=install, status=InboxStatus.PENDING)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_batch_settles_its_events_in_one_transaction(monkeypatch):
    """``settle_batch`` takes the oldest pending events and settles them in one transaction: every handler runs in
    the same PostgreSQL transaction, and the batch ends with its events PROCESSED, one attempt each."""
    install = make_install(api_url=API_URL, jwks=samples.jwks())
    stored = generate(40, seed=6060)
    store_pending(install, stored)
    oldest = _pending_ids(install)[: tasks.BATCH_SIZE]
    transactions: list[int] = []

    def handle_recording_its_transaction(*args: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
            transactions.append(int(cursor.fetchone()[0]))
        return handle(*args)

    monkeypatch.setattr("saleor_loyalty.webhooks.tasks.handle", handle_recording_its_transaction)
    assert tasks.settle_batch() == tasks.BATCH_SIZE
    assert len(transactions) == tasks.BATCH_SIZE and len(set(transactions)) == 1
    settled = InboxEvent.objects.filter(install=install, status=InboxStatus.PROCESSED)
    assert sorted(settled.values_list("pk", flat=True)) == sorted(oldest)
    assert set(settled.values_list("attempts", flat=True)) == {1}
    while tasks.drain_inbox():
        pass
    assert_settled_once(install, stored, in_order=True)


@pytest.mark.django_db(transaction=True)
def test_an_event_failing_in_a_batch_fails_alone_and_the_others_settle(monkeypatch):
    """A handler error rolls the batch back whole; its events are then processed one at a time, so the failing one
    is recorded FAILED (one attempt, for the sweep) and every other event of the batch settles once."""
    install = make_install(api_url=API_URL, jwks=samples.jwks())
    stored = generate(30, seed=7070)
    store_pending(install, stored)
    culprit = _pending_ids(install)[3]
    culprit_body = InboxEvent.objects.get(pk=culprit).body
    calls: list[str] = []

    def handle_failing_one(*args: Any) -> Any:
        if args[2] == culprit_body:
            calls.append("culprit")
            raise RuntimeError("bug in one event")
        return handle(*args)

    monkeypatch.setattr("saleor_loyalty.webhooks.tasks.handle", handle_failing_one)
    fallbacks = WEBHOOK_BATCH_FALLBACKS._value.get()
    assert tasks.settle_batch() == tasks.BATCH_SIZE
    assert WEBHOOK_BATCH_FALLBACKS._value.get() == fallbacks + 1
    assert calls == ["culprit", "culprit"]  # in the batch, then alone
    failed = InboxEvent.objects.get(pk=culprit)
    assert (failed.status, failed.attempts) == (InboxStatus.FAILED, 1)
    assert "RuntimeError: bug in one event" in failed.last_error
    processed = InboxEvent.objects.filter(install=install, status=InboxStatus.PROCESSED)
    assert processed.count() == tasks.BATCH_SIZE - 1 and set(processed.values_list("attempts", flat=True)) == {1}
    monkeypatch.setattr("saleor_loyalty.webhooks.tasks.handle", handle)  # the bug fixed: the sweep's retry settles it
    assert tasks.process_event(culprit) is not None
    while tasks.drain_inbox():
        pass
    assert_settled_once(install, stored, in_order=False)


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_inside_a_batch_leaves_its_events_pending(monkeypatch):
    """As for one event: the batch's connection lost (its backend terminated, as a server restart does) leaves every
    event of the batch PENDING with no attempt spent; they are not retried one by one on a dead connection."""
    install = make_install(api_url=API_URL, jwks=samples.jwks())
    stored = generate(30, seed=8080)
    store_pending(install, stored)
    lost: list[int] = []

    def handle_on_a_lost_connection(*args: Any) -> Any:
        if not lost:
            assert connection.connection is not None
            lost.append(connection.connection.info.backend_pid)
            with side_connection() as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", lost)
        return handle(*args)

    monkeypatch.setattr("saleor_loyalty.webhooks.tasks.handle", handle_on_a_lost_connection)
    with pytest.raises(OperationalError):
        tasks.settle_batch()
    assert set(InboxEvent.objects.filter(install=install).values_list("status", "attempts")) == {
        (InboxStatus.PENDING, 0)
    }
    while tasks.drain_inbox():
        pass
    assert_settled_once(install, stored, in_order=True)
    assert set(InboxEvent.objects.filter(install=install).values_list("attempts", flat=True)) == {1}


def _row_a_batch_will_need(install: Install, stored: list[Stored]) -> tuple[str, int]:
    """A row the next batch's events will lock: the award of an order paid earlier (refunded or cancelled now), or
    the member row of a shopper who bought before."""
    for s in stored[: tasks.BATCH_SIZE]:
        award = OrderAward.objects.filter(install=install, order_id=s.order.order_id).first()
        if award is not None:
            return "program_order_award", award.pk
        if s.order.user_id:
            member = Member.objects.filter(install=install, saleor_user_id=s.order.user_id).first()
            if member is not None:
                return "members_member", member.pk
    pytest.fail("no event of the batch touches a row that exists already")


@pytest.mark.django_db(transaction=True)
def test_a_batch_waiting_on_a_row_another_transaction_holds_falls_back_and_settles_once():
    """Two workers' batches can wait on each other (each holds an order or a shopper the other needs next). A batch
    waits at most ``BATCH_LOCK_TIMEOUT`` for a row, then rolls back and its events are processed one at a time, each
    waiting as long as it must: here a row the batch needs is held by another transaction for longer than that, and
    every event still settles exactly once."""
    install = make_install(api_url=API_URL, jwks=samples.jwks())
    stored = generate(120, seed=9090)
    store_pending(install, stored[:80])
    while tasks.drain_inbox():
        pass
    store_pending(install, stored[80:])
    table, row_id = _row_a_batch_will_need(install, stored[80:])
    fallbacks = WEBHOOK_BATCH_FALLBACKS._value.get()
    drained: list[int] = []
    worker = threading.Thread(target=lambda: drained.append(_drain_and_close()))
    with side_connection() as conn, conn.transaction():
        conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [row_id])
        worker.start()
        wait_for(lambda: WEBHOOK_BATCH_FALLBACKS._value.get() > fallbacks, 30, "the batch to fall back")
    worker.join(60)
    assert not worker.is_alive() and drained == [40]
    assert WEBHOOK_BATCH_FALLBACKS._value.get() == fallbacks + 1
    assert_settled_once(install, stored, in_order=True)


def _drain_and_close() -> int:
    try:
        return int(tasks.drain_inbox())
    finally:
        connection.close()


# --- (3) the PostgreSQL server restarted during a burst of deliveries ------------------------------------------------


@pytest.fixture
def migrated_database(private_postgres: PrivateCluster, tmp_path: Path) -> str:
    """A database on the private server with the app's schema (``migrate`` run as in production)."""
    dbname = "loyalty_faults"
    with private_postgres.connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    private_postgres.create_database(dbname)
    migrate(app_env(tmp_path, private_postgres.url(dbname), conn_max_age=0))
    return dbname


@contextmanager
def django_on(cluster: PrivateCluster, dbname: str) -> Iterator[None]:
    """This thread's Django connection on ``dbname`` of the private server inside (factories and assertions run
    there), on the test database again after."""
    settings_dict = connection.settings_dict  # the alias's settings, which every new connection reads
    saved = {key: settings_dict[key] for key in ("HOST", "PORT", "NAME", "USER", "PASSWORD")}
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=str(cluster.port), NAME=dbname, USER=SUPERUSER, PASSWORD="")
    try:
        yield
    finally:
        connection.close()
        settings_dict.update(saved)


def _unsettled(install: Install) -> int:
    return InboxEvent.objects.filter(install=install, status__in=[InboxStatus.PENDING, InboxStatus.FAILED]).count()


def wait_until_settled(install: Install, worker: "WorkerProcess", broker: redis.Redis, timeout: float) -> int:
    """Wait for the worker to settle every stored event. Whenever it sits idle with events unsettled (the drain that
    had them ended with a restart, and no later delivery signals another), publish the sweep as beat does every
    minute, minus the minute (``older_than_seconds=0``; a sweep takes up to 500 events). Returns how many sweeps
    it took."""
    deadline = time.monotonic() + timeout
    sweeps = 0
    last, still_since = -1, time.monotonic()
    while (left := _unsettled(install)) > 0:
        assert worker.proc is not None and worker.proc.poll() is None, f"the worker died:\n{worker.tail()}"
        assert time.monotonic() < deadline, f"{left} events unsettled after {timeout} s:\n{worker.tail()}"
        idle = broker.llen("celery") == 0 and broker.hlen("unacked") == 0  # no task queued, none running
        if left != last or not idle:
            last, still_since = left, time.monotonic()
        elif time.monotonic() - still_since > 1:
            send_task(tasks.redeliver_stuck_events.name, older_than_seconds=0)
            sweeps += 1
            last = -1
        time.sleep(0.25)
    return sweeps


def test_postgresql_restarted_during_a_burst_loses_no_delivery(
    private_postgres: PrivateCluster,
    migrated_database: str,
    tmp_path: Path,
    broker: redis.Redis,
    django_db_blocker: Any,
) -> None:
    """A web process (gunicorn) and a Celery worker on the private server, both keeping their connections
    (production's ``CONN_MAX_AGE``); 150 deliveries posted by four threads, a third of the way in ``pg_ctl restart
    -m fast`` (clients disconnected, clean shutdown) and two thirds in ``-m immediate`` (every server process
    killed: a crash, WAL recovery at start). Each delivery is answered 200 or 503, never another status, never left
    unanswered; the 503s are re-posted until 200 as Saleor retries them. Then, while the worker still drains the
    backlog, one more restart: its drain ends and no delivery is left to signal another, so the sweep picks up the
    rest (published here as beat would, without beat's minute). The worker recovers its connection by
    itself and settles every delivery: stored once, with one attempt, each order's points posted once and worth its
    final state, the ledger sound."""
    cluster, dbname = private_postgres, migrated_database
    keys = SaleorKeys()
    stored = generate(150 * SCALE, seed=3030)
    modes = ["fast", "immediate"] * SCALE  # the restarts, spread evenly over the burst
    restarts: list[tuple[str, float]] = []  # (mode, seconds it took)
    errors: list[BaseException] = []
    worker = WorkerProcess(tmp_path, "worker", database=cluster.url(dbname), conn_max_age=60)
    env = app_env(tmp_path, cluster.url(dbname), conn_max_age=60)
    web_log = tmp_path / "web.log"  # the 503s' tracebacks are expected here

    def web_tail() -> str:
        return web_log.read_text(errors="replace")[-4000:] if web_log.exists() else ""

    started = time.monotonic()
    with django_db_blocker.unblock(), django_on(cluster, dbname):
        install = make_install(api_url=API_URL, jwks=keys.jwks())
        connection.close()  # the test's own connection is not the point: it would break at the restart
        try:
            worker.start()
            with gunicorn("saleor_loyalty.wsgi", env, "/healthz", workers=2, output=web_log) as url:
                burst = Burst(url, stored, keys)

                stop = threading.Event()

                def restarter() -> None:
                    try:
                        for k, mode in enumerate(modes, start=1):
                            threshold = k * len(stored) // (len(modes) + 1)
                            while burst.count() < threshold:
                                if stop.wait(0.005):
                                    return  # the burst failed
                            restarts.append((mode, cluster.restart(mode)))
                    except BaseException as exc:  # reported by the test
                        errors.append(exc)

                restart_thread = threading.Thread(target=restarter, daemon=True)
                restart_thread.start()
                burst.start()
                try:
                    first_answers = burst.join(60 * SCALE)
                finally:
                    stop.set()
                    restart_thread.join(timeout=60 * SCALE)
                assert errors == [] and len(restarts) == len(modes), (errors, restarts, cluster.server_log())
                assert set(first_answers.values()) <= {200, 503}, (Counter(first_answers.values()), web_tail())
                reposted = burst.repost_failures(first_answers)
            # Every delivery is in. If the worker still has a backlog, restart once more: its drain ends with the
            # error and no delivery is left to signal another, so the sweep has to pick the rest up.
            backlog = _unsettled(install)
            if backlog >= 10:
                connection.close()
                restarts.append(("fast mid-drain", cluster.restart("fast")))
            sweeps = wait_until_settled(install, worker, broker, 60 * SCALE)
            assert worker.proc is not None and worker.proc.poll() is None, worker.tail()
        finally:
            worker.stop()
        assert_settled_once(install, stored, in_order=False)
        attempts = Counter(InboxEvent.objects.filter(install=install).values_list("attempts", flat=True))
        assert set(attempts) == {1}, attempts  # a lost connection spends no attempt (tasks.process_event)
    print(
        f"restarts: {len(restarts)} ({', '.join(f'{mode} {s:.2f} s' for mode, s in restarts)}); first answers "
        f"{dict(Counter(first_answers.values()))}; {reposted} re-posted; {backlog} unsettled after the burst, "
        f"{sweeps} sweeps; {worker.output().count('raised unexpected: OperationalError')} worker drains ended by a "
        f"database error; {time.monotonic() - started:.1f} s"
    )
