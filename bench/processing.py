"""Order processing throughput (issue #10): stored Saleor deliveries drained by real Celery workers on Redis.

What is measured: N deliveries already in the inbox (``webhooks_inbox_event``, PENDING, exactly the bytes Saleor
3.23 sends for our order subscription: earns (ORDER_FULLY_PAID), partial refunds (ORDER_REFUNDED) and
cancellations (ORDER_CANCELLED) of some of those orders, for ~500 shoppers, registered and guests, some buying
twice) are drained by ``celery -A saleor_loyalty worker`` (prefork) on Redis into PostgreSQL, first with one worker
process (``--concurrency 1``), then — the database reset to the same stored events — with two. Processing is
started as ingest starts it: ``drain_inbox`` signals published to the broker (one per ingest process,
``--signals``), and timed from the first signal until the last event is settled (its ``processed_at``). Ingest
itself is measured by ``bench/ingest.py``: the events are inserted directly here.

The baseline, measured in the same run next to each drain: the bare ledger posting loop of the same earns —
``saleor_loyalty.ledger.posting.post(...)`` of each order's points from the program's ``issued`` account into the
shopper's pending account with its lot, one statement, one process, one connection (as ``bench/ledger_posting``
posts), members and accounts opened beforehand. Figures: events/s; processing ÷ posting per worker (target
≥ 0.25); two workers ÷ one (target ≥ 1.6, next to ``os.cpu_count()``); and SQL statements per event by kind,
counted in process (``connection.execute_wrapper`` around ``process_event``; target: a plain earn ≤ 10).

After each drain: every event PROCESSED, exactly one award per order holding the points its final state is worth
(computed here from the generated orders), the same awards as the other drain, and
``ledger.queries.integrity_problems`` empty — else the run fails.

Own database ``loyalty_bench_processing`` (and its template copy ``loyalty_bench_processing_tpl``, from which
every phase starts), Redis db 13 (flushed before and after). Run: ``python -m bench.processing [--quick]``.
"""

import argparse
import base64
import copy
import cProfile
import hashlib
import io
import json
import math
import os
import pstats
import random
import re
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import redis

from bench import common

WORK_DB = "loyalty_bench_processing"
TEMPLATE_DB = "loyalty_bench_processing_tpl"
WORK_URL = f"postgres://{common.PG_USER}@{common.PG_HOST}:{common.PG_PORT}/{WORK_DB}"
REDIS_URL = "redis://127.0.0.1:6379/13"  # 15 is bench/ingest's, 14 the tests'
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "saleor" / "samples" / "3.23.28"
API_URL = "http://localhost:8000/graphql/"  # the samples' Saleor-Api-Url
STAFF = {"__typename": "User", "id": base64.b64encode(b"User:21").decode()}  # the samples' staff user
TARGET_PER_WORKER = 0.25  # processing events/s per worker ÷ bare postings/s
TARGET_SPEEDUP = 1.6  # two workers ÷ one
TARGET_EARN_STATEMENTS = 10
CENT = Decimal("0.01")
EXACT = Decimal("0.000001")
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EARN_KINDS = ("earn_new", "earn_returning", "earn_guest")
KINDS = (*EARN_KINDS, "refund", "cancel")


def _gid(kind: str, value: object) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _amount(value: Decimal) -> float:
    """Saleor's JSON number for a money amount (two decimals: 59.97, never 59.970000000000006)."""
    return float(value.quantize(CENT))


# --- the stored deliveries ---------------------------------------------------------------------------------------


@dataclass
class Order:
    n: int
    shopper: str  # "u<id>" (registered) or "g<id>" (guest)
    user_id: str | None  # Saleor user id (base64), None for a guest
    email: str
    lines: list[dict[str, Any]]
    lines_total: Decimal
    shipping: Decimal
    refund: Decimal | None = None
    cancelled: bool = False

    @property
    def order_id(self) -> str:
        return _gid("Order", uuid.UUID(int=0xB0000000 + self.n))

    @property
    def total(self) -> Decimal:
        return self.lines_total + self.shipping

    def expected_points(self) -> Decimal:
        """What the final state is worth under the default program (1 point per currency unit, net of tax, shipping
        not earning): the lines; less in proportion to money refunded; nothing once cancelled."""
        if self.cancelled:
            return Decimal(0)
        kept = Fraction(self.total - (self.refund or 0)) / Fraction(self.total)  # exact, as the app computes it
        return Decimal(math.floor(Fraction(self.lines_total) * kept * 1_000_000)).scaleb(-6).quantize(EXACT)


