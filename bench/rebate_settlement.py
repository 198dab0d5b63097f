"""Settling a rebate period at scale (issue #11): 1,000,000 shoppers' accruals in one period, settled set-based.

What is measured, in this process through the app's own function on a Django connection:
``rebates.settlement.settle_period(install, period, now=...)`` — the accounting half of closing a period (pending
past its return window released, what members owe netted, the rest held for a payout, one ``RebatePayout`` per
hold; ``bulk.settle_periods``, 5,000 periods per transaction). The payer calls that follow (``send_payouts``, per
payout, outside these transactions) are not part of it. Baseline: one plain set-based statement that updates
exactly the rows the job changes — ``UPDATE rebates_period SET pending = pending`` over the periods with work and
``UPDATE ledger_account SET credits_posted = credits_posted`` over the accounts whose totals move (the pending
account of each released period, the payable account of each, the recoverable account of each that nets).

Every side of every round starts from the same state: a fresh copy of the loaded database (``CREATE DATABASE …
TEMPLATE``, off the clock), and runs committed, as in production — each batch's commit and its deferred foreign key
checks included. Each round runs the baseline, the job on one connection and the job on ``--workers`` connections
(default: the machine's CPUs; ``settle_period(..., workers=N)``, batches of whole members settled at once, as the
Celery workers settle the hourly task's batches), alternating the order; after each job the job runs again and must
do nothing. The figure is the median over rounds of the ``--workers`` job's time ÷ the baseline's, reported with the
one-connection ratio. After the first ``--workers`` job the result is verified: the expected periods, transfers,
payouts and amounts (computed from the generator's formulas, not by the app), ``rebate_audit`` of both periods
without a problem, ``ledger_problems`` empty and every member rebate account's running totals equal to its
transfers.

The data, after ``migrate``, written set-based (``INSERT … SELECT`` over ``generate_series``; plain indexes dropped
for the load and rebuilt from their own definitions, then ``VACUUM ANALYZE``): one install, one USD rebate program
(monthly, ``net`` recovery), N members with their three rebate accounts, and each member's period of last month
(one accrual transfer of 1.00–50.00): ~85 % pending past their return window, ~5 % still in it (nothing to do),
~10 % already payable (a release transfer). Every 10th member also had the month before paid out and then
partly refunded: an older period (accrual, release, payout hold and its posting, a recoverable transfer) leaves
them owing 1.00–30.00, netted from this month's payable (all of it for some: no payout then).

Run: ``python -m bench.rebate_settlement`` (``--help``; ``--quick`` for 100,000 members). Uses its own database
(``loyalty_bench_rebates``, or ``$REBATE_BENCH_DB``, which must start with ``loyalty_bench``), created at the start
and dropped at the end (``--keep-db`` keeps it). ``bench/run.py`` runs it only with ``--rebates``.
"""

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import common
from bench.nightly import sql_timer, wait_until_quiet

DB = os.environ.get("REBATE_BENCH_DB", "loyalty_bench_rebates")
LOADED_DB = f"{DB}_loaded"  # the loaded state, frozen: every side of every round starts from a copy of it
DATABASE_URL = f"postgres://{common.PG_USER}@{common.PG_HOST}:{common.PG_PORT}/{DB}"
TABLES = ("members_member", "ledger_account", "ledger_transfer", "rebates_period", "rebates_payout")

_PLAIN_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relname = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY 1
"""

# One row per member: the generator's formulas. cls: 0 due (pending past its window), 1 in its window, 2 payable.
_SHOPPERS = """
CREATE UNLOGGED TABLE bench_shopper AS
SELECT m,
       100 + (m * 104729) %% 4901 AS amount,
       CASE WHEN (m * 7919) %% 100 < 85 THEN 0 WHEN (m * 7919) %% 100 < 90 THEN 1 ELSE 2 END AS cls,
       CASE WHEN m %% 10 = 3 THEN 100 + (m * 37) %% 2901 ELSE 0 END AS owed,
       %(accounts)s + 3 * (m - 1) AS pending_account
