"""Balance query latency with 100k members and 2M transfers: the storefront's ``me { balance }`` end to end.

What is measured: the storefront GraphQL query ``{ me { balance { available pending held owed net lifetime } } }``
sent through the whole Django app in this process — ``saleor_loyalty.wsgi``'s WSGI handler called directly with a
``POST /graphql/`` environ, so middleware, URL routing, the view, graphene and the ORM all run as under gunicorn,
only the socket is missing — one request at a time, each for a random member, each with that member's own
shopper token (RS256, verified for real against the JWKS on the one ``Install`` row). Latency is p50/p99/mean
per request.

The data: after ``migrate``, one install, 100,000 members, their 3 points accounts each (running totals
consistent with their transfers), about 20 transfers per member (2,000,000 in all: earns into the return window,
unlocks, redemption holds and captures, a few open holds, expiries, some debts) with the lots and lot movements
they imply, all written with PostgreSQL ``COPY`` (psycopg 3 ``cursor.copy``) straight into the app's tables,
then checked (running totals against transfers, lots against balances) and ``VACUUM ANALYZE``d.

The baseline, measured in the same run over the same random members: the bare SQL a balance needs,
``SELECT ... FROM ledger_account WHERE member_id = %s`` on a plain psycopg connection. The figure is app p50 ÷
baseline p50 (how many times slower than the SQL alone); there is no target, it is reported as measured.
``--diagnose`` adds a per-stage breakdown (token check, member lookup, ``member_balances``, GraphQL parse and
validate), the SQL statements per request, and a cProfile of the app side.

Run: ``python -m bench.balance_query`` (``--help`` for members, transfers, requests, rounds).
"""

import argparse
import base64
import cProfile
import io
import json
import os
import pstats
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bench import common

API_URL = "https://bench-shop.example/graphql/"
KID = "bench-shopper-key-1"
QUERY = "{ me { balance { available pending held owed net lifetime } } }"
BASELINE_SQL = (
    "SELECT code, debits_pending, debits_posted, credits_posted FROM ledger_account "
    "WHERE member_id = %s AND unit = 'PTS'"
)
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RETURN_WINDOW = timedelta(days=14)
EXPIRY = timedelta(days=365)
HISTORY_DAYS = 730
CHUNK_MEMBERS = 5000  # members generated (and COPYed) per batch
MAX_REQUESTS = 100_000  # the count bound on every loop (the time bound is --duration)
PROGRAM_CODES = ("issued", "redeemed", "expired", "clawed_back", "written_off")


def _gid(kind: str, value: object) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _ts(moment: datetime) -> str:
    return moment.isoformat()


# --- data --------------------------------------------------------------------------------------------------------


@dataclass
class Expected:
    """A member's balance as the generator built it (what the API must answer)."""

    available: int = 0
    pending: int = 0
    held: int = 0
    owed: int = 0
    lifetime: int = 0

    def as_api(self) -> dict[str, int]:
        return {
            "available": self.available,
            "pending": self.pending,
            "held": self.held,
            "owed": self.owed,
            "net": self.available - self.owed,
            "lifetime": self.lifetime,
        }


@dataclass
class Ids:
    transfer: int = 0
    lot: int = 0
    movement: int = 0
    redemption: int = 0


@dataclass
class Batch:
    """COPY text lines (tab-separated, ``\\N`` for NULL) per table for one chunk of members."""

    members: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    lots: list[str] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    movements: list[str] = field(default_factory=list)


COLUMNS = {
    "members_member": "id, install_id, saleor_user_id, email, merged_into_id, earn_accrual, carry_points, "
    "lifetime_points, created_at, updated_at",
    "ledger_account": "id, install_id, member_id, code, unit, no_overdraft, tracks_balance, debits_pending, "
    "debits_posted, credits_pending, credits_posted, created_at",
    "ledger_lot": "id, install_id, member_id, account_id, points, remaining, source, order_id, order_line_id, rule, "
    "earned_at, unlocks_at, unlocked_at, expires_at",
    "ledger_transfer": "id, install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id, amount, "
    "unit, pending_id, reverses_id, member_id, order_id, lot_id, memo, created_at",
    "ledger_lot_movement": "id, transfer_id, lot_id, delta",
}
BATCH_TABLES = (
    ("members_member", "members"),
    ("ledger_account", "accounts"),
    ("ledger_lot", "lots"),
    ("ledger_transfer", "transfers"),
    ("ledger_lot_movement", "movements"),
)
N = "\\N"
RULE = json.dumps(
    {
        "rule_id": None,
        "currency": "USD",
        "points_per_unit": "1",
        "include_tax": False,
        "include_shipping": False,
        "min_order_amount": "0",
        "multipliers": {},
    }
)


