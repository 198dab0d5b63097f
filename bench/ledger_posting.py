"""Ledger posting throughput on PostgreSQL: the app's ``post(...)`` primitive against ``pgbench -b tpcb-like``.

What is measured: 8 threads, each with its own database connection, each calling
``saleor_loyalty.ledger.posting.post(...)`` in a loop: a member-to-member transfer of 1 point between two random
members (both with running balances, the debit one ``no_overdraft``, every member funded beforehand so no debit
can fail), each posting with a unique idempotency key. A posting is one INSERT (with its unique key) plus the two
balance updates — the shape of PERFORMANCE.md's "running balances on the member row only" — sent as ONE
statement, atomic on its own. ``--diagnose`` also measures it wrapped in ``transaction.atomic()`` (as multi-step
actions use it) and the same SQL hand-written on plain psycopg.

The baseline, measured in the same run on the same database (``loyalty_bench``) for the same duration, is
``pgbench -b tpcb-like`` at scale 8 with 8 clients (three UPDATEs, one SELECT, one INSERT per transaction, in C).
The figure is postings/s ÷ tpcb tps; target ≥ 0.80. After the run the ledger is checked: one transfer per
counted posting, and member balances still sum to what was funded (every posting moved points, none created).

Run: ``python -m bench.ledger_posting`` (``--help`` for duration, rounds, member count). Needs ``pgbench``.
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Any

from bench import common

THREADS = 8
PGBENCH_SCALE = 8
TARGET = 0.80
FUNDING = 10**9  # points per member: far more than any run can move out
MAX_POSTINGS_PER_THREAD = 200_000  # the count bound on each loop (the time bound is --duration)


def _django() -> None:
    """Configure Django in this process for the app, pointed at the bench database."""
    os.environ.update(common.app_env())
    import django

    django.setup()


@dataclass
class Fixture:
    install_id: int
    accounts: list[Any]  # the members' points accounts (ledger.models.Account)
    funded: int


def setup_ledger(members: int) -> Fixture:
    """An install, ``members`` members each with a no-overdraft points account, funded from the program account."""
    from django.db import connections, transaction

    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.ledger.accounts import program_account
    from saleor_loyalty.ledger.models import POINTS, Account, AccountCode, TransferKind
    from saleor_loyalty.ledger.posting import post
    from saleor_loyalty.members.models import Member

    install = Install(saleor_api_url="https://bench-shop.example/graphql/", app_id="QXBwOjE=", jwks={"keys": []})
    install.set_auth_token("bench-token")
    install.save()
    Member.objects.bulk_create(
        [Member(install=install, saleor_user_id=f"bench-user-{i}", email=f"u{i}@example.com") for i in range(members)]
    )
    member_rows = list(Member.objects.filter(install=install).order_by("pk"))
    Account.objects.bulk_create(
        [
            Account(install=install, member=m, code=AccountCode.POINTS, unit=POINTS, no_overdraft=True)
            for m in member_rows
        ]
    )
    accounts = list(Account.objects.filter(install=install, member__isnull=False).order_by("pk"))
    issued = program_account(install.pk, AccountCode.ISSUED)
    with transaction.atomic():
        for account in accounts:
            post(
                install_id=install.pk,
                key=f"fund-{account.pk}",
                kind=TransferKind.ADJUST,
                debit=issued,
                credit=account,
                amount=FUNDING,
                member_id=account.member_id,
            )
    accounts = list(Account.objects.filter(install=install, member__isnull=False).order_by("pk"))
    connections.close_all()
    return Fixture(install_id=install.pk, accounts=accounts, funded=FUNDING * len(accounts))


@dataclass
class Posting:
    postings: int
    seconds: float
    rate: float
    mean_ms: float
    p99_ms: float
    errors: int


def run_postings(fixture: Fixture, seconds: float, tag: str, in_transaction: bool = False) -> Posting:
    """8 threads posting member→member transfers until ``seconds`` have passed (or the count bound).

    A posting is one statement, atomic on its own; ``in_transaction`` wraps each in ``transaction.atomic()`` as a
    multi-step action (earn: transfer + lot + member) does, which adds the BEGIN/COMMIT round trips.
    """
    from django.db import connections, transaction

    from saleor_loyalty.ledger.models import TransferKind
    from saleor_loyalty.ledger.posting import post

    start = threading.Barrier(THREADS + 1)
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors = [0] * THREADS
    deadline = [0.0]

    def worker(tid: int) -> None:
        rng = random.Random(tid)
        accounts = fixture.accounts
        mine = latencies[tid]
        try:
            start.wait()
            for n in range(MAX_POSTINGS_PER_THREAD):
                t0 = time.perf_counter()
                if t0 >= deadline[0]:
                    break
                debit, credit = rng.sample(accounts, 2)
                try:
                    with transaction.atomic() if in_transaction else nullcontext():
                        post(
                            install_id=fixture.install_id,
                            key=f"{tag}-{tid}-{n}",
                            kind=TransferKind.ADJUST,
                            debit=debit,
                            credit=credit,
                            amount=1,
                            member_id=debit.member_id,
                        )
                except Exception:
                    errors[tid] += 1
                    continue
                mine.append(time.perf_counter() - t0)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(t,), name=f"poster-{t}") for t in range(THREADS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return _summarise(latencies, errors, time.perf_counter() - began)


_RAW_INSERT = """
INSERT INTO ledger_transfer (install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id, amount,
                             unit, member_id, memo, created_at)