FROM generate_series(1::bigint, %(members)s::bigint) AS m
"""

_LOAD = [
    # members
    """
    INSERT INTO members_member (id, install_id, saleor_user_id, email, earn_accrual, carry_points, lifetime_points,
                                is_referee, created_at, updated_at)
    SELECT m, %(install)s, 'VXNlcjo' || m, 'shopper' || m || '@example.com', 0, 0, 0, false, %(old)s, %(old)s
    FROM bench_shopper
    """,
    # their rebate accounts: pending, payable, recoverable; running totals as the transfers below imply
    """
    INSERT INTO ledger_account (id, install_id, member_id, code, unit, no_overdraft, tracks_balance, debits_pending,
                                debits_posted, credits_pending, credits_posted, created_at)
    SELECT s.pending_account + c.k, %(install)s, s.m, c.code, 'USD', c.k < 2, true, 0,
           CASE c.k WHEN 0 THEN (CASE WHEN s.cls = 2 THEN s.amount ELSE 0 END)
                                + (CASE WHEN s.owed > 0 THEN s.owed + 500 ELSE 0 END)
                    WHEN 1 THEN CASE WHEN s.owed > 0 THEN s.owed + 500 ELSE 0 END
                    ELSE s.owed END,
           0,
           CASE c.k WHEN 0 THEN s.amount + CASE WHEN s.owed > 0 THEN s.owed + 500 ELSE 0 END
                    WHEN 1 THEN (CASE WHEN s.cls = 2 THEN s.amount ELSE 0 END)
                                + (CASE WHEN s.owed > 0 THEN s.owed + 500 ELSE 0 END)
                    ELSE 0 END,
           %(old)s
    FROM bench_shopper s
    CROSS JOIN (VALUES (0, 'rebate_pending'), (1, 'rebate_payable'), (2, 'rebate_recoverable')) AS c(k, code)
    """,
    # last month's period (id m): accrued, pending or already payable
    """
    INSERT INTO rebates_period (id, install_id, program_id, member_id, period, starts_at, ends_at, currency, terms,
                                revision, spend, accrued, pending, payable, paid, netted, recovery_raised, written_off,
                                release_at, closed_at, created_at, updated_at)
    SELECT m, %(install)s, %(program)s, m, %(key)s, %(starts)s, %(ends)s, 'USD', '{}'::jsonb,
           CASE WHEN cls = 2 THEN 2 ELSE 1 END, amount / 2, amount,
           CASE WHEN cls = 2 THEN 0 ELSE amount END, CASE WHEN cls = 2 THEN amount ELSE 0 END, 0, 0, 0, 0,
           CASE WHEN cls = 1 THEN %(later)s ELSE %(released)s END, NULL, %(old)s, %(old)s
    FROM bench_shopper
    """,
    # the month before (id members + m), for those who owe: paid out, then partly refunded
    """
    INSERT INTO rebates_period (id, install_id, program_id, member_id, period, starts_at, ends_at, currency, terms,
                                revision, spend, accrued, pending, payable, paid, netted, recovery_raised, written_off,
                                release_at, closed_at, created_at, updated_at)
    SELECT %(members)s + m, %(install)s, %(program)s, m, %(old_key)s, %(old_starts)s, %(starts)s, 'USD', '{}'::jsonb,
           4, owed + 500, 500, 0, 0, owed + 500, 0, owed, 0, %(old)s, %(old)s, %(old)s, %(old)s
    FROM bench_shopper WHERE owed > 0
    """,
    # transfers: this month's accrual (id m) and release (id members + m) ...
    """
    INSERT INTO ledger_transfer (id, install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id,
                                 amount, unit, member_id, order_id, memo, created_at)
    SELECT m, %(install)s, 'rebate:' || m || ':r1', 'rebate_accrue', 'posted', %(accrued)s, pending_account, amount,
           'USD', m, 'o-' || m, jsonb_build_object('rebate_period', m, 'period', %(key)s, 'program', %(program)s),
           %(old)s
    FROM bench_shopper
    UNION ALL
    SELECT %(members)s + m, %(install)s, 'rebate:' || m || ':r2:release', 'rebate_release', 'posted',
           pending_account, pending_account + 1, amount, 'USD', m, NULL,
           jsonb_build_object('rebate_period', m, 'period', %(key)s, 'program', %(program)s), %(old)s
    FROM bench_shopper WHERE cls = 2
    """,
    # ... and the older period's accrual, release, payout hold, its posting and the recoverable (ids from 2N + 5m)
    """
    INSERT INTO ledger_transfer (id, install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id,
                                 amount, unit, pending_id, member_id, memo, created_at)
    SELECT 2 * %(members)s + 5 * m + t.k, %(install)s, 'rebate:' || (%(members)s + m) || t.suffix, t.kind, t.phase,
           CASE t.k WHEN 0 THEN %(accrued)s WHEN 1 THEN pending_account WHEN 4 THEN pending_account + 2
                    ELSE pending_account + 1 END,
           CASE t.k WHEN 0 THEN pending_account WHEN 1 THEN pending_account + 1 WHEN 4 THEN %(accrued)s
                    ELSE %(paid)s END,
           CASE WHEN t.k = 4 THEN owed ELSE owed + 500 END, 'USD',
           CASE WHEN t.k = 3 THEN 2 * %(members)s + 5 * m + 2 END, m,
           CASE WHEN t.k = 3 THEN '{}'::jsonb
                ELSE jsonb_build_object('rebate_period', %(members)s + m, 'period', %(old_key)s, 'program', %(program)s)
           END,
           %(old)s
    FROM bench_shopper
    CROSS JOIN (VALUES (0, ':r1', 'rebate_accrue', 'posted'), (1, ':r2:release', 'rebate_release', 'posted'),
                       (2, ':r3:payout', 'rebate_payout', 'pending'),
                       (3, ':r3:payout:paid', 'rebate_payout', 'post_pending'),
                       (4, ':r4:recoverable', 'rebate_recoverable', 'posted')) AS t(k, suffix, kind, phase)
    WHERE owed > 0
    """,
    # the orders' rows the audit adds its gross accruals and reversals up from: one order per period, this month's
    # accruing its amount, the older one's its accrual and (refunded after payout) the recoverable part reversed
    """
    INSERT INTO rebates_order (install_id, order_id, order_number, program_id, member_id, period_id, placed_at, terms,
                               contribution, spend, accrued, reversed, revision, state_updated_at, payments,
                               created_at, updated_at)
    SELECT %(install)s, 'o-' || m, m::text, %(program)s, m, m, %(starts)s, '{}'::jsonb, '{}'::jsonb, amount / 2,
           amount, 0, 1, %(old)s, '[]'::jsonb, %(old)s, %(old)s
    FROM bench_shopper
    UNION ALL
    SELECT %(install)s, 'o-old-' || m, m::text, %(program)s, m, %(members)s + m, %(old_starts)s, '{}'::jsonb,
           '{}'::jsonb, owed + 500, owed + 500, owed, 2, %(old)s, '[]'::jsonb, %(old)s, %(old)s
    FROM bench_shopper WHERE owed > 0
    """,
    """
    INSERT INTO rebates_payout (install_id, program_id, period_id, member_id, amount, currency, method, state,
                                idempotency_key, hold_transfer_id, reference, failure, created_at, settled_at)
    SELECT %(install)s, %(program)s, %(members)s + m, m, owed + 500, 'USD', 'store_credit', 'paid',
           'rebate:' || (%(members)s + m) || ':r3:payout', 2 * %(members)s + 5 * m + 2, 'gift-' || m, '',
           %(old)s, %(old)s
    FROM bench_shopper WHERE owed > 0
    """,
]

# What the job must do, from the generator's formulas alone (not the app's SQL).
_EXPECTED = """
SELECT count(*) FILTER (WHERE cls <> 1),
       count(*) FILTER (WHERE cls = 0),
       count(*) FILTER (WHERE cls <> 1 AND least(amount, owed) > 0),
       coalesce(sum(least(amount, owed)) FILTER (WHERE cls <> 1), 0),
       count(*) FILTER (WHERE cls <> 1 AND amount > owed),
       coalesce(sum(amount - owed) FILTER (WHERE cls <> 1 AND amount > owed), 0),
       2 * count(*) FILTER (WHERE cls <> 1) + count(*) FILTER (WHERE cls = 0)
           + count(*) FILTER (WHERE cls <> 1 AND owed > 0)  -- periods, payable + pending + recoverable accounts
