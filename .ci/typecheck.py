"""Run mypy over the package as it is installed: with webhooks/ mapped to saleor_loyalty/webhooks.

mypy names modules after folders, so in the source tree it would see a top-level ``webhooks`` package while
the code (and Django) know it as ``saleor_loyalty.webhooks``. This builds the installed layout from symlinks
in a private folder under build/, runs mypy there, and reports paths as they are in the source tree.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
LAYOUT = {  # path in the installed layout -> folder in the source tree
    "saleor_loyalty": "saleor_loyalty",
    "saleor_loyalty/webhooks": "webhooks",
    "tests": "tests",
    "bench": "bench",
}


def main() -> int:
    BUILD.mkdir(exist_ok=True)
    # A private tree per run: two runs at once (developers, CI) must not rebuild each other's links.
    out = Path(tempfile.mkdtemp(prefix="typecheck-", dir=BUILD))
    try:
        return _check(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _check(out: Path) -> int:
    for target, source in LAYOUT.items():
        for file in (ROOT / source).rglob("*.py"):
            link = out / target / file.relative_to(ROOT / source)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file)
    result = subprocess.run(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "setup.cfg"),
            "--cache-dir",
            str(BUILD / "mypy-cache"),
            *(t for t in LAYOUT if "/" not in t),
        ],
        cwd=out,
        capture_output=True,
        text=True,
        # django-stubs imports the settings, which refuse to load without DEBUG or production secrets
        env={**os.environ, "DEBUG": "true", "PYTHONPATH": str(ROOT)},
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
