"""The fault tests run longer (issue #10): ``tests/test_faults.py`` at ``FAULTS_SCALE`` times its events and
deliveries, ``--rounds`` times, each round a fresh test database.

Per round: a Celery worker SIGKILLed while blocked inside an event, then a new worker — every one of
20 × scale stored events settled exactly once; and 120 × scale deliveries posted by four threads to a live server
while PostgreSQL backends are terminated in 1 + scale bursts — every answer 200 or 503, the 503s re-posted, every
delivery stored once and settled once, the ledger sound. It measures no speed: it reports what was injected and
whether anything was lost or doubled (any failure is one).

Run: ``python -m bench.faults`` (``--scale 10 --rounds 3`` by default: 3 kills, 3,600 deliveries, ~33 bursts).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH_RESULT "
_INJECTED = re.compile(r"faults: (\d+) backends terminated; first answers (\{[^}]*\}); (\d+) re-posted")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10, help="times the tests' events and deliveries (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="how many times to run both tests (default 3)")
    args = parser.parse_args()
    env = {**os.environ, "FAULTS_SCALE": str(args.scale), "TEST_DB_NAME": "loyalty_bench_faults"}
    rounds = []
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
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
        rounds.append(
            {
                "round": number,
                "passed": proc.returncode == 0,
                "seconds": round(time.monotonic() - begun, 1),
                "backends_terminated": int(injected.group(1)) if injected else None,
                "first_answers": injected.group(2) if injected else None,
                "reposted": int(injected.group(3)) if injected else None,
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
        "deliveries": 120 * args.scale * args.rounds,
        "events_killed_over": 20 * args.scale * args.rounds,
        "seconds": round(time.monotonic() - started, 1),
        "valid": all(r["passed"] for r in rounds),
        "met": all(r["passed"] for r in rounds),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
