"""The nightly jobs at scale (issue #4): point expiry, the tier review and the birthday bonus at scale.

What is measured, each in this process through the app's own functions on a Django connection:

1. ``program.expiry.expire_points(install, now)`` under the AFTER_EARNING policy — baseline: a plain
   ``UPDATE ledger_lot SET remaining = remaining`` over exactly the lots it expires (same due condition);
2. the tiers nightly task ``tiers.tasks.review_tiers(install_id)`` (the one-statement review, then the effects
   of its changes: upgrade bonus, email, Saleor metadata mirror) — baseline: ``UPDATE tiers_member_tier SET
   updated_at = updated_at`` over every member tier row of the install;
3. ``program.bonuses.give_birthday_bonuses(install, today)`` for one day — baseline: ``UPDATE members_member
   SET updated_at = updated_at`` over exactly the members it awards.

Each round runs the baseline and the job (alternating which goes first) inside a transaction that is rolled back,
so every round starts from the same state; inside that transaction the job runs a second time and must do
nothing (idempotency, asserted). The figure per job is the median over rounds of job time ÷ baseline time (how
many times a plain UPDATE of the same rows the job takes). Then each job runs once more for real (committed),
twice, the second run again asserted to do nothing, and the ledger is checked on a random sample of accounts
(lot sums against balances, running totals against transfers).

The data, after ``migrate``, written with PostgreSQL ``COPY`` (psycopg 3 ``cursor.copy``) straight into the app's
tables: one install; N members (default 200,000 — see below — registered, with emails, birthdays over the year,
``last_activity_at`` over two years); their 3 points accounts with running totals consistent with their
transfers; ~20 transfers per member (EARN from the program's ``issued`` account for orders and bonuses, REDEEM
holds and captures, a few open holds), a lot per EARN (consumed soonest-expiry first by redemptions, with lot
movements), so that Σ lot.remaining = credits_posted − debits_posted − debits_pending per points account; every
10th member has up to 3 whole lots that expired 1–3 days ago (the work for expiry; these members never
redeemed); a ``program_order_award`` per order (spend in USD or EUR, ``first_paid_at`` over two years) for the
tier review. Bronze/Silver/Gold tiers on spend
over a rolling 365 days; members' tiers come from one review run as of a day earlier (its effects marked done),
so the measured review is a real "next night" (the last day's orders, the window moving by a day).

Run: ``python -m bench.nightly`` (``--help``; ``--members 1000000`` for the full scale). Uses its own database
``loyalty_bench_1m``, created at the start and dropped at the end (``--keep-db`` keeps it). The default scale is
200,000 members / ~3.8M transfers (about 4 minutes in all); ``--members 1000000`` gives ~19M transfers, an
estimated 11–14 minutes of generation on the 2-core machine (not run yet: see docs/benchmarks.md).
``bench/run.py`` runs it only with ``--nightly``.
"""

import argparse
import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from bench import common

DB = "loyalty_bench_1m"
DATABASE_URL = f"postgres://{common.PG_USER}@{common.PG_HOST}:{common.PG_PORT}/{DB}"
DAY = 86400
HISTORY_DAYS = 730  # activity spreads over two years; lots expire 730 days after they were earned
EXPIRE_AFTER_DAYS = 730
CHUNK_MEMBERS = 5000
PROGRAM_CODES = ("issued", "redeemed", "expired", "clawed_back", "written_off")
ISSUED, REDEEMED = 1, 2  # program account ids (loaded first, in PROGRAM_CODES order)
BIRTHDAY_POINTS = 100
BUSY_PATTERN = r"bench\.|pgbench|wrk"
N = "\\N"
RULE = (
    '{"rule_id": null, "currency": "%s", "points_per_unit": "1", "include_tax": false, '
    '"include_shipping": false, "min_order_amount": "0", "multipliers": {}}'
)
TIERS = (  # name, rank, qualify {unit: amount}, retain (80%), bonus points
    ("Bronze", 1, {"USD": 100, "EUR": 90}, {"USD": 80, "EUR": 72}, 0),
    ("Silver", 2, {"USD": 500, "EUR": 450}, {"USD": 400, "EUR": 360}, 200),
    ("Gold", 3, {"USD": 1500, "EUR": 1350}, {"USD": 1200, "EUR": 1080}, 1000),
)

COLUMNS = {
    "members_member": "id, install_id, saleor_user_id, email, merged_into_id, earn_accrual, carry_points, "
    "lifetime_points, last_activity_at, birthday_month, birthday_day, birthday_bonus_year, created_at, updated_at",
    "ledger_account": "id, install_id, member_id, code, unit, no_overdraft, tracks_balance, debits_pending, "
    "debits_posted, credits_pending, credits_posted, created_at",
    "ledger_lot": "id, install_id, member_id, account_id, points, remaining, source, order_id, order_line_id, rule, "
    "earned_at, unlocks_at, unlocked_at, expires_at",
    "ledger_transfer": "id, install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id, amount, "
    "unit, pending_id, reverses_id, member_id, order_id, lot_id, memo, created_at",
    "ledger_lot_movement": "id, transfer_id, lot_id, delta",
    "program_order_award": "id, install_id, order_id, order_number, member_id, channel_slug, currency, rule, "
    "placement, was_fully_paid, exact_points, points, spend, first_paid_at, revision, state_updated_at, created_at, "
    "updated_at",
}