@dataclass
class Stored:
    kind: str  # "earn", "refund" or "cancel" (the finer earn kinds are decided when processed)
    event: str  # Saleor-Event
    order: Order
    received_at: datetime
    body: bytes = b""


def _templates() -> dict[str, dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((SAMPLES / f"{name}.body.json").read_bytes())
        return data

    return {
        "earn": load("04-order_fully_paid"),
        "refund": load("06-order_refunded"),
        "cancel": load("17-order_cancelled"),
    }


class Catalogue:
    """Forty variants in six categories, priced as a small fashion store prices (some with cents)."""

    PRICES = ("45.00", "50.00", "12.50", "30.00", "19.99", "64.00", "8.75", "120.00", "24.90", "37.50")
    CATEGORIES = ("t-shirts", "sneakers", "hoodies", "caps", "socks", "jackets")

    def __init__(self, rng: random.Random) -> None:
        self.variants = [
            {
                "variant": 300 + i,
                "product": 100 + i // 2,
                "category": 20 + i % len(self.CATEGORIES),
                "slug": self.CATEGORIES[i % len(self.CATEGORIES)],
                "sku": f"1122{23500 + i}",
                "price": Decimal(rng.choice(self.PRICES)),
            }
            for i in range(40)
        ]


def _line(template: dict[str, Any], order_n: int, i: int, v: dict[str, Any], quantity: int) -> dict[str, Any]:
    line = copy.deepcopy(template)  # the sample's key order
    variant = _gid("ProductVariant", v["variant"])
    line["id"] = _gid("OrderLine", uuid.UUID(int=(order_n << 8) + i))
    line["quantity"] = quantity
    line["quantityFulfilled"] = 0
    line["productSku"] = v["sku"]
    line["productVariantId"] = variant
    line["variant"]["id"] = variant
    line["variant"]["product"]["id"] = _gid("Product", v["product"])
    line["variant"]["product"]["category"] = {"id": _gid("Category", v["category"]), "slug": v["slug"]}
    price, total = _amount(v["price"]), _amount(v["price"] * quantity)
    line["unitPrice"] = {"gross": {"amount": price}, "net": {"amount": price}}
    line["totalPrice"] = {"gross": {"amount": total, "currency": "USD"}, "net": {"amount": total}}
    return line


def _body(template: dict[str, Any], kind: str, order: Order, received: datetime) -> bytes:
    """A delivery of ``order`` in its state after ``kind``, built on the real sample of that event (same keys, same
    order, same separators), issued a moment before it was received."""
    event = copy.deepcopy(template)
    updated = received - timedelta(milliseconds=120)
    created = T0 + timedelta(seconds=order.n * 0.1)
    event["issuedAt"] = (received - timedelta(milliseconds=40)).isoformat()
    if kind == "earn":
        event["issuingPrincipal"] = {"__typename": "User", "id": order.user_id} if order.user_id else None
    else:
        event["issuingPrincipal"] = dict(STAFF)
    o = event["order"]
    total, charged, refunded = order.total, order.total, Decimal(0)
    if kind == "refund":
        assert order.refund is not None
        charged, refunded = order.total - order.refund, order.refund
    o["id"] = order.order_id
    o["number"] = str(order.n)
    o["status"] = "CANCELED" if kind == "cancel" else "UNFULFILLED"
    o["created"] = created.isoformat()
    o["updatedAt"] = updated.isoformat()
    o["checkoutId"] = _gid("Checkout", uuid.UUID(int=0xC0000000 + order.n))
    o["userEmail"] = order.email
    o["user"] = {"id": order.user_id, "email": order.email} if order.user_id else None
    o["total"]["gross"]["amount"] = _amount(total)
    o["total"]["net"]["amount"] = _amount(total)
    o["subtotal"] = {"gross": {"amount": _amount(order.lines_total)}, "net": {"amount": _amount(order.lines_total)}}
    o["shippingPrice"] = {"gross": {"amount": _amount(order.shipping)}}
    o["undiscountedTotal"] = {"gross": {"amount": _amount(total)}}
    o["totalCharged"] = {"amount": _amount(charged)}
    o["totalRefunded"] = {"amount": _amount(refunded)}
    o["chargeStatus"] = "PARTIAL" if kind == "refund" else "FULL"
    o["paymentStatus"] = "PARTIALLY_REFUNDED" if kind == "refund" else "FULLY_CHARGED"
    o["isPaid"] = kind != "refund"
    o["voucherCode"] = None
    o["voucher"] = None
    o["discounts"] = []
    o["lines"] = order.lines
    return json.dumps(event).encode()  # Saleor's separators (", ", ": "), as in the samples


def generate(events: int, seed: int = 10) -> list[Stored]:
    """``events`` deliveries in arrival order: ~90% earns, ~5% partial refunds and ~5% cancellations of earlier
    orders (each 10-120 earns after its order was paid). 10% of the orders are a returning shopper's, 10% of new
    shoppers are guests."""
    rng = random.Random(seed)
    templates = _templates()
    line_template = templates["earn"]["order"]["lines"][0]
    catalogue = Catalogue(rng)
    follow_ups = max(2, round(events * 0.05))
    earns = events - 2 * follow_ups
    shoppers: list[tuple[str, str | None, str]] = []
    orders = []
    for n in range(1, earns + 1):
        if shoppers and rng.random() < 0.10:
            shopper, user_id, email = rng.choice(shoppers)
        else:
            k = len(shoppers) + 1
            if rng.random() < 0.10:
                shopper, user_id, email = f"g{k}", None, f"guest-{k}@example.com"
            else:
                shopper, user_id, email = f"u{k}", _gid("User", 1000 + k), f"shopper-{k}@example.com"
            shoppers.append((shopper, user_id, email))
        chosen = rng.sample(catalogue.variants, rng.choices((1, 2, 3), weights=(5, 3, 2))[0])
        lines = [
            _line(line_template, n, i, v, rng.choices((1, 2, 3), weights=(6, 3, 1))[0]) for i, v in enumerate(chosen)
        ]
        lines_total = sum((Decimal(str(line["totalPrice"]["gross"]["amount"])) for line in lines), Decimal(0))
        shipping = Decimal("7.50") if rng.random() < 0.3 else Decimal(0)
        orders.append(Order(n, shopper, user_id, email, lines, lines_total, shipping))
    timeline: list[tuple[float, Stored]] = [(float(o.n), Stored("earn", "order_fully_paid", o, T0)) for o in orders]
    candidates = rng.sample(orders[: max(1, earns - 10)], 2 * follow_ups)
    for i, order in enumerate(candidates):
        if i < follow_ups:  # a return of one item of its first line, refunded as an amount (as the samples' refund)
            order.refund = Decimal(str(order.lines[0]["unitPrice"]["gross"]["amount"]))
            timeline.append((order.n + rng.uniform(10, 120), Stored("refund", "order_refunded", order, T0)))
        else:
            order.cancelled = True
            timeline.append((order.n + rng.uniform(10, 120), Stored("cancel", "order_cancelled", order, T0)))
    timeline.sort(key=lambda entry: entry[0])
    stored = []
    for i, (_, entry) in enumerate(timeline):
        entry.received_at = T0 + timedelta(seconds=0.1 * i + 1)
        entry.body = _body(templates[entry.kind], entry.kind, entry.order, entry.received_at)
        stored.append(entry)
    assert len({hashlib.sha256(s.body).digest() for s in stored}) == len(stored) == events
    return stored


# --- database ------------------------------------------------------------------------------------------------------


def _django() -> None:
    os.environ.update(common.app_env(DATABASE_URL=WORK_URL, CELERY_BROKER_URL=REDIS_URL))
    import django

    django.setup()


def _close_django() -> None:
    from django.db import connections

    connections.close_all()


def reset_database() -> None:
    """The work database, as it was when the events were stored (a copy of the template), and this process's
    caches of the previous copy's rows forgotten (a program account opened by processing gets another id in the
    next copy when events run in another order)."""
    from saleor_loyalty.ledger import accounts
    from saleor_loyalty.program import config

    accounts._program_accounts.clear()
    config.clear()
    common.copy_database(TEMPLATE_DB, WORK_DB)


def build_template(stored: list[Stored]) -> int:
    """Migrate the work database, install the samples' store with its JWKS, its program settings and issued account
    (a store that has been running), store the deliveries PENDING; then freeze it as the template. Returns the
    install's id."""
    for db in (TEMPLATE_DB, WORK_DB):
        common.drop_database(db)
    common.create_database(WORK_DB)
    common.migrate(common.app_env(DATABASE_URL=WORK_URL))
    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.ledger.accounts import program_account
    from saleor_loyalty.ledger.models import AccountCode
    from saleor_loyalty.program.rules import program_settings
    from saleor_loyalty.webhooks import payloads

    for entry in stored:  # every body is one the app parses (a malformed one would be a cheap failure)
        payloads.order_snapshot(json.loads(entry.body))
    jwks = json.loads((SAMPLES / "jwks.json").read_text())
    install = Install(saleor_api_url=API_URL, app_id="QXBwOjE=", saleor_domain="localhost:8000", jwks=jwks)
    install.set_auth_token("bench-token")
    install.save()
    program_settings(install)
    program_account(install.pk, AccountCode.ISSUED)
    rows = [
        (
            install.pk,
            s.event,
            s.body.decode(),
            hashlib.sha256(s.body).hexdigest(),
            datetime.fromisoformat(json.loads(s.body)["issuedAt"]),
            s.received_at,
        )
        for s in stored
    ]
    _close_django()
    with common.bench_connection(WORK_DB) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO webhooks_inbox_event (install_id, event, body, body_sha256, issued_at, received_at, "
                "status, attempts, last_error) VALUES (%s, %s, %s, %s, %s, %s, 'pending', 0, '')",
                rows,
            )
        conn.execute("VACUUM ANALYZE")
    common.freeze_template(WORK_DB, TEMPLATE_DB)
    return int(install.pk)


def drop_all() -> None:
    _close_django()
    for db in (WORK_DB, TEMPLATE_DB):
        common.drop_database(db)


# --- baseline: the bare posting loop of the same earns ----------------------------------------------------------


@dataclass
class Posting:
    postings: int
    seconds: float
    rate: float
    passes: int


def posting_baseline(install_id: int, stored: list[Stored], seconds: float, tag: str) -> Posting:
    """Each earn's points posted with ``post()`` from ``issued`` into its shopper's pending account, crediting a new
    lot (an earn's transfer), one statement each, on this process's one connection; passes over the same earns
    (fresh keys) until ``seconds`` have gone by."""
    from django.db import connection
    from django.utils import timezone

    from saleor_loyalty.ledger.accounts import member_accounts, program_account
    from saleor_loyalty.ledger.models import AccountCode, TransferKind
    from saleor_loyalty.ledger.posting import NewLot, post
    from saleor_loyalty.members.models import Member

    earns = [s.order for s in stored if s.kind == "earn"]
    members = {}
    for order in earns:
        if order.shopper not in members:
            member = Member.objects.create(install_id=install_id, saleor_user_id=order.user_id, email=order.email)
            members[order.shopper] = (member.pk, member_accounts(member).pending)
    issued = program_account(install_id, AccountCode.ISSUED)
    work = [(o, *members[o.shopper], int(o.lines_total)) for o in earns]
    window = timedelta(days=14)
    count, passes = 0, 0
    began = time.perf_counter()
    while True:
        for order, member_id, pending, points in work:
            now = timezone.now()
            post(
                install_id=install_id,
                key=f"{tag}:{passes}:order:{order.order_id}:r1",
                kind=TransferKind.EARN,
                debit=issued,
                credit=pending,
                amount=points,
                member_id=member_id,
                order_id=order.order_id,
                memo={"source": "order"},
                new_lot=NewLot(source="order", earned_at=now, unlocks_at=now + window),
            )
            count += 1
        passes += 1
        elapsed = time.perf_counter() - began
        if elapsed >= seconds:
            break
    connection.close()
    return Posting(postings=count, seconds=elapsed, rate=count / elapsed, passes=passes)


# --- draining with real workers -----------------------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _family(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(c) for c in children)]


def _machine_cpu() -> tuple[int, int]:
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


class Worker:
    """``celery -A saleor_loyalty worker --pool prefork --concurrency N`` on the bench broker and database."""

    def __init__(self, concurrency: int, log: Path) -> None:
        self.concurrency = concurrency
        self.hostname = f"bench-processing-{os.getpid()}-{concurrency}@localhost"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "Worker":
        from saleor_loyalty.celery_app import app

        cmd = [
            common.PYTHON,
            "-m",
            "celery",
            "-A",
            "saleor_loyalty",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(self.concurrency),
            "--loglevel",
            "WARNING",
            "-n",
            self.hostname,
        ]
        env = common.app_env(DATABASE_URL=WORK_URL, CELERY_BROKER_URL=REDIS_URL)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=common.REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"celery worker exited ({self.proc.returncode}) at start:\n{self.tail()}")
            if app.control.ping(destination=[self.hostname], timeout=1.0):
                return self
        raise SystemExit(f"celery worker did not answer a ping within 90 s:\n{self.tail()}")

    def cpu_ticks(self) -> int:
        assert self.proc is not None
        return sum(_cpu_ticks(pid) for pid in _family(self.proc.pid))

    def processes(self) -> int:
        assert self.proc is not None
        return len(_family(self.proc.pid)) - 1

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:]) if self.log.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # warm shutdown: the parent stops its pool processes
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@dataclass
class Drain:
    workers: int
    events: int
    seconds: float
    rate: float
    seconds_polled: float
    signals: int
    worker_cpu_ms_per_event: float
    machine_cpu_busy: float  # share of all cores busy during the drain (0-1)
    load_average: tuple[float, float]  # 1-minute load average before and after
    statuses: dict[str, int]
    awards: int
    queued_after: dict[str, int]  # tasks left in the queue when the last event settled, by name
    seconds_with_queued: float  # until those had run too