class Generator:
    """One member at a time: a timeline of orders, unlocks, redemptions, expiries and debts, and its rows.

    Member ``i`` (0-based) has id ``i + 1`` and accounts ``base + 3i`` (points), ``+1`` (pending), ``+2`` (debt);
    the program accounts are ids 1-5. Lots are consumed soonest-expiry first, as ``ledger.lots.consume`` does.
    """

    def __init__(self, install_id: int, orders: tuple[int, int], seed: int) -> None:
        self.install_id = install_id
        self.orders = orders
        self.rng = random.Random(seed)
        self.ids = Ids()
        self.program = {code: n + 1 for n, code in enumerate(PROGRAM_CODES)}
        self.account_base = len(PROGRAM_CODES) + 1

    def program_accounts(self) -> list[str]:
        created = _ts(NOW - timedelta(days=HISTORY_DAYS + 30))
        return [
            f"{pk}\t{self.install_id}\t{N}\t{code}\tPTS\tf\tf\t0\t0\t0\t0\t{created}\n"
            for code, pk in self.program.items()
        ]

    def member(self, i: int, batch: Batch) -> Expected:
        rng, ids, inst = self.rng, self.ids, self.install_id
        member_id = i + 1
        points_acc = self.account_base + 3 * i
        pending_acc, debt_acc = points_acc + 1, points_acc + 2
        issued, redeemed, expired, clawed = (self.program[c] for c in ("issued", "redeemed", "expired", "clawed_back"))
        transfers, movements = batch.transfers, batch.movements

        def transfer(
            key: str,
            kind: str,
            phase: str,
            debit: int,
            credit: int,
            amount: int,
            at: datetime,
            *,
            pending_id: int | None = None,
            order_id: str | None = None,
            lot_id: int | None = None,
            memo: str = "{}",
        ) -> int:
            ids.transfer += 1
            transfers.append(
                f"{ids.transfer}\t{inst}\t{key}\t{kind}\t{phase}\t{debit}\t{credit}\t{amount}\tPTS\t"
                f"{pending_id or N}\t{N}\t{member_id}\t{order_id or N}\t{lot_id or N}\t{memo}\t{_ts(at)}\n"
            )
            return ids.transfer

        # Lot state: [id, points, remaining, earned, unlocked (datetime or None), expires, order_id, unlocks]
        lots: list[list[Any]] = []
        exp = Expected()
        points_credits = points_debits = held = pending_credits = pending_debits = owed = 0

        def consume(amount: int, transfer_id: int) -> None:
            left = amount
            for lot in sorted((x for x in lots if x[4] is not None and x[2] > 0), key=lambda x: (x[5], x[0])):
                take = min(left, lot[2])
                lot[2] -= take
                ids.movement += 1
                movements.append(f"{ids.movement}\t{transfer_id}\t{lot[0]}\t{-take}\n")
                left -= take
                if left == 0:
                    return
            raise AssertionError("generator consumed more than the lots hold")

        def available() -> int:
            return points_credits - points_debits - held

        start = NOW - timedelta(days=HISTORY_DAYS)
        order_times = sorted(
            start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400)) for _ in range(rng.randint(*self.orders))
        )
        events: list[tuple[datetime, int, str, Any]] = []
        for n, at in enumerate(order_times):
            events.append((at, 0, "earn", n))
            if at + RETURN_WINDOW <= NOW:
                events.append((at + RETURN_WINDOW, 1, "unlock", n))
            if at + EXPIRY <= NOW:
                events.append((at + EXPIRY, 2, "expire", n))
        for _ in range(rng.randint(0, 4)):
            events.append((start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400)), 3, "redeem", None))
        if rng.random() < 0.10:
            events.append((NOW - timedelta(minutes=rng.randint(1, 50)), 4, "hold", None))
        if rng.random() < 0.05:
            events.append((start + timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400)), 5, "debt", None))
        events.sort(key=lambda e: (e[0], e[1]))

        for at, _, what, arg in events:
            if what == "earn":
                points = rng.randint(20, 400)
                order_id = _gid("Order", uuid.UUID(int=member_id * 100 + arg))
                ids.lot += 1
                lot: list[Any] = [ids.lot, points, points, at, None, at + EXPIRY, order_id, at + RETURN_WINDOW]
                lots.append(lot)
                transfer(
                    f"order:{order_id}:r1",
                    "earn",
                    "posted",
                    issued,
                    pending_acc,
                    points,
                    at,
                    order_id=order_id,
                    lot_id=lot[0],
                    memo='{"source": "order"}',
                )
                pending_credits += points
                exp.lifetime += points
            elif what == "unlock":
                lot = lots[arg]
                transfer(
                    f"unlock:lot:{lot[0]}",
                    "unlock",
                    "posted",
                    pending_acc,
                    points_acc,
                    lot[2],
                    at,
                    order_id=lot[6],
                    lot_id=lot[0],
                )
                pending_debits += lot[2]
                points_credits += lot[2]
                lot[4] = at
            elif what == "expire":
                lot = lots[arg]
                if lot[4] is not None and lot[2] > 0:
                    tid = transfer(f"expire:lot:{lot[0]}", "expire", "posted", points_acc, expired, lot[2], at)
                    ids.movement += 1
                    movements.append(f"{ids.movement}\t{tid}\t{lot[0]}\t{-lot[2]}\n")
                    points_debits += lot[2]
                    lot[2] = 0
            elif what in ("redeem", "hold"):
                amount = min(available(), rng.randint(1, 10) * 100)
                if amount < 100:
                    continue
                ids.redemption += 1
                checkout = _gid("Checkout", uuid.UUID(int=10**12 + ids.redemption))
                key = f"redemption:{ids.redemption}"
                hold_id = transfer(
                    f"{key}:hold",
                    "redeem",
                    "pending",
                    points_acc,
                    redeemed,
                    amount,
                    at,
                    memo=json.dumps({"checkout_id": checkout}),
                )
                consume(amount, hold_id)
                if what == "hold":
                    held += amount
                else:
                    transfer(
                        f"{key}:capture",
                        "redeem",
                        "post_pending",
                        points_acc,
                        redeemed,
                        amount,
                        at + timedelta(minutes=rng.randint(2, 30)),
                        pending_id=hold_id,
                    )
                    points_debits += amount
            else:  # debt: points clawed back after they were spent
                owed = rng.randint(5, 30) * 10
                refunded = _gid("Order", uuid.UUID(int=member_id))
                transfer(f"order:{refunded}:r2:shortfall", "debt", "posted", debt_acc, clawed, owed, at)

        exp.available, exp.held, exp.owed = available(), held, owed
        exp.pending = pending_credits - pending_debits
        joined = _ts(order_times[0] - timedelta(days=rng.randint(0, 60)))
        batch.members.append(
            f"{member_id}\t{inst}\t{_gid('User', member_id)}\tshopper{member_id}@example.com\t{N}\t0\t0\t"
            f"{exp.lifetime}\t{joined}\t{_ts(NOW)}\n"
        )
        for pk, code, no_overdraft, totals in (
            (points_acc, "points", "t", (held, points_debits, 0, points_credits)),
            (pending_acc, "points_pending", "t", (0, pending_debits, 0, pending_credits)),
            (debt_acc, "points_debt", "f", (0, owed, 0, 0)),
        ):
            batch.accounts.append(
                f"{pk}\t{inst}\t{member_id}\t{code}\tPTS\t{no_overdraft}\tt\t{totals[0]}\t{totals[1]}\t{totals[2]}\t"
                f"{totals[3]}\t{joined}\n"
            )
        for lot_id, points, remaining, earned, unlocked, expires, order_id, unlocks in lots:
            account = points_acc if unlocked is not None else pending_acc
            batch.lots.append(
                f"{lot_id}\t{inst}\t{member_id}\t{account}\t{points}\t{remaining}\torder\t{order_id}\t{N}\t{RULE}\t"
                f"{_ts(earned)}\t{_ts(unlocks)}\t{_ts(unlocked) if unlocked else N}\t{_ts(expires)}\n"
            )
        return exp


