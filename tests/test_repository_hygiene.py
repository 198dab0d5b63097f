"""The repository as committed: no merge left its conflict markers in any tracked file (a built dashboard chunk
once kept them, and the browser refused the page with a syntax error)."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = re.compile(rb"^(<{7,}|>{7,}) ", re.MULTILINE)  # 8 after a rename conflict


def test_no_tracked_file_holds_a_merge_conflict_marker():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    marked = [
        name.decode()
        for name in files
        if name and (REPO / name.decode()).is_file() and MARKER.search((REPO / name.decode()).read_bytes())
    ]
    assert marked == []