def _scalar(conn: Any, sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None  # an aggregate always answers one row
    return row[0]


def _task_name(message: bytes | str) -> str:
    try:
        return str(json.loads(message)["headers"]["task"]).rsplit(".", 1)[-1]
    except (ValueError, KeyError, TypeError):
        return "?"


def _pending(conn: Any) -> int:
    row = conn.execute("SELECT count(*) FROM webhooks_inbox_event WHERE status = 'pending'").fetchone()
    return int(row[0])


def drain(workers: int, events: int, signals: int, log: Path, timeout: float) -> Drain:
    """Start the worker, publish ``signals`` drain signals at once (as that many ingest processes would on the first
    delivery each stores), and wait until no event is pending."""
    from saleor_loyalty.webhooks.tasks import drain_inbox

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    with Worker(workers, log) as worker, common.bench_connection(WORK_DB) as conn:
        if worker.processes() != workers:
            raise SystemExit(f"expected {workers} pool processes, the worker has {worker.processes()}")
        assert _pending(conn) == events
        cpu0, (busy0, total0), load0 = worker.cpu_ticks(), _machine_cpu(), os.getloadavg()[0]
        started_wall, started = time.time(), time.perf_counter()
        for _ in range(signals):
            drain_inbox.apply_async()
        while _pending(conn) > 0:
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"drain with {workers} worker(s): events still pending after {timeout:.0f} s")
            if worker.proc is not None and worker.proc.poll() is not None:
                raise SystemExit(f"the celery worker died:\n{worker.tail()}")
            time.sleep(0.05)
        polled = time.perf_counter() - started
        cpu1, (busy1, total1), load1 = worker.cpu_ticks(), _machine_cpu(), os.getloadavg()[0]
        last = _scalar(conn, "SELECT max(processed_at) FROM webhooks_inbox_event")
        statuses = dict(conn.execute("SELECT status, count(*) FROM webhooks_inbox_event GROUP BY 1").fetchall())
        awards = int(_scalar(conn, "SELECT count(*) FROM program_order_award"))
        # What processing queued for later (on commit): the worker runs it after the drain, off the clock above.
        queued = Counter(_task_name(m) for m in broker.lrange("celery", 0, -1))
        while broker.llen("celery") or broker.hlen("unacked"):
            if time.perf_counter() - started > 2 * timeout:
                raise SystemExit(
                    f"drain with {workers} worker(s): queued tasks still not run after {2 * timeout:.0f} s"
                )
            time.sleep(0.05)
        all_done = time.perf_counter() - started
    seconds = last.timestamp() - started_wall
    broker.flushdb()
    return Drain(
        workers=workers,
        events=events,
        seconds=seconds,
        rate=events / seconds,
        seconds_polled=polled,
        signals=signals,
        worker_cpu_ms_per_event=1000 * (cpu1 - cpu0) / os.sysconf("SC_CLK_TCK") / events,
        machine_cpu_busy=(busy1 - busy0) / max(1, total1 - total0),
        load_average=(load0, load1),
        statuses=statuses,
        awards=awards,
        queued_after=dict(queued),
        seconds_with_queued=all_done,
    )


