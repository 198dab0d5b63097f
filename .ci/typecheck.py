"""Run mypy over the package as it is installed: with webhooks/ mapped to saleor_loyalty/webhooks.

mypy names modules after folders, so in the source tree it would see a top-level ``webhooks`` package while
the code (and Django) know it as ``saleor_loyalty.webhooks``. This builds the installed layout from symlinks
in build/typecheck/, runs mypy there, and reports paths as they are in the source tree.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "typecheck"
LAYOUT = {  # path in the installed layout -> folder in the source tree
    "saleor_loyalty": "saleor_loyalty",
    "saleor_loyalty/webhooks": "webhooks",
    "tests": "tests",
    "bench": "bench",
}


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    for target, source in LAYOUT.items():
        for file in (ROOT / source).rglob("*.py"):
            link = OUT / target / file.relative_to(ROOT / source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "setup.cfg"), *(t for t in LAYOUT if "/" not in t)],
        cwd=OUT,
        capture_output=True,
        text=True,
        env={"SECRET_KEY": "typecheck-only-secret-key-0123456789abcdef", **os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    output = result.stdout + result.stderr
    for target, source in sorted(LAYOUT.items(), key=lambda item: -len(item[0])):
        if target != source:
            output = output.replace(f"{target}/", f"{source}/")
    sys.stdout.write(output)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