VALUES (%s, %s, 'adjust', 'posted', %s, %s, 1, 'PTS', %s, '{}', now())
ON CONFLICT (install_id, idempotency_key) DO NOTHING
RETURNING id
"""
_RAW_DEBIT = (
    "UPDATE ledger_account SET debits_posted = debits_posted + 1 WHERE id = %s"
    " AND (NOT no_overdraft OR credits_posted >= debits_posted + debits_pending + 1)"
)
_RAW_CREDIT = "UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = %s"


def run_raw_postings(fixture: Fixture, seconds: float, tag: str) -> Posting:
    """Diagnostic: the same three statements per transaction, hand-written SQL on plain psycopg, 8 threads.

    This is the ceiling for Python threads doing this posting shape here; the gap between it and ``post()`` is
    the app's own per-posting overhead.
    """
    start = threading.Barrier(THREADS + 1)
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors = [0] * THREADS
    deadline = [0.0]

    def worker(tid: int) -> None:
        rng = random.Random(1000 + tid)
        accounts = fixture.accounts
        mine = latencies[tid]
        with common.bench_connection() as conn:
            conn.autocommit = False
            start.wait()
            for n in range(MAX_POSTINGS_PER_THREAD):
                t0 = time.perf_counter()
                if t0 >= deadline[0]:
                    break
                debit, credit = rng.sample(accounts, 2)
                try:
                    with conn.transaction():
                        conn.execute(
                            _RAW_INSERT, (fixture.install_id, f"{tag}-{tid}-{n}", debit.pk, credit.pk, debit.member_id)
                        ).fetchone()
                        for statement, pk in sorted(
                            ((_RAW_DEBIT, debit.pk), (_RAW_CREDIT, credit.pk)), key=lambda s: s[1]
                        ):
                            if conn.execute(statement, (pk,)).rowcount != 1:
                                raise RuntimeError("overdraft")
                except Exception:
                    errors[tid] += 1
                    continue
                mine.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, args=(t,), name=f"raw-poster-{t}") for t in range(THREADS)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return _summarise(latencies, errors, time.perf_counter() - began)


def _summarise(latencies: list[list[float]], errors: list[int], elapsed: float) -> Posting:
    everything = sorted(x for per in latencies for x in per)
    count = len(everything)
    return Posting(
        postings=count,
        seconds=elapsed,
        rate=count / elapsed,
        mean_ms=1000 * sum(everything) / count if count else float("nan"),
        p99_ms=1000 * everything[min(count - 1, int(count * 0.99))] if count else float("nan"),
        errors=sum(errors),
    )


def check_ledger(fixture: Fixture, expected_transfers: int) -> None:
    """Every counted posting left exactly one transfer, and the member balances still sum to the funding."""
    from django.db import connection
    from django.db.models import F, Sum

    from saleor_loyalty.ledger.models import Account, Transfer

    transfers = Transfer.objects.filter(install_id=fixture.install_id, idempotency_key__startswith="run").count()
    total = Account.objects.filter(install_id=fixture.install_id, member__isnull=False).aggregate(
        s=Sum(F("credits_posted") - F("debits_posted"))
    )["s"]
    connection.close()
    if transfers != expected_transfers or total != fixture.funded:
        raise SystemExit(
            f"ledger check FAILED: {transfers} transfers for {expected_transfers} postings, "
            f"member balances sum to {total}, funded {fixture.funded}"
        )


# --- pgbench -----------------------------------------------------------------------------------------------------


def _pgbench_cmd() -> list[str]:
    exe = shutil.which("pgbench")
    if exe is None:
        raise SystemExit("pgbench is not installed (Debian: apt-get install postgresql-client)")
    return [exe, "-h", common.PG_HOST, "-p", str(common.PG_PORT), "-U", common.PG_USER]


def pgbench_init() -> None:
    subprocess.run(
        [*_pgbench_cmd(), "-i", "-q", "-s", str(PGBENCH_SCALE), common.BENCH_DB],
        check=True,
        capture_output=True,
        timeout=600,
    )


@dataclass
class Tpcb:
    tps: float
    transactions: int
    latency_ms: float
    failed: int


def pgbench_run(seconds: int) -> Tpcb:
    cmd = [*_pgbench_cmd(), "-b", "tpcb-like", "-c", str(THREADS), "-j", "2", "-T", str(seconds), common.BENCH_DB]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 120).stdout

    def grab(pattern: str, default: str = "nan") -> str:
        found = re.search(pattern, out)
        return found.group(1) if found else default

    return Tpcb(
        tps=float(grab(r"tps = ([\d.]+)")),
        transactions=int(grab(r"number of transactions actually processed: (\d+)", "0")),
        latency_ms=float(grab(r"latency average = ([\d.]+) ms")),
        failed=int(grab(r"number of failed transactions: (\d+)", "0")),
    )


# --- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Many short pairs, alternating, and the median of their ratios: on a shared machine a burst of other load
    # lands on one or two pairs and moves the median little (two 15 s pairs let one burst decide the figure).
    parser.add_argument("--duration", type=int, default=5, help="measured seconds per side (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per side (default 2)")
    parser.add_argument("--rounds", type=int, default=6, help="pgbench/app pairs, alternating order (default 6)")
    parser.add_argument("--members", type=int, default=2000, help="members (accounts) transfers move between")
    parser.add_argument(
        "--diagnose", action="store_true", help="also measure the same SQL hand-written on plain psycopg (8 threads)"
    )
    parser.add_argument("--keep-db", action="store_true", help="leave loyalty_bench in place afterwards")
    args = parser.parse_args(argv)
    assert 1 <= args.duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 10
    assert 2 <= args.members <= 100_000

    started = time.monotonic()
    common.create_database()
    rounds: list[dict[str, Any]] = []
    try:
        common.migrate()
        _django()
        fixture = setup_ledger(args.members)
        pgbench_init()
        print(f"ledger: {args.members} funded members, pgbench scale {PGBENCH_SCALE}, ready", flush=True)
        counted = 0
        for r in range(args.rounds):
            sides = ("pgbench", "app") if r % 2 == 0 else ("app", "pgbench")
            app: Posting | None = None
            tpcb: Tpcb | None = None
            for side in sides:
                if side == "app":
                    if args.warmup:
                        counted += run_postings(fixture, args.warmup, f"run{r}w").postings
                    app = run_postings(fixture, args.duration, f"run{r}")
                    counted += app.postings
                else:
                    if args.warmup:
                        pgbench_run(args.warmup)
                    tpcb = pgbench_run(args.duration)
            assert app is not None and tpcb is not None
            raw: Posting | None = None
            wrapped: Posting | None = None
            if args.diagnose:
                if args.warmup:
                    counted += run_raw_postings(fixture, args.warmup, f"run{r}rw").postings
                raw = run_raw_postings(fixture, args.duration, f"run{r}r")
                counted += raw.postings
                wrapped = run_postings(fixture, args.duration, f"run{r}t", in_transaction=True)
                counted += wrapped.postings
            value = common.ratio(app.rate, tpcb.tps)
            print(
                f"ledger round {r + 1}/{args.rounds}:\n"
                f"  pgbench tpcb-like: {tpcb.tps:8.0f} tps        latency avg {tpcb.latency_ms:6.2f} ms "
                f"({tpcb.transactions} transactions, {tpcb.failed} failed)\n"
                f"  app post():        {app.rate:8.0f} postings/s latency avg {app.mean_ms:6.2f} ms, "
                f"p99 {app.p99_ms:6.2f} ms ({app.postings} postings in {app.seconds:.1f} s, {app.errors} errors)\n"
                f"  ratio app/pgbench: {value:.2f}  (load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            entry: dict[str, Any] = {
                "app": asdict(app),
                "pgbench": asdict(tpcb),
                "ratio": value,
                "load_average": os.getloadavg()[0],
            }
            if raw is not None:
                entry["raw_sql"] = asdict(raw)
                entry["ratio_raw_sql"] = common.ratio(raw.rate, tpcb.tps)
                print(
                    f"  diagnostic, same SQL on plain psycopg: {raw.rate:8.0f} postings/s "
                    f"(ratio to pgbench {entry['ratio_raw_sql']:.2f}; app post() reaches "
                    f"{common.ratio(app.rate, raw.rate):.2f} of it)",
                    flush=True,
                )
            if wrapped is not None:
                entry["in_transaction"] = asdict(wrapped)
                entry["ratio_in_transaction"] = common.ratio(wrapped.rate, tpcb.tps)
                print(
                    f"  diagnostic, post() inside transaction.atomic(): {wrapped.rate:8.0f} postings/s "
                    f"(ratio to pgbench {entry['ratio_in_transaction']:.2f})",
                    flush=True,
                )
            rounds.append(entry)
        check_ledger(fixture, counted)
        print(f"ledger: check passed ({counted} transfers, member balances sum to the funding)", flush=True)
    finally:
        common.release_database(keep=args.keep_db)

    value = common.median([r["ratio"] for r in rounds])
    summary = {
        "benchmark": "ledger_posting",
        "unit": "postings/s vs tps",
        "app": common.median([r["app"]["rate"] for r in rounds]),
        "app_p99_ms": common.median([r["app"]["p99_ms"] for r in rounds]),
        "baseline": common.median([r["pgbench"]["tps"] for r in rounds]),
        "ratio": value,
        "target": TARGET,
        "met": value >= TARGET,
        "valid": all(r["app"]["errors"] == 0 and r["pgbench"]["failed"] == 0 for r in rounds),
        "rounds": rounds,
    }
    print(
        f"ledger: app {summary['app']:.0f} postings/s vs pgbench tpcb-like {summary['baseline']:.0f} tps: "
        f"ratio {value:.2f}, target ≥ {TARGET:.2f} {common.verdict(value, TARGET)}  "
        f"[{time.monotonic() - started:.0f} s]",
        flush=True,
    )
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    main()