def check(install_id: int, stored: list[Stored], result: Drain) -> dict[str, tuple[int, str]]:
    """Every event processed, one award per order worth what its final state is worth, a sound ledger. Returns the
    awards (order id → points, exact points) to compare drains with."""
    from saleor_loyalty.ledger.queries import integrity_problems

    problems = []
    if result.statuses != {"processed": len(stored)}:
        problems.append(f"event statuses {result.statuses}, expected all {len(stored)} processed")
    orders = {s.order.order_id: s.order for s in stored}
    with common.bench_connection(WORK_DB) as conn:
        rows = conn.execute("SELECT order_id, points, exact_points FROM program_order_award").fetchall()
        failed = conn.execute(
            "SELECT id, event, last_error FROM webhooks_inbox_event WHERE status <> 'processed' LIMIT 3"
        ).fetchall()
    awards = {order_id: (int(points), str(exact)) for order_id, points, exact in rows}
    if len(rows) != len(orders) or set(awards) != set(orders):
        problems.append(f"{len(rows)} awards ({len(awards)} orders) for {len(orders)} orders")
    wrong = [
        (order_id, awards[order_id][1], order.expected_points())
        for order_id, order in orders.items()
        if order_id in awards and Decimal(awards[order_id][1]) != order.expected_points()
    ]
    if wrong:
        problems.append(f"{len(wrong)} awards differ from the order's worth, e.g. {wrong[:3]}")
    problems += integrity_problems(install_id)
    _close_django()
    if problems:
        raise SystemExit(
            f"processing check FAILED ({result.workers} worker(s)): {problems[:5]}; not processed: {failed}"
        )
    return awards