@dataclass
class Loaded:
    install_id: int
    members: int
    transfers: int
    lots: int
    movements: int
    load_seconds: float  # generating and COPYing, overlapped
    copy_seconds: float  # the COPY thread's share
    index_seconds: float  # building the plain indexes again after the load (part of load_seconds)
    check_seconds: float
    analyze_seconds: float
    expected: list[Expected]


def load(install_id: int, members: int, orders: tuple[int, int], seed: int) -> Loaded:
    """Generate and COPY the members, accounts, lots, transfers and lot movements; check them; VACUUM ANALYZE."""
    gen = Generator(install_id, orders, seed)
    expected: list[Expected] = []
    batches: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
    copy_seconds = [0.0]
    index_seconds = [0.0]
    done = [False]
    failed: list[BaseException] = []

    def writer() -> None:
        # COPY in its own thread: psycopg releases the GIL while the server works, so generating the next chunk
        # overlaps PostgreSQL ingesting this one.
        try:
            with common.bench_connection() as conn:
                # Foreign keys are enforced by triggers; replica mode skips them for the bulk load (the generator
                # writes only consistent references, and check() verifies what balances depend on afterwards).
                conn.execute("SET session_replication_role = replica")
                conn.execute("SET synchronous_commit = off")
                conn.execute("SET maintenance_work_mem = '256MB'")
                # Plain (non-constraint) indexes are dropped for the load and built again afterwards: one sort
                # per index is several times faster than maintaining seven B-trees row by row.
                indexes = conn.execute(_PLAIN_INDEXES, (list(COLUMNS),)).fetchall()
                for name, _ in indexes:
                    conn.execute(f"DROP INDEX {name}")
                cur = conn.cursor()
                with cur.copy(f"COPY ledger_account ({COLUMNS['ledger_account']}) FROM STDIN") as cp:
                    cp.write("".join(gen.program_accounts()))
                while (batch := batches.get()) is not None:
                    t0 = time.perf_counter()
                    for table, attr in BATCH_TABLES:
                        with cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as cp:
                            cp.write("".join(getattr(batch, attr)))
                    copy_seconds[0] += time.perf_counter() - t0
                done[0] = True
                t0 = time.perf_counter()
                for _, definition in indexes:
                    conn.execute(definition)
                index_seconds[0] = time.perf_counter() - t0
                for table in COLUMNS:
                    conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
        except BaseException as exc:  # reported by the generating thread
            failed.append(exc)
            while not done[0] and batches.get() is not None:  # drain, so the producer never blocks
                pass

    thread = threading.Thread(target=writer, name="copy-writer")
    thread.start()
    began = time.perf_counter()
    try:
        for first in range(0, members, CHUNK_MEMBERS):
            batch = Batch()
            for i in range(first, min(members, first + CHUNK_MEMBERS)):
                expected.append(gen.member(i, batch))
            batches.put(batch)
    finally:
        batches.put(None)
        thread.join(timeout=1800)
    load_seconds = time.perf_counter() - began
    if failed:
        raise failed[0]
    t0 = time.perf_counter()
    check(install_id, members, gen.ids)
    t1 = time.perf_counter()
    with common.bench_connection() as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for table in COLUMNS:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    t2 = time.perf_counter()
    return Loaded(
        install_id=install_id,
        members=members,
        transfers=gen.ids.transfer,
        lots=gen.ids.lot,
        movements=gen.ids.movement,
        load_seconds=load_seconds,
        copy_seconds=copy_seconds[0],
        index_seconds=index_seconds[0],
        check_seconds=t1 - t0,
        analyze_seconds=t2 - t1,
        expected=expected,
    )


_PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""
_CHECK_TOTALS = """
WITH moves AS (
    SELECT t.debit_account_id AS account_id,
           CASE WHEN t.phase IN ('posted', 'post_pending') THEN t.amount ELSE 0 END AS debits_posted,
           0::bigint AS credits_posted,
           CASE WHEN t.phase = 'pending' AND NOT EXISTS (
               SELECT 1 FROM ledger_transfer r
               WHERE r.pending_id = t.id AND r.phase IN ('post_pending', 'void_pending')
           ) THEN t.amount ELSE 0 END AS debits_pending
    FROM ledger_transfer t
    UNION ALL
    SELECT credit_account_id, 0, CASE WHEN phase IN ('posted', 'post_pending') THEN amount ELSE 0 END, 0
    FROM ledger_transfer
), sums AS (
    SELECT account_id, sum(debits_posted) AS dp, sum(credits_posted) AS cp, sum(debits_pending) AS dpe
    FROM moves GROUP BY account_id
)
SELECT count(*) FROM ledger_account a LEFT JOIN sums s ON s.account_id = a.id
WHERE a.tracks_balance AND (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending)
      IS DISTINCT FROM (coalesce(s.dp, 0), coalesce(s.cp, 0), coalesce(s.dpe, 0), 0::bigint)
"""
_CHECK_LOTS = """
SELECT count(*) FROM ledger_account a
LEFT JOIN (SELECT account_id, sum(remaining) AS r FROM ledger_lot GROUP BY account_id) l ON l.account_id = a.id
WHERE a.member_id IS NOT NULL AND a.code <> 'points_debt'
  AND coalesce(l.r, 0) <> a.credits_posted - a.debits_posted - a.debits_pending
"""
_CHECK_MOVEMENTS = """
SELECT count(*) FROM ledger_lot l
LEFT JOIN (SELECT lot_id, sum(delta) AS d FROM ledger_lot_movement GROUP BY lot_id) m ON m.lot_id = l.id
WHERE l.points + coalesce(m.d, 0) <> l.remaining
"""
_CHECK_LIFETIME = """
SELECT count(*) FROM members_member m
LEFT JOIN (SELECT member_id, sum(amount) AS s FROM ledger_transfer WHERE kind = 'earn' GROUP BY member_id) e
       ON e.member_id = m.id
WHERE m.lifetime_points <> coalesce(e.s, 0)
"""