FROM bench_shopper
"""

_BASELINE = """
WITH due AS (
    UPDATE rebates_period p SET pending = p.pending
    WHERE p.install_id = %(install)s AND p.period = %(key)s AND p.ends_at <= %(now)s
      AND ((p.pending > 0 AND p.release_at <= %(now)s) OR p.payable > 0 OR (p.pending = 0 AND p.closed_at IS NULL))
    RETURNING p.member_id, p.currency, p.pending > 0 AND p.release_at <= %(now)s AS releases
), accounts AS (
    UPDATE ledger_account a SET credits_posted = a.credits_posted
    FROM due
    WHERE a.install_id = %(install)s AND a.member_id = due.member_id AND a.unit = due.currency
      AND (a.code = 'rebate_payable' OR (a.code = 'rebate_pending' AND due.releases)
           OR (a.code = 'rebate_recoverable' AND a.debits_posted > a.credits_posted))
    RETURNING a.id
)
SELECT (SELECT count(*) FROM due) + (SELECT count(*) FROM accounts)
"""

# Every member rebate account's running totals against its transfers (a hold counts as pending until resolved).
_TOTALS_CHECK = """
WITH t AS (
    SELECT x.debit_account_id AS account,
           CASE WHEN x.phase IN ('posted', 'post_pending') THEN x.amount ELSE 0 END AS dp,
           CASE WHEN x.phase = 'pending' AND r.id IS NULL THEN x.amount ELSE 0 END AS dpe,
           0 AS cp
    FROM ledger_transfer x LEFT JOIN ledger_transfer r ON r.pending_id = x.id
    WHERE x.install_id = %(install)s AND x.phase <> 'void_pending'
    UNION ALL
    SELECT credit_account_id, 0, 0, CASE WHEN phase IN ('posted', 'post_pending') THEN amount ELSE 0 END
    FROM ledger_transfer WHERE install_id = %(install)s
), sums AS (SELECT account, sum(dp) AS dp, sum(dpe) AS dpe, sum(cp) AS cp FROM t GROUP BY account)
SELECT count(*) FILTER (WHERE (a.debits_posted, a.debits_pending, a.credits_posted)
                              IS DISTINCT FROM (coalesce(s.dp, 0), coalesce(s.dpe, 0), coalesce(s.cp, 0))),
       count(*)