# --- in process: statements, time per event, profile --------------------------------------------------------------


@dataclass
class Sampled:
    kind: str
    outcome: str | None
    statements: int
    savepoints: int
    sql_ms: float
    wall_ms: float
    sql: list[str] = field(default_factory=list)


def sample_subset(stored: list[Stored], per_kind: int) -> list[int]:
    """Indexes (arrival order) of a subset that holds ``per_kind`` events of each kind, with everything that came
    before them for the same order or shopper (so a refund finds its earn, a returning shopper their member)."""
    seen_shoppers: set[str] = set()
    picked: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(stored):
        if s.kind == "earn":
            kind = "earn_returning" if s.order.shopper in seen_shoppers else "earn_new"
            if kind == "earn_new" and s.order.user_id is None:
                kind = "earn_guest"
            seen_shoppers.add(s.order.shopper)
        else:
            kind = s.kind
        if len(picked[kind]) < per_kind:
            picked[kind].append(i)
    needed = {i for indexes in picked.values() for i in indexes}
    shoppers = {stored[i].order.shopper for i in needed}
    last = max(needed)
    return [i for i, s in enumerate(stored) if i in needed or (i < last and s.order.shopper in shoppers)]


def in_process(stored: list[Stored], subset: list[int]) -> list[Sampled]:
    """``process_event`` for the subset, in arrival order, on this process's connection, each under an
    ``execute_wrapper`` that counts and times its statements (``core.db``'s prepared statements are routed through
    Django's cursor while a wrapper watches, so they count too)."""
    from django.db import connection

    from saleor_loyalty.webhooks.tasks import process_event

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM webhooks_inbox_event ORDER BY received_at, id")
        ids = [int(row[0]) for row in cursor.fetchall()]
    assert len(ids) == len(stored)
    seen: set[str] = set()
    out = []
    for i in subset:
        s = stored[i]
        if s.kind == "earn":
            kind = (
                "earn_returning" if s.order.shopper in seen else "earn_guest" if s.order.user_id is None else "earn_new"
            )
            seen.add(s.order.shopper)
        else:
            kind = s.kind
        statements: list[tuple[str, float]] = []

        def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            t = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                statements.append((sql, time.perf_counter() - t))  # noqa: B023 - this event's list

        with connection.execute_wrapper(wrapper):
            t0 = time.perf_counter()
            outcome = process_event(ids[i])
            wall = time.perf_counter() - t0
        out.append(
            Sampled(
                kind=kind,
                outcome=outcome,
                statements=len(statements),
                savepoints=sum(1 for sql, _ in statements if re.match(r"\s*(RELEASE )?SAVEPOINT", sql)),
                sql_ms=1000 * sum(t for _, t in statements),
                wall_ms=1000 * wall,
                sql=[" ".join(sql.split())[:160] for sql, _ in statements],
            )
        )
    return out