def check(install_id: int, members: int, ids: Ids) -> None:
    """The loaded ledger is sound: running totals match the transfers, lots match balances and their movements."""
    with common.bench_connection() as conn:
        conn.execute("SET work_mem = '64MB'")
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone() for table in COLUMNS}
        problems = {
            name: (conn.execute(sql).fetchone() or [None])[0]
            for name, sql in (
                ("account totals vs transfers", _CHECK_TOTALS),
                ("lots vs balances", _CHECK_LOTS),
                ("lots vs movements", _CHECK_MOVEMENTS),
                ("lifetime vs earns", _CHECK_LIFETIME),
            )
        }
    want = {
        "members_member": members,
        "ledger_account": 3 * members + len(PROGRAM_CODES),
        "ledger_lot": ids.lot,
        "ledger_transfer": ids.transfer,
        "ledger_lot_movement": ids.movement,
    }
    got = {table: int(row[0]) if row else -1 for table, row in counts.items()}
    if got != want or any(problems.values()):
        raise SystemExit(f"data check FAILED: rows {got} (expected {want}), mismatching rows {problems}")


# --- the app, in this process -------------------------------------------------------------------------------------


def _django() -> None:
    """Configure Django in this process for the app, pointed at the bench database."""
    os.environ.update(common.app_env())
    import django

    django.setup()


def create_install(jwks: dict[str, Any]) -> int:
    from django.db import connections

    from saleor_loyalty.installs.models import Install

    install = Install(saleor_api_url=API_URL, app_id="QXBwOjE=", saleor_domain="bench-shop.example", jwks=jwks)
    install.set_auth_token("bench-token")
    install.save()
    connections.close_all()
    return int(install.pk)


def public_jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


