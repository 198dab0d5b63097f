"""The build stamp: a sha256 of dashboard_extension/'s sources and lockfile, written next to the built pages.

`make dashboard` writes it after building; a test recomputes it, so a source change committed without a rebuild
fails without needing Node. `python -m saleor_loyalty.dashboard.stamp [--write]` prints (or writes) it.
"""

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "dashboard_extension"
STAMP = Path(__file__).resolve().parent / "build.sha256"
# What does not change the build: installed packages, and notes for people.
_IGNORED_DIRS = {"node_modules"}
_IGNORED_SUFFIXES = {".md"}


def source_files(sources: Path = SOURCES) -> list[Path]:
    return sorted(
        path
        for path in sources.rglob("*")
        if path.is_file()
        and not _IGNORED_DIRS.intersection(path.relative_to(sources).parts)
        and path.suffix not in _IGNORED_SUFFIXES
    )


def source_digest(sources: Path = SOURCES) -> str:
    digest = hashlib.sha256()
    for path in source_files(sources):
        digest.update(path.relative_to(sources).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def recorded_digest() -> str:
    return STAMP.read_text().strip() if STAMP.exists() else ""


def main(argv: list[str]) -> int:
    digest = source_digest()
    if "--write" in argv:
        STAMP.write_text(digest + "\n")
    sys.stdout.write(digest + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