def drained_in_process() -> dict[str, Any]:
    """Every stored event drained in process by ``drain_inbox`` (its batches of ``BATCH_SIZE`` per transaction), on
    one connection, counting its statements (as ``in_process``) and its transactions: what an event costs the
    database in the drain, where the statement that takes a batch, the one that marks it processed and the
    transaction are paid once per batch."""
    from django.db import connection

    from saleor_loyalty.webhooks.tasks import BATCH_SIZE, drain_inbox

    statements = 0
    commits = 0

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    commit = connection.commit

    def counting_commit() -> None:
        nonlocal commits
        commits += 1
        commit()

    connection.commit = counting_commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            t0 = time.perf_counter()
            drained = drain_inbox.run()
            wall = time.perf_counter() - t0
    finally:
        del connection.commit
    return {
        "events": drained,
        "batch_size": BATCH_SIZE,
        "statements_per_event": statements / drained,
        "transactions_per_event": commits / drained,
        "ms_per_event": 1000 * wall / drained,
    }


def per_kind(samples: list[Sampled]) -> dict[str, dict[str, Any]]:
    table = {}
    for kind in KINDS:
        mine = [s for s in samples if s.kind == kind]
        if not mine:
            continue
        table[kind] = {
            "count": len(mine),
            "statements_median": statistics.median(s.statements for s in mine),
            "statements_min": min(s.statements for s in mine),
            "statements_max": max(s.statements for s in mine),
            "savepoints_median": statistics.median(s.savepoints for s in mine),
            "wall_ms_median": statistics.median(s.wall_ms for s in mine),
            "sql_ms_median": statistics.median(s.sql_ms for s in mine),
            "outcomes": dict(Counter(str(s.outcome) for s in mine)),
        }
    return table