FROM ledger_account a LEFT JOIN sums s ON s.account = a.id
WHERE a.install_id = %(install)s AND a.member_id IS NOT NULL
"""

# ``queries.ledger_problems`` in SQL: the members' rebate balances by account against the period rows' totals.
_LEDGER_CHECK = """
WITH a AS (
    SELECT sum(credits_posted - debits_posted) FILTER (WHERE code = 'rebate_pending') AS pending,
           sum(credits_posted - debits_posted) FILTER (WHERE code = 'rebate_payable') AS payable,
           sum(debits_pending) FILTER (WHERE code = 'rebate_payable') AS held,
           sum(credits_posted - debits_posted) FILTER (WHERE code = 'rebate_recoverable') AS recoverable
    FROM ledger_account WHERE install_id = %(install)s AND member_id IS NOT NULL AND unit = 'USD'
), p AS (
    SELECT sum(pending) AS pending, sum(payable) AS payable, sum(recovery_raised) AS raised, sum(netted) AS netted
    FROM rebates_period WHERE install_id = %(install)s AND currency = 'USD'
)
SELECT ARRAY[a.pending, a.payable - a.held, a.recoverable], ARRAY[p.pending, p.payable, p.netted - p.raised]
FROM a, p
"""


@dataclass(frozen=True)
class Expected:
    periods: int
    released: int
    netted: int
    netted_amount: int
    payouts: int
    paid_amount: int
    baseline_rows: int


def app_env() -> dict[str, str]:
    return common.app_env(DATABASE_URL=DATABASE_URL, CELERY_BROKER_URL="memory://")


def _django() -> None:
    os.environ.update(app_env())
    import django

    django.setup()


def _months(now: datetime) -> tuple[Any, Any]:
    from saleor_loyalty.rebates.periods import MONTHLY, period_of

    current = period_of(now, MONTHLY)
    last = period_of(current.starts_at - timedelta(days=1), MONTHLY)
    before = period_of(last.starts_at - timedelta(days=1), MONTHLY)
    return last, before


def load(members: int, now: datetime) -> tuple[int, str, str, Expected, float]:
    """The install, the program and N shoppers' accruals; returns (install id, period key, older key, what the
    job must do, seconds)."""
    from django.db import connection

    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.ledger.accounts import program_account
    from saleor_loyalty.ledger.models import AccountCode
    from saleor_loyalty.rebates.models import RebateProgram

    t0 = time.perf_counter()
    install = Install(
        saleor_api_url="https://bench-shop.example/graphql/",
        app_id="QXBwOjE=",
        saleor_domain="bench-shop.example",
        jwks={"keys": []},
    )
    install.set_auth_token("bench-token")
    install.save()
    program = RebateProgram.objects.create(
        install=install,
        channel_slug="default-channel",
        currency="USD",
        bands=[{"threshold": "0", "rate": "2"}],
        return_window_days=14,
    )
    accrued = program_account(install.pk, AccountCode.REBATES_ACCRUED, "USD")
    paid = program_account(install.pk, AccountCode.REBATES_PAID, "USD")
    program_account(install.pk, AccountCode.REBATES_WRITTEN_OFF, "USD")
    last, before = _months(now)
    params = {
        "install": install.pk,
        "program": program.pk,
        "members": members,
        "accounts": 1000,  # member accounts from id 1000 up; the program's are below
        "accrued": accrued.pk,
        "paid": paid.pk,
        "key": last.key,
        "starts": last.starts_at,
        "ends": last.ends_at,
        "old_key": before.key,
        "old_starts": before.starts_at,
        "old": before.starts_at + timedelta(days=3),
        "released": now - timedelta(days=1),
        "later": now + timedelta(days=10),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers for the load (ids are consistent)
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(_PLAIN_INDEXES, [list(TABLES)])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute(_SHOPPERS, params)
        for statement in _LOAD:
            cursor.execute(statement, params)
        for _, definition in indexes:
            cursor.execute(definition)
        for table in TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute(_EXPECTED)
        row = cursor.fetchone()
        assert row is not None
        expected = Expected(*(int(v) for v in row))
        for table in (*TABLES, "bench_shopper"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return install.pk, last.key, before.key, expected, time.perf_counter() - t0


# --- measuring -----------------------------------------------------------------------------------------------------


@dataclass
class JobRun:
    seconds: float
    result: dict[str, int]
    repeat_seconds: float
    repeat: dict[str, int]
    statements: list[tuple[str, float, int]]


def run_job(install_id: int, key: str, now: datetime, batch: int, workers: int) -> JobRun:
    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.rebates.settlement import settle_period

    install = Install.objects.get(pk=install_id)

    def once() -> dict[str, int]:
        done = settle_period(install, key, now=now, batch=batch, workers=workers)
        return {
            "periods": done.periods,
            "released": done.released,
            "netted": done.netted,
            "netted_amount": done.netted_amount,
            "payouts": len(done.payouts),
            "batches": done.batches,
        }

    statements: dict[str, list[float]] = {}  # this thread's: with one connection, all of them
    with sql_timer(statements):
        t0 = time.perf_counter()
        result = once()
        seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    repeat = once()
    repeat_seconds = time.perf_counter() - t0
    top = sorted(((k, v[0], int(v[1])) for k, v in statements.items()), key=lambda x: -x[1])[:6]
    return JobRun(seconds, result, repeat_seconds, repeat, top)


def run_baseline(install_id: int, key: str, now: datetime) -> tuple[float, int]:
    """The plain UPDATE, committed: seconds (commit included) and rows updated."""
    from django.db import connection, transaction

    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # the job's own settings: neither side pays for compiling its
        cursor.execute("SET LOCAL work_mem = '32MB'")  # statement, both hash and sort with the same memory
        cursor.execute(_BASELINE, {"install": install_id, "key": key, "now": now})
        row = cursor.fetchone()
    return time.perf_counter() - t0, int(row[0]) if row else 0


def _check(run: JobRun, expected: Expected, problems: list[str]) -> None:
    want = {
        "periods": expected.periods,
        "released": expected.released,
        "netted": expected.netted,
        "netted_amount": expected.netted_amount,
        "payouts": expected.payouts,
    }
    for name, value in want.items():
        if run.result[name] != value:
            problems.append(f"{name}: {run.result[name]} (expected {value})")
    if run.repeat["periods"] or run.repeat["payouts"]:
        problems.append(f"NOT idempotent: the second run did {run.repeat}")


def _load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def fresh_copy() -> float:
    """The benchmark database as loaded (a copy of the frozen state); seconds it took."""
    t0 = time.perf_counter()
    common.copy_database(LOADED_DB, DB)
    return time.perf_counter() - t0


def measure(
    install_id: int,
    key: str,
    old_key: str,
    now: datetime,
    expected: Expected,
    *,
    rounds: int,
    batch: int,
    workers: int,
    problems: list[str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rounds (see the module's docstring); returns them and the verification of the first ``workers`` job."""
    entries = []
    checked: dict[str, Any] = {}
    sides = ["baseline", "job_1", f"job_{workers}"]
    for r in range(rounds):
        got: dict[str, Any] = {}
        load_before = _load_text()
        copies = []
        for side in sides if r % 2 == 0 else sides[::-1]:
            copies.append(fresh_copy())
            if side == "baseline":
                got[side] = run_baseline(install_id, key, now)
                continue
            job = got[side] = run_job(install_id, key, now, batch, int(side.split("_")[1]))
            _check(job, expected, problems)
            if side == f"job_{workers}" and not checked:
                checked = verify(install_id, key, old_key, expected, problems)
                print(f"rebate_settlement: verified in {checked['seconds']:.0f} s: {checked}", flush=True)
        base_seconds, base_rows = got["baseline"]
        if base_rows != expected.baseline_rows:
            problems.append(f"baseline updated {base_rows} rows (expected {expected.baseline_rows})")
        one, many = got["job_1"], got[f"job_{workers}"]
        entry = {
            "app_s": many.seconds,
            "app_1_s": one.seconds,
            "baseline_s": base_seconds,
            "ratio": common.ratio(many.seconds, base_seconds),
            "ratio_1": common.ratio(one.seconds, base_seconds),
            "speedup": common.ratio(one.seconds, many.seconds),
            "repeat_s": many.repeat_seconds,
            "result": many.result,
            "baseline_rows": base_rows,
            "copy_s": copies,
            "load_before": load_before,
            "load_after": _load_text(),
        }
        entries.append(entry)
        print(
            f"rebate_settlement round {r + 1}/{rounds}: settle on {workers} connections {many.seconds:.2f} s, on one "
            f"{one.seconds:.2f} s {one.result} (second runs {many.repeat_seconds:.2f} / {one.repeat_seconds:.2f} s, "
            f"{many.repeat['periods']} + {one.repeat['periods']} periods); plain UPDATE of the same {base_rows:,} "
            f"rows {base_seconds:.2f} s; ratio {entry['ratio']:.2f}x ({entry['ratio_1']:.2f}x on one connection); "
            f"load {load_before} → {entry['load_after']}",
            flush=True,
        )
        if r == 0:
            for head, seconds, count in one.statements:
                print(f"    {seconds:7.2f} s  {count:6d}x  {head}", flush=True)
    return entries, checked