# --- the database ------------------------------------------------------------------------------------------------


def connect() -> psycopg.Connection[Any]:
    return common.bench_connection(DB)


def app_env() -> dict[str, str]:
    # An in-memory Celery broker: the jobs publish their follow-up tasks (emails, metadata mirrors) as in
    # production, but nothing consumes them — no eager execution, no Saleor calls.
    return common.app_env(DATABASE_URL=DATABASE_URL, CELERY_BROKER_URL="memory://")


def wait_until_quiet(limit: float) -> float:
    """Wait (up to ``limit`` s) until no other benchmark, pgbench or wrk runs; returns the seconds waited."""
    mine = {os.getpid(), os.getppid()}
    began = time.monotonic()
    while True:
        out = subprocess.run(["pgrep", "-f", BUSY_PATTERN], capture_output=True, text=True, check=False)
        pids = out.stdout.split()
        others = [p for p in pids if int(p) not in mine]
        if not others or time.monotonic() - began > limit:
            if others:
                print(f"nightly: WARNING still busy after {limit:.0f} s (pids {' '.join(others)})", flush=True)
            return time.monotonic() - began
        time.sleep(10)


# --- data --------------------------------------------------------------------------------------------------------


class Clock:
    """Times as whole seconds since midnight UTC ``HISTORY_DAYS + 10`` days before now; fast COPY text."""

    def __init__(self, now: datetime) -> None:
        self.base = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=HISTORY_DAYS + 10)
        self.now = int((now - self.base).total_seconds())
        days = self.now // DAY + EXPIRE_AFTER_DAYS + 2  # lots expire up to two years ahead
        self._days = [(self.base + timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(days)]
        self._secs = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]

    def ts(self, t: int) -> str:
        return self._days[t // DAY] + self._secs[t % DAY]

    def at(self, t: int) -> datetime:
        return self.base + timedelta(seconds=t)


@dataclass
class Ids:
    transfer: int = 0
    lot: int = 0
    movement: int = 0
    award: int = 0
    redemption: int = 0


@dataclass
class Batch:
    rows: dict[str, list[str]] = field(default_factory=lambda: {table: [] for table in COLUMNS})


@dataclass
class Totals:
    """What the generator wrote that the jobs must find."""

    due_accounts: int = 0
    due_lots: int = 0
    due_points: int = 0
    birthdays: dict[tuple[int, int], int] = field(default_factory=dict)  # (month, day) -> members due this year


def _birthdays() -> list[tuple[int, int]]:
    first = date(2000, 1, 1)  # a leap year: Feb 29 included
    return [((first + timedelta(days=d)).month, (first + timedelta(days=d)).day) for d in range(366)]


class Generator:
    """Member ``m`` (1-based) has accounts ``3 + 3m`` (points), ``4 + 3m`` (pending), ``5 + 3m`` (debt); the program
    accounts are 1–5. Redemptions consume unexpired lots soonest-expiry first, as ``ledger.lots`` does."""

    def __init__(self, install_id: int, clock: Clock, seed: int, transfers_per_member: int) -> None:
        self.inst = install_id
        self.clock = clock
        self.rng = random.Random(seed)
        self.ids = Ids()
        self.totals = Totals()
        self.birthdays = _birthdays()
        self.year = clock.at(clock.now).year
        # earns per member ~ 80 % of transfers (half orders, half bonuses), redemptions (hold + capture) the rest
        self.orders = max(1, round(transfers_per_member * 0.4))
        self.redemptions = max(0, round(transfers_per_member * 0.1))

    def program_accounts(self) -> str:
        created = self.clock.ts(0)
        return "".join(
            f"{n + 1}\t{self.inst}\t{N}\t{code}\tPTS\tf\tf\t0\t0\t0\t0\t{created}\n"
            for n, code in enumerate(PROGRAM_CODES)
        )

    def member(self, m: int, batch: Batch) -> None:
        rng, ids, inst, clock, rows = self.rng, self.ids, self.inst, self.clock, batch.rows
        ts = clock.ts
        now = clock.now
        points_acc = 3 + 3 * m
        transfers, lots_out, movements = rows["ledger_transfer"], rows["ledger_lot"], rows["ledger_lot_movement"]
        # active between two random moments of the last two years (at least a week apart)
        a, b = sorted((now - rng.randrange(HISTORY_DAYS * DAY), now - rng.randrange(HISTORY_DAYS * DAY)))
        first, last = a, max(b, min(now, a + 7 * DAY))
        n_orders = rng.randint(self.orders // 2, self.orders * 3 // 2)
        n_bonus = rng.randint(self.orders // 2, self.orders * 3 // 2)
        # every 10th member: up to 3 of the earliest earns expired 1-3 days ago (work for expiry); they never
        # redeemed, so those lots are still whole (redemptions take the soonest-expiring lots first)
        due_member = m % 10 == 0
        n_redeem = 0 if due_member else rng.randint(0, 2 * self.redemptions)
        events: list[tuple[int, int]] = [(rng.randint(first, last), 0) for _ in range(n_orders)]
        events += [(rng.randint(first, last), 1) for _ in range(n_bonus)]
        events += [(rng.randint(first, last), 2) for _ in range(n_redeem)]
        if due_member:
            events.sort()
            earns = [i for i, e in enumerate(events) if e[1] != 2][:3]
            for i in earns:
                events[i] = (now - (EXPIRE_AFTER_DAYS + 1) * DAY - rng.randrange(2 * DAY), events[i][1])
        if m % 100 == 7:  # an open redemption hold (checkout not finished yet)
            events.append((now - rng.randint(60, 3000), 3))
        events.sort()
        expire_after = EXPIRE_AFTER_DAYS * DAY
        currency = "EUR" if m % 8 == 3 else "USD"
        rule = RULE % currency
        lots: list[list[int]] = []  # [id, points, remaining, expires]
        credits = debits = held = lifetime = 0
        last_activity = first
        for t, kind in events:
            if kind <= 1:
                ids.lot += 1
                ids.transfer += 1
                expires = t + expire_after
                if kind == 0:
                    ids.award += 1
                    spend_cents = rng.randint(1000, 30000)
                    points = spend_cents // 100
                    order_id = f"T3JkZXI6{m:08d}-{ids.award:012d}-0000-0000-0000"
                    lots_out.append(
                        f"{ids.lot}\t{inst}\t{m}\t{points_acc}\t{points}\t{{R}}\torder\t{order_id}\t{N}\t{rule}\t"
                        f"{ts(t)}\t{ts(t)}\t{ts(t)}\t{ts(expires)}\n"
                    )
                    transfers.append(
                        f"{ids.transfer}\t{inst}\torder:{order_id}:r1\tearn\tposted\t{ISSUED}\t{points_acc}\t{points}\t"
                        f'PTS\t{N}\t{N}\t{m}\t{order_id}\t{ids.lot}\t{{"source": "order"}}\t{ts(t)}\n'
                    )
                    rows["program_order_award"].append(
                        f"{ids.award}\t{inst}\t{order_id}\t{ids.award}\t{m}\tdefault-channel\t{currency}\t{rule}\t"
                        f"customer\tt\t{points}.000000\t{points}\t{spend_cents / 100:.2f}\t{ts(t)}\t1\t{ts(t)}\t"
                        f"{ts(t)}\t{ts(t)}\n"
                    )
                else:
                    points = rng.randint(10, 100)
                    lots_out.append(
                        f"{ids.lot}\t{inst}\t{m}\t{points_acc}\t{points}\t{{R}}\tcampaign\t{N}\t{N}\t{{}}\t"
                        f"{ts(t)}\t{N}\t{ts(t)}\t{ts(expires)}\n"
                    )
                    transfers.append(
                        f"{ids.transfer}\t{inst}\tcampaign:{ids.lot}\tearn\tposted\t{ISSUED}\t{points_acc}\t{points}\t"
                        f'PTS\t{N}\t{N}\t{m}\t{N}\t{ids.lot}\t{{"source": "campaign"}}\t{ts(t)}\n'
                    )
                lots.append([ids.lot, points, points, expires])
                credits += points
                lifetime += points
                last_activity = t
                continue
            alive = [lot for lot in lots if lot[2] > 0 and lot[3] > t]  # in id order = soonest expiry first
            available = sum(lot[2] for lot in alive)
            amount = min(available, rng.randint(1, 10) * 100)
            if amount < 100:
                continue
            ids.redemption += 1
            ids.transfer += 1
            hold = ids.transfer
            key = f"redemption:{ids.redemption}"
            transfers.append(
                f"{hold}\t{inst}\t{key}:hold\tredeem\tpending\t{points_acc}\t{REDEEMED}\t{amount}\tPTS\t{N}\t{N}\t"
                f"{m}\t{N}\t{N}\t{{}}\t{ts(t)}\n"
            )
            left = amount
            for lot in alive:
                take = min(left, lot[2])
                lot[2] -= take
                ids.movement += 1
                movements.append(f"{ids.movement}\t{hold}\t{lot[0]}\t{-take}\n")
                left -= take
                if left == 0:
                    break
            if kind == 3:
                held += amount
            else:
                ids.transfer += 1
                transfers.append(
                    f"{ids.transfer}\t{inst}\t{key}:capture\tredeem\tpost_pending\t{points_acc}\t{REDEEMED}\t"
                    f"{amount}\tPTS\t{hold}\t{N}\t{m}\t{N}\t{N}\t{{}}\t{ts(t + 120)}\n"
                )
                debits += amount
            last_activity = max(last_activity, t)
        # lots: fill in what remains (rows were written before the redemptions consumed them)
        start = len(lots_out) - len(lots)
        due_points = due_lots = 0
        for n, lot in enumerate(lots):
            lots_out[start + n] = lots_out[start + n].replace("{R}", str(lot[2]), 1)
            if lot[3] <= now and lot[2] > 0:
                due_lots += 1
                due_points += lot[2]
        assert sum(lot[2] for lot in lots) == credits - debits - held
        if due_lots:
            self.totals.due_accounts += 1
            self.totals.due_lots += due_lots
            self.totals.due_points += due_points
        month, day = self.birthdays[(m * 37) % 366]
        bonus_year = self.year - 1 if m % 5 == 0 else None
        self.totals.birthdays[(month, day)] = self.totals.birthdays.get((month, day), 0) + 1
        joined = ts(max(0, first - rng.randrange(30 * DAY)))
        rows["members_member"].append(
            f"{m}\t{inst}\tVXNlcjo{m}\tshopper{m}@example.com\t{N}\t0\t0\t{lifetime}\t{ts(last_activity)}\t"
            f"{month}\t{day}\t{bonus_year or N}\t{joined}\t{joined}\n"
        )
        accounts = rows["ledger_account"]
        accounts.append(f"{points_acc}\t{inst}\t{m}\tpoints\tPTS\tt\tt\t{held}\t{debits}\t0\t{credits}\t{joined}\n")
        accounts.append(f"{points_acc + 1}\t{inst}\t{m}\tpoints_pending\tPTS\tt\tt\t0\t0\t0\t0\t{joined}\n")
        accounts.append(f"{points_acc + 2}\t{inst}\t{m}\tpoints_debt\tPTS\tf\tt\t0\t0\t0\t0\t{joined}\n")


_PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""


@dataclass
class Loaded:
    members: int
    rows: dict[str, int]
    totals: Totals
    generate_seconds: float  # generating and COPYing, overlapped
    copy_seconds: float  # the COPY thread's share
    index_seconds: float
    vacuum_seconds: float

    @property
    def total_seconds(self) -> float:
        return self.generate_seconds + self.vacuum_seconds


def load(install_id: int, members: int, per_member: int, clock: Clock, seed: int) -> Loaded:
    """Generate and COPY everything; plain indexes are dropped for the load and built again from their own
    definitions (``pg_get_indexdef``: identical to what the migrations created); then VACUUM ANALYZE."""
    gen = Generator(install_id, clock, seed, per_member)
    batches: queue.Queue[Batch | None] = queue.Queue(maxsize=2)
    copy_seconds = [0.0]
    index_seconds = [0.0]
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            with connect() as conn:
                # Foreign keys are triggers; replica mode skips them for the load (the generator writes only
                # consistent references; the sample check afterwards verifies balances).
                conn.execute("SET session_replication_role = replica")
                conn.execute("SET synchronous_commit = off")
                conn.execute("SET maintenance_work_mem = '1GB'")
                indexes = conn.execute(_PLAIN_INDEXES, (list(COLUMNS),)).fetchall()
                for name, _ in indexes:
                    conn.execute(f"DROP INDEX {name}")
                cur = conn.cursor()
                with cur.copy(f"COPY ledger_account ({COLUMNS['ledger_account']}) FROM STDIN") as cp:
                    cp.write(gen.program_accounts())
                while (batch := batches.get()) is not None:
                    t0 = time.perf_counter()
                    for table, lines in batch.rows.items():
                        with cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as cp:
                            cp.write("".join(lines))
                    copy_seconds[0] += time.perf_counter() - t0
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
            while batches.get() is not None:  # drain, so the producer never blocks
                pass

    thread = threading.Thread(target=writer, name="copy-writer")
    thread.start()
    began = time.perf_counter()
    last_report = began
    try:
        for first in range(1, members + 1, CHUNK_MEMBERS):
            batch = Batch()
            for m in range(first, min(members + 1, first + CHUNK_MEMBERS)):
                gen.member(m, batch)
            batches.put(batch)
            if failed:
                break
            if time.perf_counter() - last_report > 60:
                last_report = time.perf_counter()
                done = min(members, first + CHUNK_MEMBERS - 1)
                rate = done / (last_report - began)
                print(
                    f"nightly: generated {done:,} members ({gen.ids.transfer:,} transfers) in "
                    f"{last_report - began:.0f} s, ~{(members - done) / rate:.0f} s of COPY to go",
                    flush=True,
                )
    finally:
        batches.put(None)
        thread.join(timeout=3600)
    generate_seconds = time.perf_counter() - began
    if failed:
        raise failed[0]
    t0 = time.perf_counter()
    with connect() as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for table in COLUMNS:  # VACUUM too, so autovacuum does not start on these tables mid-measurement
            conn.execute(f"VACUUM (ANALYZE) {table}")
        rows = {t: int((conn.execute(f"SELECT count(*) FROM {t}").fetchone() or [0])[0]) for t in COLUMNS}
    vacuum_seconds = time.perf_counter() - t0
    want = {
        "members_member": members,
        "ledger_account": 3 * members + len(PROGRAM_CODES),
        "ledger_lot": gen.ids.lot,
        "ledger_transfer": gen.ids.transfer,
        "ledger_lot_movement": gen.ids.movement,
        "program_order_award": gen.ids.award,
    }
    if rows != want:
        raise SystemExit(f"load FAILED: rows {rows}, expected {want}")
    return Loaded(
        members=members,
        rows=rows,
        totals=gen.totals,
        generate_seconds=generate_seconds,
        copy_seconds=copy_seconds[0],
        index_seconds=index_seconds[0],
        vacuum_seconds=vacuum_seconds,
    )


# --- the app, in this process -------------------------------------------------------------------------------------


def _django() -> None:
    os.environ.update(app_env())
    import django

    django.setup()


def create_install() -> int:
    from django.db import connections

    from saleor_loyalty.installs.models import Install

    install = Install(
        saleor_api_url="https://bench-shop.example/graphql/",
        app_id="QXBwOjE=",
        saleor_domain="bench-shop.example",
        jwks={"keys": []},
    )
    install.set_auth_token("bench-token")
    install.save()
    connections.close_all()
    return int(install.pk)


def configure_program(install_id: int, clock: Clock) -> float:
    """Expiry after earning, a birthday bonus, Bronze/Silver/Gold on spend; tiers as of a day ago. Returns the
    seconds the initial (all-members) review statement took."""
    from django.db import connection, transaction

    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.program.models import ExpiryPolicy, ProgramSettings
    from saleor_loyalty.tiers import configuration, review

    install = Install.objects.get(pk=install_id)
    ProgramSettings.objects.update_or_create(
        install=install,
        defaults={
            "expiry_policy": ExpiryPolicy.AFTER_EARNING,
            "points_expire_after_days": EXPIRE_AFTER_DAYS,
            "expiry_grace_days": 0,
            "birthday_bonus_points": BIRTHDAY_POINTS,
        },
    )
    configuration.configure_tiers(install, basis="spend", window_kind="rolling", window_days=365, grace_days=30)
    for name, rank, qualify, retain, bonus in TIERS:
        configuration.set_tier(
            install, name=name, rank=rank, thresholds=qualify, retain=retain, bonus_points=bonus, perks=[name]
        )
    t0 = time.perf_counter()
    with transaction.atomic():
        changes = review.run(now=clock.at(clock.now - DAY), install_id=install_id)
    seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:  # yesterday's effects were applied yesterday
        cursor.execute("UPDATE tiers_change SET effects_applied = true")
        cursor.execute("VACUUM (ANALYZE) tiers_member_tier")
        cursor.execute("VACUUM (ANALYZE) tiers_change")
        cursor.execute(
            "SELECT t.name, count(*) FROM tiers_member_tier mt JOIN tiers_tier t ON t.id = mt.tier_id GROUP BY 1"
        )
        spread = dict(cursor.fetchall())
    print(f"nightly: initial review (as of a day ago): {len(changes):,} members tiered {spread} in {seconds:.1f} s")
    return seconds


# --- the jobs ------------------------------------------------------------------------------------------------------


@dataclass
class Job:
    name: str
    run: Callable[[], dict[str, int]]  # the app's job; returns what it did
    did_nothing: Callable[[dict[str, int]], bool]
    expected: dict[str, int]  # what the first run must do (from the generator)
    baseline_sql: str
    baseline_params: dict[str, Any]
    baseline_rows: int  # rows the baseline UPDATE must touch (the same rows the job works on)


def _scalar(sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def make_jobs(install_id: int, moment: datetime, today: date, totals: Totals) -> list[Job]:
    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.program.bonuses import give_birthday_bonuses
    from saleor_loyalty.program.expiry import expire_points
    from saleor_loyalty.tiers.tasks import review_tiers

    install = Install.objects.get(pk=install_id)
    leap_fallback = (today.month, today.day) == (2, 28) and today.year % 4 != 0
    birthdays = totals.birthdays.get((today.month, today.day), 0) + (totals.birthdays.get((2, 29), 0) * leap_fallback)
    states = _scalar("SELECT count(*) FROM tiers_member_tier WHERE install_id = %s", [install_id])

    def expiry() -> dict[str, int]:
        done = expire_points(install, now=moment)
        return {"accounts": done.accounts, "points": done.points}

    return [
        Job(
            name="expiry",
            run=expiry,
            did_nothing=lambda r: r["accounts"] == 0 and r["points"] == 0,
            expected={"accounts": totals.due_accounts, "points": totals.due_points},
            baseline_sql=(
                "UPDATE ledger_lot l SET remaining = l.remaining FROM ledger_account a "
                "WHERE a.id = l.account_id AND a.code = 'points' AND l.install_id = %(install)s "
                "AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at <= %(cutoff)s"
            ),
            baseline_params={"install": install_id, "cutoff": moment},
            baseline_rows=totals.due_lots,
        ),
        Job(
            name="tier_review",
            run=lambda: {"changes": review_tiers(install_id)},
            did_nothing=lambda r: r["changes"] == 0,
            expected={},  # decided by the data: reported, not predicted
            baseline_sql="UPDATE tiers_member_tier SET updated_at = updated_at WHERE install_id = %(install)s",
            baseline_params={"install": install_id},
            baseline_rows=states,
        ),
        Job(
            name="birthday",
            run=lambda: {"members": give_birthday_bonuses(install, today)},
            did_nothing=lambda r: r["members"] == 0,
            expected={"members": birthdays},
            baseline_sql=(
                "UPDATE members_member m SET updated_at = m.updated_at "
                "WHERE m.install_id = %(install)s AND m.merged_into_id IS NULL AND m.saleor_user_id IS NOT NULL "
                "AND ((m.birthday_month = %(month)s AND m.birthday_day = %(day)s) "
                "OR (%(leap)s AND m.birthday_month = 2 AND m.birthday_day = 29)) "
                "AND (m.birthday_bonus_year IS NULL OR m.birthday_bonus_year < %(year)s)"
            ),
            baseline_params={
                "install": install_id,
                "month": today.month,
                "day": today.day,
                "leap": leap_fallback,
                "year": today.year,
            },
            baseline_rows=birthdays,
        ),
    ]


@dataclass
class AppRun:
    seconds: float
    result: dict[str, int]
    repeat_seconds: float
    repeat_result: dict[str, int]
    statements: list[tuple[str, float, int]]  # the first run's SQL: statement head, seconds, count


@contextmanager
def sql_timer(into: dict[str, list[float]]) -> Iterator[None]:
    """Seconds spent in each SQL statement the app sends (by its first 70 characters), via Django's hook."""
    from django.db import connection

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = into.setdefault(" ".join(sql.split())[:70], [0.0, 0])
            entry[0] += time.perf_counter() - t0
            entry[1] += 1

    with connection.execute_wrapper(wrapper):
        yield


def run_app(job: Job) -> AppRun:
    """The job, then the job again at once: the second run must do nothing."""
    statements: dict[str, list[float]] = {}
    with sql_timer(statements):
        t0 = time.perf_counter()
        result = job.run()
        seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    repeat = job.run()
    repeat_seconds = time.perf_counter() - t0
    top = sorted(((k, v[0], int(v[1])) for k, v in statements.items()), key=lambda x: -x[1])[:6]
    return AppRun(seconds, result, repeat_seconds, repeat, top)


def run_baseline(job: Job) -> tuple[float, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        t0 = time.perf_counter()
        cursor.execute(job.baseline_sql, job.baseline_params)
        return time.perf_counter() - t0, cursor.rowcount


def _check_app(job: Job, run: AppRun, problems: list[str]) -> None:
    for key, want in job.expected.items():
        if run.result.get(key) != want:
            problems.append(f"{job.name}: {key} {run.result.get(key)} (expected {want})")
    if not job.did_nothing(run.repeat_result):
        problems.append(f"{job.name}: NOT idempotent, the second run did {run.repeat_result}")


def measure(job: Job, rounds: int, problems: list[str]) -> dict[str, Any]:
    """``rounds`` baseline/job pairs, alternating order, each side in its own rolled-back transaction; then the
    job for real (committed) and once more (must do nothing)."""
    from django.db import transaction

    entries: list[dict[str, Any]] = []
    for r in range(rounds):
        got: dict[str, Any] = {}
        for side in ("baseline", "app") if r % 2 == 0 else ("app", "baseline"):
            with transaction.atomic():
                if side == "baseline":
                    got["baseline"] = run_baseline(job)
                else:
                    got["app"] = run_app(job)
                transaction.set_rollback(True)
        app: AppRun = got["app"]
        base_seconds, base_rows = got["baseline"]
        if base_rows != job.baseline_rows:
            problems.append(f"{job.name}: baseline updated {base_rows} rows (expected {job.baseline_rows})")
        _check_app(job, app, problems)
        entry = {
            "app_s": app.seconds,
            "baseline_s": base_seconds,
            "ratio": common.ratio(app.seconds, base_seconds),
            "result": app.result,
            "repeat_s": app.repeat_seconds,
            "baseline_rows": base_rows,
        }
        entries.append(entry)
        print(
            f"nightly {job.name} round {r + 1}/{rounds}: job {app.seconds:.2f} s {app.result} "
            f"(second run {app.repeat_seconds:.2f} s {app.repeat_result}); plain UPDATE of the same "
            f"{base_rows:,} rows {base_seconds:.2f} s; ratio {entry['ratio']:.1f}x",
            flush=True,
        )
        if r == 0:
            for head, seconds, count in app.statements:
                print(f"    {seconds:7.2f} s  {count:6d}x  {head}", flush=True)
    committed = run_app(job)  # for real, no surrounding transaction: as the scheduler runs it
    _check_app(job, committed, problems)
    print(
        f"nightly {job.name} committed: job {committed.seconds:.2f} s {committed.result}, second run "
        f"{committed.repeat_seconds:.2f} s {committed.repeat_result}",
        flush=True,
    )
    return {
        "app_s": common.median([e["app_s"] for e in entries]),
        "baseline_s": common.median([e["baseline_s"] for e in entries]),
        "ratio": common.median([e["ratio"] for e in entries]),
        "committed_s": committed.seconds,
        "committed_repeat_s": committed.repeat_seconds,
        "result": committed.result,
        "rounds": entries,
        "statements": [{"sql": h, "seconds": s, "count": c} for h, s, c in committed.statements],
    }


# --- checks and plans ----------------------------------------------------------------------------------------------

_SAMPLE_CHECK = """
WITH s AS (SELECT DISTINCT 3 + 3 * m AS id FROM unnest(%(members)s::bigint[]) AS m)
SELECT
  count(*) FILTER (WHERE lots <> balance) AS lots_vs_balance,
  count(*) FILTER (WHERE (cp, dp, dpe) <> (credits_posted, debits_posted, debits_pending)) AS totals_vs_transfers,
  sum(lot_movement_mismatches) AS lots_vs_movements,
  count(*) AS accounts
FROM (
  SELECT a.credits_posted, a.debits_posted, a.debits_pending,
         a.credits_posted - a.debits_posted - a.debits_pending AS balance,
         (SELECT coalesce(sum(l.remaining), 0) FROM ledger_lot l WHERE l.account_id = a.id) AS lots,
         (SELECT count(*) FROM ledger_lot l WHERE l.account_id = a.id AND l.remaining <> l.points + coalesce(
             (SELECT sum(mv.delta) FROM ledger_lot_movement mv WHERE mv.lot_id = l.id), 0)) AS lot_movement_mismatches,
         (SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
          WHERE t.credit_account_id = a.id AND t.phase IN ('posted', 'post_pending')) AS cp,
         (SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
          WHERE t.debit_account_id = a.id AND t.phase IN ('posted', 'post_pending')) AS dp,
         (SELECT coalesce(sum(t.amount), 0) FROM ledger_transfer t
          WHERE t.debit_account_id = a.id AND t.phase = 'pending' AND NOT EXISTS (
              SELECT 1 FROM ledger_transfer r WHERE r.pending_id = t.id AND r.phase IN ('post_pending', 'void_pending')
          )) AS dpe
  FROM ledger_account a JOIN s USING (id)
) x
"""


def check_sample(members: int, today: date, seed: int) -> dict[str, int]:
    """Lots vs balance, lots vs their movements, running totals vs transfers on 1,000 random members' points
    accounts plus 200 that had points expire and 200 that got today's birthday bonus."""
    rng = random.Random(seed)
    sample = rng.sample(range(1, members + 1), min(1000, members))
    sample += rng.sample(range(10, members + 1, 10), min(200, members // 10))
    sample += [
        m
        for (m,) in _rows(
            "SELECT id FROM members_member WHERE birthday_month = %s AND birthday_day = %s ORDER BY random() LIMIT 200",
            [today.month, today.day],
        )
    ]
    with connect() as conn:
        row = conn.execute(_SAMPLE_CHECK, {"members": sample}).fetchone()
    assert row is not None
    return dict(
        zip(("lots_vs_balance", "totals_vs_transfers", "lots_vs_movements", "accounts"), map(int, row), strict=True)
    )


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connect() as conn:
        return conn.execute(sql, params).fetchall()


def explain(install_id: int, moment: datetime, today: date) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the jobs' heavy statements, each in a rolled-back transaction."""
    from saleor_loyalty.ledger import expiry as ledger_expiry
    from saleor_loyalty.program import bonuses
    from saleor_loyalty.program import expiry as program_expiry
    from saleor_loyalty.tiers import review

    plans: list[tuple[str, str, dict[str, Any]]] = [
        (
            "expiry: find a batch of due accounts (runs once per batch of 5,000 accounts)",
            ledger_expiry._FIND_ACCOUNTS.format(due=program_expiry.DUE_AFTER_EARNING),
            {"install": install_id, "cutoff": moment, "batch": 5000},
        ),
        (
            "birthday: the due members",
            bonuses._BIRTHDAYS_DUE,
            {"install": install_id, "month": today.month, "day": today.day, "year": today.year, "leap_fallback": False},
        ),
        (
            "tier review: the whole statement",
            review.REVIEW_SQL,
            {"now": moment, "install": install_id, "members": None, "upgrades_only": False, "reason": "review"},
        ),
    ]
    with connect() as conn:
        accounts = [r[0] for r in conn.execute(plans[0][1], plans[0][2]).fetchall()]
        plans.insert(
            1,
            (
                "expiry: one batch (due lots of 5,000 accounts: transfers, movements, lots, balances)",
                ledger_expiry._EXPIRE.format(due=program_expiry.DUE_AFTER_EARNING),
                {"install": install_id, "cutoff": moment, "accounts": accounts, "run": "explain", "expired_account": 3},
            ),
        )
        for title, sql, params in plans:
            conn.execute("BEGIN")
            try:
                text = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall())
            finally:
                conn.execute("ROLLBACK")
            print(f"--- EXPLAIN ANALYZE: {title}\n{text}", flush=True)


# --- main ----------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=200_000, help="members to generate (default 200,000)")
    parser.add_argument("--transfers-per-member", type=int, default=20, help="average transfers per member (20)")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/job pairs per job, alternating (default 2)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--wait", type=int, default=600, help="seconds to wait for other benchmarks to finish")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the jobs' heavy statements")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB} in place afterwards")
    # options bench/run.py passes to every benchmark; the nightly jobs have no duration to bound
    parser.add_argument("--duration", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--diagnose", action="store_true", help="the same as --explain")
    args = parser.parse_args(argv)
    assert 1_000 <= args.members <= 2_000_000 and 5 <= args.transfers_per_member <= 50 and 1 <= args.rounds <= 5

    started = time.monotonic()
    waited = wait_until_quiet(args.wait)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = Clock(now)
    today = now.date()
    common.create_database(DB)
    problems: list[str] = []
    results: dict[str, Any] = {}
    try:
        common.migrate(app_env(), timeout=600)
        _django()
        install_id = create_install()
        print(f"nightly: generating {args.members:,} members, ~{args.transfers_per_member} transfers each", flush=True)
        loaded = load(install_id, args.members, args.transfers_per_member, clock, args.seed)
        print(
            f"nightly: loaded {loaded.rows} with COPY in {loaded.generate_seconds:.0f} s (COPY thread busy "
            f"{loaded.copy_seconds:.0f} s, of which index builds {loaded.index_seconds:.0f} s), VACUUM ANALYZE "
            f"{loaded.vacuum_seconds:.0f} s; due for expiry: {loaded.totals.due_lots:,} lots, "
            f"{loaded.totals.due_points:,} points in {loaded.totals.due_accounts:,} accounts",
            flush=True,
        )
        initial_review = configure_program(install_id, clock)
        moment = datetime.now(UTC)
        waited += wait_until_quiet(args.wait)
        if args.explain or args.diagnose:
            explain(install_id, moment, today)
        for job in make_jobs(install_id, moment, today, loaded.totals):
            results[job.name] = measure(job, args.rounds, problems)
        sample = check_sample(args.members, today, args.seed)
        print(f"nightly: ledger sample check {sample}", flush=True)
        if any(v for k, v in sample.items() if k != "accounts"):
            problems.append(f"ledger sample check failed: {sample}")
    finally:
        if "DJANGO_SETTINGS_MODULE" in os.environ:
            from django.db import connections

            connections.close_all()
        if not args.keep_db:
            common.drop_database(DB)

    app = sum(r["app_s"] for r in results.values())
    baseline = sum(r["baseline_s"] for r in results.values())
    summary: dict[str, Any] = {
        "benchmark": "nightly",
        "unit": "s for the three nightly jobs (median over rounds)",
        "app": app,
        "baseline": baseline,
        "ratio": common.ratio(app, baseline),
        "target": None,
        "met": None,
        "valid": not problems,
        "problems": problems,
        "scale": {"members": args.members, **loaded.rows},
        "generation_s": loaded.total_seconds,
        "generation": {
            "copy_and_generate_s": loaded.generate_seconds,
            "copy_thread_s": loaded.copy_seconds,
            "index_build_s": loaded.index_seconds,
            "vacuum_analyze_s": loaded.vacuum_seconds,
            "initial_review_s": initial_review,
        },
        "jobs": results,
        "waited_s": waited,
        "total_s": time.monotonic() - started,
    }
    for name, r in results.items():
        print(
            f"nightly: {name}: {r['app_s']:.2f} s vs plain UPDATE {r['baseline_s']:.2f} s = {r['ratio']:.1f}x "
            f"(committed run {r['committed_s']:.2f} s, second run {r['committed_repeat_s']:.2f} s) {r['result']}",
            flush=True,
        )
    for problem in problems:
        print(f"nightly: PROBLEM {problem}", flush=True)
    print(f"nightly: total {summary['total_s']:.0f} s", flush=True)
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    sys.exit(0 if main()["valid"] else 1)