# --- main ------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="200 events, 3 s baselines, 10 samples per kind (~1.5 min)"
    )
    parser.add_argument("--events", type=int, help="stored deliveries (default 600; --quick 200)")
    parser.add_argument("--signals", type=int, default=4, help="drain signals published at the start (default 4)")
    parser.add_argument("--duration", type=int, help="seconds of each posting baseline (default 5; --quick 3)")
    parser.add_argument("--warmup", type=int, help="accepted for bench/run.py; the drains have no warm-up")
    parser.add_argument("--rounds", type=int, default=1, help="1-worker/2-worker pairs, alternating order (default 1)")
    parser.add_argument("--sample", type=int, help="events per kind counted in process (default 20; --quick 10)")
    parser.add_argument("--diagnose", action="store_true", help="also print the statements of one event per kind")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the in-process drain of the whole stream into FILE")
    parser.add_argument("--keep-db", action="store_true", help="leave the two bench databases in place afterwards")
    args = parser.parse_args(argv)
    events = args.events or (200 if args.quick else 600)
    duration = args.duration or (3 if args.quick else 5)
    per_kind_sample = args.sample or (10 if args.quick else 20)
    assert 60 <= events <= 20_000 and 1 <= duration <= 120 and 1 <= args.rounds <= 10 and 1 <= args.signals <= 64

    started = time.monotonic()
    stored = generate(events)
    kinds = Counter(s.kind for s in stored)
    shoppers = {s.order.shopper for s in stored}
    guests = sum(1 for x in shoppers if x.startswith("g"))
    print(
        f"processing: {events} deliveries ({kinds['earn']} earns, {kinds['refund']} partial refunds, "
        f"{kinds['cancel']} cancels) for {len(shoppers)} shoppers ({guests} guests); {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    _django()
    rounds: list[dict[str, Any]] = []
    awards_seen: dict[str, tuple[int, str]] | None = None
    try:
        install_id = build_template(stored)
        print(f"processing: database ready [{time.monotonic() - started:.0f} s]", flush=True)
        with tempfile.TemporaryDirectory(prefix="loyalty-bench-processing-") as tmp:
            for r in range(args.rounds):
                entry: dict[str, Any] = {}
                for workers in (1, 2) if r % 2 == 0 else (2, 1):  # alternating, as the other benchmarks' rounds
                    reset_database()
                    base = posting_baseline(install_id, stored, duration, f"base{r}-{workers}")
                    reset_database()
                    timeout = max(120.0, events / 2)
                    result = drain(workers, events, args.signals, Path(tmp) / f"worker-{r}-{workers}.log", timeout)
                    awards = check(install_id, stored, result)
                    if awards_seen is not None and awards != awards_seen:
                        raise SystemExit("processing check FAILED: the drains left different awards")
                    awards_seen = awards
                    per_worker = common.ratio(result.rate / workers, base.rate)
                    entry[f"w{workers}"] = {"drain": asdict(result), "posting": asdict(base), "ratio": per_worker}
                    print(
                        f"processing round {r + 1}, {workers} worker process(es): {result.rate:6.1f} events/s "
                        f"({events} in {result.seconds:.1f} s; "
                        f"worker CPU {result.worker_cpu_ms_per_event:.1f} ms/event, "
                        f"machine CPU {100 * result.machine_cpu_busy:.0f}% busy, load average "
                        f"{result.load_average[0]:.1f} -> {result.load_average[1]:.1f})\n"
                        f"  bare posting of the same earns: {base.rate:6.0f} postings/s ({base.postings} in "
                        f"{base.seconds:.1f} s)  -> processing per worker / posting: {per_worker:.3f}\n"
                        f"  queued by processing, run after the last event settled: {result.queued_after} "
                        f"(all done {result.seconds_with_queued:.1f} s after the first signal)\n"
                        f"  checks passed: {result.statuses}, {result.awards} awards as expected, ledger sound"
                        f" [{time.monotonic() - started:.0f} s]",
                        flush=True,
                    )
                entry["speedup"] = common.ratio(entry["w2"]["drain"]["rate"], entry["w1"]["drain"]["rate"])
                print(f"  2 workers / 1 worker: {entry['speedup']:.3f}x ({os.cpu_count()} CPUs)", flush=True)
                rounds.append(entry)

        reset_database()
        subset = sample_subset(stored, per_kind_sample)
        samples = in_process(stored, subset)
        reset_database()
        batched = drained_in_process()
        print(
            f"in process, the whole stream drained in batches of {batched['batch_size']}: "
            f"{batched['statements_per_event']:.2f} statements and {batched['transactions_per_event']:.3f} "
            f"transactions per event, {batched['ms_per_event']:.1f} ms/event",
            flush=True,
        )
        table = per_kind(samples)
        print(f"in process ({len(subset)} events of the stream, one connection, no Celery):", flush=True)
        for kind, t in table.items():
            print(
                f"  {kind:<15} n={t['count']:<3} statements median {t['statements_median']:>4} "
                f"(min {t['statements_min']}, max {t['statements_max']}; {t['savepoints_median']} savepoint statements)"
                f"  {t['wall_ms_median']:6.1f} ms/event, of it SQL {t['sql_ms_median']:5.1f} ms  {t['outcomes']}",
                flush=True,
            )
        if args.diagnose:
            for kind in KINDS:
                example = next((s for s in samples if s.kind == kind), None)
                if example is not None:
                    print(f"statements of one {kind} ({example.statements}):", flush=True)
                    for sql in example.sql:
                        print(f"    {sql}", flush=True)
        if args.profile:
            reset_database()
            from saleor_loyalty.webhooks.tasks import drain_inbox

            profile = cProfile.Profile()
            profile.enable()
            drain_inbox.run()  # unwatched, as a worker runs it (statements prepared, writes sent behind)
            profile.disable()
            profile.dump_stats(args.profile)
            text = io.StringIO()
            stats = pstats.Stats(profile, stream=text).strip_dirs()
            stats.sort_stats("cumulative").print_stats(40)
            stats.sort_stats("tottime").print_stats(25)
            print(
                f"cProfile of the whole stream drained in process (saved to {args.profile}):\n{text.getvalue()}",
                flush=True,
            )
    finally:
        if not args.keep_db:
            drop_all()
        else:
            _close_django()
        redis.Redis.from_url(REDIS_URL).flushdb()

    rate1 = common.median([r["w1"]["drain"]["rate"] for r in rounds])
    rate2 = common.median([r["w2"]["drain"]["rate"] for r in rounds])
    posting = common.median([r[w]["posting"]["rate"] for r in rounds for w in ("w1", "w2")])
    ratio1 = common.median([r["w1"]["ratio"] for r in rounds])
    ratio2 = common.median([r["w2"]["ratio"] for r in rounds])
    speedup = common.median([r["speedup"] for r in rounds])
    earn_counts = [x.statements for x in samples if x.kind in EARN_KINDS]
    plain_earn = statistics.median(earn_counts) if earn_counts else float("nan")
    met = {
        "per_worker_1": ratio1 >= TARGET_PER_WORKER,
        "per_worker_2": ratio2 >= TARGET_PER_WORKER,
        "speedup": speedup >= TARGET_SPEEDUP,
        "earn_statements": plain_earn <= TARGET_EARN_STATEMENTS,
    }
    summary = {
        "benchmark": "processing",
        "unit": "events/s per worker vs postings/s",
        "app": rate1,
        "app_2_workers": rate2,
        "baseline": posting,
        "ratio": ratio1,
        "ratio_2_workers": ratio2,
        "target": TARGET_PER_WORKER,
        "speedup": speedup,
        "speedup_target": TARGET_SPEEDUP,
        "cpu_count": os.cpu_count(),
        "earn_statements": plain_earn,
        "earn_statements_target": TARGET_EARN_STATEMENTS,
        "statements": table,
        "drain_statements_per_event": batched["statements_per_event"],
        "drain_transactions_per_event": batched["transactions_per_event"],
        "targets_met": met,
        "met": all(met.values()),
        "valid": True,  # a failed check exits before this line
        "events": events,
        "rounds": rounds,
    }
    print(
        f"processing: 1 worker {rate1:.1f} events/s, 2 workers {rate2:.1f} events/s ({speedup:.3f}x on "
        f"{os.cpu_count()} CPUs, target ≥ {TARGET_SPEEDUP} {common.verdict(speedup, TARGET_SPEEDUP)}); bare posting "
        f"{posting:.0f}/s: per worker {ratio1:.3f} / {ratio2:.3f} (target ≥ {TARGET_PER_WORKER} "
        f"{common.verdict(min(ratio1, ratio2), TARGET_PER_WORKER)}); SQL statements per earn {plain_earn} "
        f"(median, target ≤ {TARGET_EARN_STATEMENTS} "
        f"{'MET' if met['earn_statements'] else 'MISSED'})  [{time.monotonic() - started:.0f} s]",
        flush=True,
    )
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    main()
