"""Run every benchmark and print a summary (``make bench``).

Each benchmark runs in its own process (``python -m bench.<name>``) with its own throw-away ``loyalty_bench``
database, and reports its figure as a ratio to a baseline measured in the same run. The options all benchmarks
share are passed on, e.g. ``python bench/run.py --rounds 3 --diagnose``; for the others run a benchmark alone
(``python -m bench.ingest --help``). Exit status: 0 when every target is met and every measurement was clean
(``balance_query`` and ``redemption_overhead`` have no target: their figures are reported, only cleanness counts;
``dashboard_reads``' target is a ceiling: app/SQL at most 10x for each of its two reads; ``processing`` has three
targets: per worker at least 0.25x the bare posting, two workers at least 1.6x one, at most 10 statements per earn).
``--nightly`` also runs ``bench/nightly.py`` (the nightly jobs over generated millions of rows; ~4 minutes, so
opt-in only; no target either). ``--rebates`` also runs ``bench/rebate_settlement.py`` (settling a period for
1,000,000 shoppers; ~10–30 minutes, opt-in only; target: at most 2x a plain UPDATE of the same rows).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH_RESULT "  # as in bench.common (not imported: this file runs as a plain script)
BENCHMARKS = ("ingest", "ledger_posting", "balance_query", "redemption_overhead", "dashboard_reads", "processing")


def run(name: str, extra: list[str]) -> dict[str, Any] | None:
    print(f"== {name} ==", flush=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}", *extra],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    result = None
    for line in proc.stdout:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
        else:
            print(line, end="", flush=True)
    if proc.wait(timeout=1800) != 0:
        print(f"{name}: FAILED (exit code {proc.returncode})", flush=True)
        return None
    return result


def _figure(value: float) -> str:
    """Rates as whole numbers, latencies (ms) with decimals."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, help="measured seconds per side (each benchmark has its own default)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per side")
    parser.add_argument(
        "--rounds", type=int, help="baseline/app pairs, alternating order (each benchmark has its own default)"
    )
    parser.add_argument("--diagnose", action="store_true", help="also run the diagnostic variants")
    parser.add_argument("--nightly", action="store_true", help="also run bench/nightly.py (long: ~4 minutes)")
    parser.add_argument(
        "--rebates", action="store_true", help="also run bench/rebate_settlement.py (10-30 minutes at 1M shoppers)"
    )
    args = parser.parse_args()
    extra = [f"--{k}={v}" for k, v in vars(args).items() if v is not None and not isinstance(v, bool)]
    extra += ["--diagnose"] if args.diagnose else []
    started = time.monotonic()
    names = BENCHMARKS + (("nightly",) if args.nightly else ()) + (("rebate_settlement",) if args.rebates else ())
    results = {name: run(name, extra) for name in names}
    print("\n== summary ==")
    print(f"{'benchmark':<20}{'app':>14}{'baseline':>14}{'ratio':>8}{'target':>8}  verdict")
    ok = True
    for name, r in results.items():
        if r is None:
            print(f"{name:<20}{'-':>14}{'-':>14}{'-':>8}{'-':>8}  FAILED")
            ok = False
            continue
        has_target = r.get("target") is not None
        verdict = ("MET" if r["met"] else "MISSED") if has_target else "reported (no target)"
        verdict += "" if r["valid"] else " (unclean measurement)"
        ok = ok and (r["met"] or not has_target) and r["valid"]
        target = ("<=" if r.get("target_is_max") else "") + f"{r['target']:.2f}" if has_target else "-"
        print(f"{name:<20}{_figure(r['app']):>14}{_figure(r['baseline']):>14}{r['ratio']:>8.2f}{target:>8}  {verdict}")
        for part, p in (r.get("reads") or {}).items():  # a benchmark of several reads: one line each
            met = "MET" if p["met"] else "MISSED"
            figures = f"{_figure(p['app']):>14}{_figure(p['baseline']):>14}{p['ratio']:>8.2f}"
            print(f"  {part:<18}{figures}{target:>8}  {met}")
        if name == "processing":  # its other targets: one line each
            met = r["targets_met"]
            print(
                f"  {'2 workers':<18}{_figure(r['app_2_workers']):>14}{_figure(r['app']):>14}{r['speedup']:>8.2f}"
                f"{r['speedup_target']:>8.2f}  {'MET' if met['speedup'] else 'MISSED'} ({r['cpu_count']} CPUs)"
            )
            print(
                f"  {'statements/earn':<18}{_figure(r['earn_statements']):>14}{'-':>14}{'-':>8}"
                f"{'<=' + str(r['earn_statements_target']):>8}  {'MET' if met['earn_statements'] else 'MISSED'}"
            )
    print("ingest: requests/s, app vs bench/floor (Django + PyJWT verify + INSERT)")
    print("ledger_posting: post() postings/s vs pgbench tpcb-like tps, same database")
    print("balance_query: p50 ms per me { balance } request (in-process WSGI) vs the bare SELECT; ratio = app/SQL")
    print("redemption_overhead: p50 ms per redeem() (instant fake Saleor) vs ledger hold alone; ratio = redeem/hold")
    print(
        "dashboard_reads: p50 ms per staff request (customer widget, tiers panel; in-process WSGI) vs the same reads"
        " in hand-written SQL; ratio = app/SQL"
    )
    print(
        "processing: events/s drained by one Celery worker process vs the bare posting of the same earns (postings/s),"
        " ratio per worker; then 2 workers vs 1, and SQL statements per earn"
    )
    if args.nightly:
        print("nightly: s for the expiry, tier review and birthday jobs vs plain UPDATEs of the same rows (job/SQL)")
    if args.rebates:
        print("rebate_settlement: s to settle a period's accounting (1M shoppers) vs a plain UPDATE of the same rows")
    print(f"total {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
