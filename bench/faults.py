"""The fault tests run longer (issue #10): ``tests/test_faults.py`` at ``FAULTS_SCALE`` times its events and
deliveries, ``--rounds`` times, each round a fresh test database (and a fresh private PostgreSQL server).

Per round: a Celery worker SIGKILLed while blocked inside an event, then a new worker — every one of
20 × scale stored events settled exactly once; 120 × scale deliveries posted by four threads to a live server
while PostgreSQL backends are terminated in 1 + scale bursts — every answer 200 or 503, the 503s re-posted, every
delivery stored once and settled once, the ledger sound; and 150 × scale deliveries posted by four threads to a
gunicorn web process, with a Celery worker, both on a private PostgreSQL server that is restarted 2 × scale times
during the burst (``pg_ctl restart``, ``-m fast`` and ``-m immediate`` in turn: the latter a crash, with WAL
recovery) and once more while the worker drains the backlog — the same checks, the worker recovering by itself
and every event settled with one attempt. It measures no speed: it reports what was injected and whether anything
was lost or doubled (any failure is one).

Run: ``python -m bench.faults`` (``--scale 10 --rounds 3`` by default: 3 kills, 8,100 deliveries, ~33 bursts of
terminations, ~63 server restarts).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH_RESULT "
_INJECTED = re.compile(r"faults: (\d+) backends terminated; first answers (\{[^}]*\}); (\d+) re-posted")
_RESTARTS = re.compile(
    r"restarts: (\d+) \((.*?)\); first answers (\{[^}]*\}); (\d+) re-posted; (\d+) unsettled after the burst, "
    r"(\d+) sweeps; (\d+) worker drains ended by a database error; ([\d.]+) s"
)
_RESTART = re.compile(r"([a-z][a-z -]*?) ([\d.]+) s")


def _restarts(stdout: str) -> dict[str, Any] | None:
    """What the server-restart test printed: each restart (mode, seconds), the answers, what the sweep took."""
    m = _RESTARTS.search(stdout)
    if m is None:
        return None
    return {
        "restarts": [{"mode": mode, "seconds": float(sec)} for mode, sec in _RESTART.findall(m.group(2))],
        "first_answers": m.group(3),
        "reposted": int(m.group(4)),
        "unsettled_after_burst": int(m.group(5)),
        "sweeps": int(m.group(6)),
        "worker_drains_failed": int(m.group(7)),
        "seconds": float(m.group(8)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="times the tests' events and deliveries (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="how many times to run both tests (default 3)")
    args = parser.parse_args()
    env = {**os.environ, "FAULTS_SCALE": str(args.scale), "TEST_DB_NAME": "loyalty_bench_faults"}
    rounds = []
    restart_runs: list[dict[str, Any]] = []  # what each round's restart test printed
    started = time.monotonic()
    for number in range(1, args.rounds + 1):
        begun = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/test_faults.py"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        injected = _INJECTED.search(proc.stdout)
        restarted = _restarts(proc.stdout)
        if restarted is not None:
            restart_runs.append(restarted)
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
        rounds.append(
            {
                "round": number,
                "passed": proc.returncode == 0,
                "seconds": round(time.monotonic() - begun, 1),
                "backends_terminated": int(injected.group(1)) if injected else None,
                "first_answers": injected.group(2) if injected else None,
                "reposted": int(injected.group(3)) if injected else None,
                "server_restart_test": restarted,
                "pytest": summary,
            }
        )
        print(f"faults round {number}/{args.rounds}: {json.dumps(rounds[-1])}", flush=True)
        if proc.returncode != 0:
            print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    result = {
        "benchmark": "faults",
        "scale": args.scale,
        "rounds": rounds,
        "kills": args.rounds,
        "deliveries": (120 + 150) * args.scale * args.rounds,
        "server_restarts": sum(len(run["restarts"]) for run in restart_runs),
        "restart_deliveries_reposted": sum(run["reposted"] for run in restart_runs),
        "events_killed_over": 20 * args.scale * args.rounds,
        "seconds": round(time.monotonic() - started, 1),
        "valid": all(r["passed"] for r in rounds),
        # every round passed, and ran the restart test (a skip is not a pass here)
        "met": all(r["passed"] and r["server_restart_test"] is not None for r in rounds),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