def verify(install_id: int, key: str, old_key: str, expected: Expected, problems: list[str]) -> dict[str, Any]:
    """After the committed run: what the ledger, the counters and the payouts say, against the expectation."""
    from django.db import connection
    from django.db.models import Count, Sum

    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.ledger.models import Transfer
    from saleor_loyalty.rebates.models import RebatePayout, RebatePeriod
    from saleor_loyalty.rebates.queries import ledger_problems, rebate_audit

    install = Install.objects.get(pk=install_id)
    t0 = time.perf_counter()
    audit_seconds = {}
    for period in (key, old_key):
        started = time.perf_counter()
        for audit in rebate_audit(install, period):  # what the dashboard's "Totals by period" reads, each view
            problems.extend(f"audit {period}: {p}" for p in audit.problems)
        audit_seconds[period] = round(time.perf_counter() - started, 3)
    if expected.periods <= 200_000:  # it reads every account into Python: the SQL below is the same check at scale
        problems.extend(f"ledger: {p}" for p in ledger_problems(install, "USD"))
    with connection.cursor() as cursor:
        cursor.execute(_LEDGER_CHECK, {"install": install_id})
        row = cursor.fetchone()
    assert row is not None
    if row[0] != row[1]:
        problems.append(f"ledger balances {row[0]} ≠ period totals {row[1]}")
    with connection.cursor() as cursor:
        cursor.execute(_TOTALS_CHECK, {"install": install_id})
        row = cursor.fetchone()
    assert row is not None
    mismatched, accounts = int(row[0]), int(row[1])
    if mismatched:
        problems.append(f"{mismatched} of {accounts} accounts' running totals differ from their transfers")
    payouts = RebatePayout.objects.filter(install=install, period__period=key).aggregate(n=Count("pk"), s=Sum("amount"))
    if (payouts["n"], payouts["s"] or 0) != (expected.payouts, expected.paid_amount):
        problems.append(f"payouts {payouts} (expected {expected.payouts}, {expected.paid_amount})")
    rows = RebatePeriod.objects.filter(install=install, period=key).aggregate(
        paid=Sum("paid"), netted=Sum("netted"), payable=Sum("payable")
    )
    if (rows["paid"], rows["netted"], rows["payable"]) != (expected.paid_amount, expected.netted_amount, 0):
        problems.append(f"period totals {rows} (expected paid {expected.paid_amount}, netted {expected.netted_amount})")
    kinds = dict(
        Transfer.objects.filter(install_id=install_id, memo__period=key)
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    want_kinds = {
        "rebate_accrue": int(RebatePeriod.objects.filter(install=install, period=key).count()),
        "rebate_release": expected.periods,  # the earlier releases (already payable) and this run's
        "rebate_netting": expected.netted,
        "rebate_payout": expected.payouts,
    }
    if kinds != want_kinds:
        problems.append(f"transfers of {key} by kind {kinds} (expected {want_kinds})")
    return {
        "seconds": time.perf_counter() - t0,
        "audit_seconds": audit_seconds,
        "accounts_checked": accounts,
        "payouts": payouts["n"],
        "paid": payouts["s"],
        "transfers": kinds,
    }


# --- main ------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000, help="shoppers with accruals (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 shoppers")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/job pairs, alternating (default 2)")
    parser.add_argument("--batch", type=int, default=5000, help="periods per settlement transaction (5,000)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="connections the job settles on (default: CPUs)"
    )
    parser.add_argument("--wait", type=int, default=600, help="seconds to wait for other benchmarks to finish")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE one batch's settlement statement")
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB} in place afterwards")
    parser.add_argument("--load-only", action="store_true", help=f"generate the data into {DB}, keep it and stop")
    # options bench/run.py passes to every benchmark
    parser.add_argument("--duration", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--diagnose", action="store_true", help="the same as --explain")
    args = parser.parse_args(argv)
    members = 100_000 if args.quick else args.members
    assert 1_000 <= members <= 2_000_000 and 1 <= args.rounds <= 5 and 1 <= args.batch <= 50_000
    assert 2 <= args.workers <= 32, "the one-connection job is measured anyway: --workers is the other one"
    assert DB.startswith("loyalty_bench") and DB != common.BENCH_DB, "a database of this benchmark's own"

    started = time.monotonic()
    waited = wait_until_quiet(args.wait)
    now = datetime.now(UTC).replace(microsecond=0)
    common.create_database(DB)
    problems: list[str] = []
    try:
        common.migrate(app_env(), timeout=600)
        _django()

        print(f"rebate_settlement: generating {members:,} shoppers' accruals", flush=True)
        install_id, key, old_key, expected, load_seconds = load(members, now)
        print(f"rebate_settlement: loaded in {load_seconds:.0f} s; the job must do {expected}", flush=True)
        if args.load_only:
            args.keep_db = True
            raise SystemExit(f"rebate_settlement: {DB} loaded (install {install_id}, period {key}); kept")
        common.freeze_template(DB, LOADED_DB)
        waited += wait_until_quiet(args.wait)
        if args.explain or args.diagnose:
            fresh_copy()
            explain(install_id, key, now, args.batch)
        entries, checked = measure(
            install_id,
            key,
            old_key,
            now,
            expected,
            rounds=args.rounds,
            batch=args.batch,
            workers=args.workers,
            problems=problems,
        )
    finally:
        common.release_database(keep=args.keep_db, db=DB)
        if not args.keep_db:
            common.drop_database(LOADED_DB)

    app = common.median([e["app_s"] for e in entries])
    baseline = common.median([e["baseline_s"] for e in entries])
    ratio = common.median([e["ratio"] for e in entries])
    ratio_1 = common.median([e["ratio_1"] for e in entries])
    summary: dict[str, Any] = {
        "benchmark": "rebate_settlement",
        "unit": (
            f"s to settle a period's accounting on {args.workers} connections vs a plain UPDATE of the same rows, "
            "both committed (median over rounds)"
        ),
        "app": app,
        "baseline": baseline,
        "ratio": ratio,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "app_1_connection": common.median([e["app_1_s"] for e in entries]),
        "ratio_1_connection": ratio_1,
        "target": 2.0,
        "target_is_max": True,
        "met": ratio <= 2.0,
        "valid": not problems,
        "problems": problems,
        "scale": {"members": members, "expected": expected.__dict__},
        "load_s": load_seconds,
        "rounds": entries,
        "verified": checked,
        "waited_s": waited,
        "loadavg_end": _load_text(),
        "total_s": time.monotonic() - started,
    }
    print(
        f"rebate_settlement: {app:.2f} s on {args.workers} connections ({os.cpu_count()} CPUs) vs plain UPDATE "
        f"{baseline:.2f} s = {ratio:.2f}x (target ≤ 2.00: {'MET' if summary['met'] else 'MISSED'}); on one "
        f"connection {summary['app_1_connection']:.2f} s = {ratio_1:.2f}x",
        flush=True,
    )
    for problem in problems:
        print(f"rebate_settlement: PROBLEM {problem}", flush=True)
    common.emit_result(summary)
    return summary


def explain(install_id: int, key: str, now: datetime, batch: int) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the first batch's settlement statement, rolled back."""
    from django.db import connection, transaction

    from saleor_loyalty.rebates import bulk
    from saleor_loyalty.rebates.models import RebatePeriod

    ids = list(
        RebatePeriod.objects.filter(install_id=install_id, period=key, pending__gt=0, release_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        params = {**bulk._Terms().params(), "ids": ids, "now": now, "closing": True}
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + bulk._SETTLE, {**params, "wall": now})
        print("--- EXPLAIN ANALYZE: one batch\n" + "\n".join(r[0] for r in cursor.fetchall()), flush=True)
        transaction.set_rollback(True)


if __name__ == "__main__":
    sys.exit(0 if main()["valid"] else 1)