def shopper_token(key: rsa.RSAPrivateKey, member_id: int, lifetime: int) -> str:
    """An access token as Saleor's ``tokenCreate`` issues it (claims as in tests/saleor_harness/signing.py)."""
    now = int(time.time())
    claims = {
        "iat": now,
        "owner": "saleor",
        "iss": API_URL,
        "exp": now + lifetime,
        "token": uuid.uuid4().hex[:12],
        "email": f"shopper{member_id}@example.com",
        "type": "access",
        "user_id": _gid("User", member_id),
        "is_staff": False,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


class App(common.WsgiClient):
    """Calls the app's WSGI handler as gunicorn would, for ``POST /graphql/``."""

    def __init__(self) -> None:
        super().__init__("/graphql/")
        self.body = json.dumps({"query": QUERY}).encode()

    def request(self, token: str) -> tuple[str, bytes]:
        return self.post(self.body, token)


# --- measurement -------------------------------------------------------------------------------------------------


@dataclass
class Latency:
    side: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    wrong: int  # answers that were not 200 with exactly the generated balance
    cpu_ms: float = float("nan")  # this process's CPU time per request (less sensitive to a busy machine)

    def line(self) -> str:
        flag = "" if self.wrong == 0 else f"  <-- INVALID: {self.wrong} wrong answers"
        return (
            f"{self.side:>9}: p50 {self.p50_ms:7.3f} ms  p99 {self.p99_ms:7.3f} ms  mean {self.mean_ms:7.3f} ms  "
            f"cpu {self.cpu_ms:6.3f} ms  ({self.requests} requests in {self.seconds:.1f} s){flag}"
        )


def _summarise(side: str, samples: list[float], elapsed: float, wrong: int, cpu: float) -> Latency:
    ordered = sorted(samples)
    count = len(ordered)
    return Latency(
        side=side,
        requests=count,
        seconds=elapsed,
        **common.latency_ms(ordered),
        wrong=wrong,
        cpu_ms=1000 * cpu / count if count else float("nan"),
    )


@dataclass
class Fixture:
    members: list[int]  # sampled member ids, each with a token
    tokens: dict[int, str]
    expected: dict[int, dict[str, int]]


def _bounded(sequence: Sequence[int], seconds: float) -> Iterator[int]:
    deadline = time.perf_counter() + seconds
    for n, member_id in enumerate(sequence):
        if n >= MAX_REQUESTS or time.perf_counter() >= deadline:
            return
        yield member_id


def run_app(app: App, fixture: Fixture, sequence: Sequence[int], seconds: float) -> Latency:
    samples: list[float] = []
    answers: list[tuple[int, str, bytes]] = []
    began, cpu = time.perf_counter(), time.process_time()
    for member_id in _bounded(sequence, seconds):
        token = fixture.tokens[member_id]
        t0 = time.perf_counter()
        status, body = app.request(token)
        samples.append(time.perf_counter() - t0)
        answers.append((member_id, status, body))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    wrong = 0
    for member_id, status, body in answers:
        try:
            balance = json.loads(body)["data"]["me"]["balance"]
        except (ValueError, KeyError, TypeError):
            balance = None
        wrong += status != "200 OK" or balance != fixture.expected[member_id]
    return _summarise("app", samples, elapsed, wrong, cpu)


def run_sql(conn: Any, fixture: Fixture, sequence: Sequence[int], seconds: float) -> Latency:
    """The baseline: the balance's one SELECT on plain psycopg (prepared after 5 uses, psycopg's default)."""
    samples: list[float] = []
    answers: list[tuple[int, dict[str, int]]] = []
    began, cpu = time.perf_counter(), time.process_time()
    for member_id in _bounded(sequence, seconds):
        t0 = time.perf_counter()
        rows = {row[0]: row for row in conn.execute(BASELINE_SQL, (member_id,)).fetchall()}
        points, pending, debt = rows["points"], rows["points_pending"], rows["points_debt"]
        available = points[3] - points[2] - points[1]
        owed = debt[2] - debt[3]
        balance = {
            "available": available,
            "pending": pending[3] - pending[2] - pending[1],
            "held": points[1],
            "owed": owed,
            "net": available - owed,
        }
        samples.append(time.perf_counter() - t0)
        answers.append((member_id, balance))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    wrong = 0
    for member_id, balance in answers:
        want = dict(fixture.expected[member_id])
        want.pop("lifetime")  # on members_member, not in ledger_account: the app reads it, the baseline does not
        wrong += balance != want
    return _summarise("bare SQL", samples, elapsed, wrong, cpu)


# --- diagnostics -------------------------------------------------------------------------------------------------


def diagnose(app: App, fixture: Fixture, sample: Sequence[int]) -> dict[str, Any]:
    """Where a request's time goes: each stage alone (p50 over ``sample``), SQL per request, and a cProfile."""
    import graphql
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saleor_loyalty.api.schema import schema
    from saleor_loyalty.ledger.queries import member_balances
    from saleor_loyalty.members.actions import member_for_user
    from saleor_loyalty.saleor.tokens import verify_shopper_token

    def p50(fn: Callable[[int], object]) -> float:
        samples = []
        for member_id in sample:
            t0 = time.perf_counter()
            fn(member_id)
            samples.append(time.perf_counter() - t0)
        return 1000 * sorted(samples)[len(samples) // 2]

    shoppers = {m: verify_shopper_token(fixture.tokens[m]) for m in sample}
    members = {m: member_for_user(shoppers[m].install, shoppers[m].user_id, shoppers[m].email) for m in sample}
    graphql_schema = schema.graphql_schema
    stages = {
        "whole request (WSGI)": p50(lambda m: app.request(fixture.tokens[m])),
        "token check (verify_shopper_token)": p50(lambda m: verify_shopper_token(fixture.tokens[m])),
        "member lookup (member_for_user)": p50(
            lambda m: member_for_user(shoppers[m].install, shoppers[m].user_id, shoppers[m].email)
        ),
        "member_balances(member)": p50(lambda m: member_balances(members[m])),
        "GraphQL parse + validate": p50(lambda m: graphql.validate(graphql_schema, graphql.parse(QUERY))),
    }
    with CaptureQueriesContext(connection) as queries:
        app.request(fixture.tokens[sample[0]])
    statements = [q["sql"] for q in queries.captured_queries]
    in_sql: list[float] = []

    def timed_sql(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[-1] += time.perf_counter() - t0

    with connection.execute_wrapper(timed_sql):
        for member_id in sample:
            in_sql.append(0.0)
            app.request(fixture.tokens[member_id])
    stages[f"of which in SQL ({len(statements)} statements)"] = 1000 * sorted(in_sql)[len(in_sql) // 2]

    profiler = cProfile.Profile()
    profiler.enable()
    for member_id in sample:
        app.request(fixture.tokens[member_id])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(28)
    stats.sort_stats("tottime").print_stats(15)
    print("  stages (p50 ms, each measured alone over the same members):", flush=True)
    for name, value in stages.items():
        print(f"    {name:<40}{value:8.3f}", flush=True)
    print(f"  SQL statements per request: {len(statements)}", flush=True)
    for sql in statements:
        print(f"    {sql[:160]}", flush=True)
    print(f"  cProfile over {len(sample)} requests (cumulative, then own time):", flush=True)
    print("\n".join("    " + line for line in out.getvalue().splitlines() if line.strip()), flush=True)
    return {"stages_p50_ms": stages, "sql_per_request": len(statements), "sql": statements}


# --- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000, help="members to generate (default 100,000)")
    parser.add_argument(
        "--orders", type=int, nargs=2, default=(6, 10), metavar=("MIN", "MAX"), help="orders per member (default 6 10)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per side per round")
    parser.add_argument("--sampled", type=int, default=3000, help="random members given a token (default 3,000)")
    parser.add_argument("--duration", type=int, default=15, help="time bound per measured side, seconds (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per side (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/app pairs, alternating order (default 2)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--diagnose", action="store_true", help="also break a request down by stage and profile it")
    parser.add_argument("--keep-db", action="store_true", help="leave loyalty_bench in place afterwards")
    args = parser.parse_args(argv)
    assert 1 <= args.duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 10
    assert 100 <= args.members <= 1_000_000 and 1 <= args.orders[0] <= args.orders[1] <= 50
    assert 10 <= args.requests <= MAX_REQUESTS and 10 <= args.sampled <= min(args.members, 20_000)

    started = time.monotonic()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    common.create_database()
    rounds: list[dict[str, Any]] = []
    diagnostics: dict[str, Any] | None = None
    try:
        common.migrate()
        _django()
        install_id = create_install(public_jwks(key))
        loaded = load(install_id, args.members, (args.orders[0], args.orders[1]), args.seed)
        print(
            f"balance: loaded {loaded.members:,} members, {loaded.transfers:,} transfers, {loaded.lots:,} lots, "
            f"{loaded.movements:,} lot movements with COPY in {loaded.load_seconds:.1f} s "
            f"(COPY thread busy {loaded.copy_seconds:.1f} s, then indexes "
            f"built in {loaded.index_seconds:.1f} s), checked in {loaded.check_seconds:.1f} s, "
            f"VACUUM ANALYZE {loaded.analyze_seconds:.1f} s",
            flush=True,
        )
        rng = random.Random(args.seed + 1)
        sampled = rng.sample(range(1, args.members + 1), args.sampled)
        lifetime = 3600  # Saleor's default is 5 minutes; an hour keeps a slow run's tokens valid
        fixture = Fixture(
            members=sampled,
            tokens={m: shopper_token(key, m, lifetime) for m in sampled},
            expected={m: loaded.expected[m - 1].as_api() for m in sampled},
        )
        loaded.expected = []
        app = App()
        with common.bench_connection() as conn:
            # cache-warm: every sampled member once through the bare SQL (database pages) and the app
            run_sql(conn, fixture, sampled, 120)
            warm = run_app(app, fixture, sampled, max(args.warmup, 1) * 2)
            print(f"balance: warmed up ({warm.requests} app requests, {warm.wrong} wrong)", flush=True)
            for r in range(args.rounds):
                sequence = [rng.choice(sampled) for _ in range(args.requests)]
                sides = ("sql", "app") if r % 2 == 0 else ("app", "sql")
                got: dict[str, Latency] = {}
                for side in sides:
                    if side == "app":
                        run_app(app, fixture, sampled, args.warmup)
                        got[side] = run_app(app, fixture, sequence, args.duration)
                    else:
                        run_sql(conn, fixture, sampled, args.warmup)
                        got[side] = run_sql(conn, fixture, sequence, args.duration)
                a, b = got["app"], got["sql"]
                entry: dict[str, Any] = {
                    "app": asdict(a),
                    "baseline": asdict(b),
                    "ratio": common.ratio(a.p50_ms, b.p50_ms),
                    "ratio_p99": common.ratio(a.p99_ms, b.p99_ms),
                    "ratio_mean": common.ratio(a.mean_ms, b.mean_ms),
                }
                print(
                    f"balance round {r + 1}/{args.rounds}:\n  {b.line()}\n  {a.line()}\n"
                    f"  ratio app/SQL: p50 {entry['ratio']:.1f}x, p99 {entry['ratio_p99']:.1f}x, "
                    f"mean {entry['ratio_mean']:.1f}x",
                    flush=True,
                )
                rounds.append(entry)
            if args.diagnose:
                print("balance: diagnostics", flush=True)
                diagnostics = diagnose(app, fixture, sampled[: min(500, len(sampled))])
    finally:
        common.release_database(keep=args.keep_db)

    value = common.median([r["ratio"] for r in rounds])
    summary: dict[str, Any] = {
        "benchmark": "balance_query",
        "unit": "ms p50 per request",
        "app": common.median([r["app"]["p50_ms"] for r in rounds]),
        "app_p99_ms": common.median([r["app"]["p99_ms"] for r in rounds]),
        "app_mean_ms": common.median([r["app"]["mean_ms"] for r in rounds]),
        "baseline": common.median([r["baseline"]["p50_ms"] for r in rounds]),
        "baseline_p99_ms": common.median([r["baseline"]["p99_ms"] for r in rounds]),
        "baseline_mean_ms": common.median([r["baseline"]["mean_ms"] for r in rounds]),
        "app_cpu_ms": common.median([r["app"]["cpu_ms"] for r in rounds]),
        "baseline_cpu_ms": common.median([r["baseline"]["cpu_ms"] for r in rounds]),
        "ratio": value,
        "ratio_p99": common.median([r["ratio_p99"] for r in rounds]),
        "target": None,
        "met": None,
        "valid": all(r["app"]["wrong"] == 0 and r["baseline"]["wrong"] == 0 for r in rounds),
        "data": {k: v for k, v in asdict(loaded).items() if k != "expected"},
        "rounds": rounds,
    }
    if diagnostics is not None:
        summary["diagnostics"] = diagnostics
    print(
        f"balance: app p50 {summary['app']:.2f} ms, p99 {summary['app_p99_ms']:.2f} ms vs bare SQL p50 "
        f"{summary['baseline']:.3f} ms, p99 {summary['baseline_p99_ms']:.3f} ms: app/SQL {value:.1f}x at p50, "
        f"{summary['ratio_p99']:.1f}x at p99 (no target)  [{time.monotonic() - started:.0f} s]",
        flush=True,
    )
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    main()
