"""The order-traffic simulator of ``tests/test_simulator.py`` (issue #10), run long: many seeds, long schedules.

``make test`` runs three seeds of 45 steps; this runs the same code over a range of seeds with longer schedules
and stops at the first seed that breaks an invariant (its message names the seed, the step and the last actions;
rerun that one with ``SIMULATOR_SEEDS=<seed>``). Needs what ``make test`` needs (PostgreSQL on 127.0.0.1).

Run: ``python -m bench.simulator [--seeds 1-200] [--steps 150]``.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-200", help="a seed or a range, e.g. 7 or 1-200")
    parser.add_argument("--steps", type=int, default=150, help="steps per seed before the final replay")
    args = parser.parse_args()
    env = {
        **os.environ,
        "SIMULATOR_SEEDS": args.seeds,
        "SIMULATOR_STEPS": str(args.steps),
        "TEST_DB_NAME": os.environ.get("TEST_DB_NAME", "loyalty_bench_simulator"),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-x", "tests/test_simulator.py"]
    return subprocess.call(command, cwd=REPO, env=env)


if __name__ == "__main__":
    sys.exit(main())
