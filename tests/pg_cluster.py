"""A private PostgreSQL server for the tests that restart one (tests/test_faults.py).

The suite's own PostgreSQL (127.0.0.1:5432) is shared with other work and is never restarted. A test that needs a
real server restart starts a throw-away cluster instead: ``initdb`` into a temporary directory, ``pg_ctl start`` on
a free port of 127.0.0.1 (trust authentication, fsync off, small buffers: speed over durability, nothing here is
kept), and at the end ``pg_ctl stop -m immediate`` and the directory deleted. initdb and postgres refuse to run as
root: as root (CI, this machine) they run as the ``postgres`` OS user via ``runuser``.

The binaries are PostgreSQL 15's (Debian's ``postgresql-15`` package) unless ``PG_BIN`` names another directory.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"  # the server's OS user when we run as root
SUPERUSER = "postgres"  # the cluster's database superuser

# Written into postgresql.conf, so a restart keeps them.
_SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 40
shared_buffers = 16MB
fsync = off
max_wal_size = 256MB
logging_collector = off
log_min_messages = warning
"""


class ClusterUnavailable(Exception):
    """The binaries are missing or the server did not start (the caller decides: fail under CI, skip elsewhere)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateCluster:
    """One PostgreSQL server of this process's own: ``start()``, ``restart(mode)``, ``destroy()``."""

    def __init__(self) -> None:
        self.port = 0
        self.root: Path | None = None
        self.as_other_user = os.geteuid() == 0

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def _run(self, binary: str, args: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = [str(PG_BIN / binary), *args]
        if self.as_other_user:
            cmd = ["runuser", "-u", OS_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def _check(self, what: str, proc: subprocess.CompletedProcess[str]) -> None:
        if proc.returncode != 0:
            raise ClusterUnavailable(f"{what} failed ({proc.returncode}): {proc.stdout[-1500:]}{proc.stderr[-1500:]}")

    def start(self) -> "PrivateCluster":
        """initdb a fresh cluster into a temporary directory and start it (the directory is removed by
        ``destroy``, also when this fails half-way)."""
        for binary in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / binary).is_file():
                raise ClusterUnavailable(f"{PG_BIN / binary} not found (install postgresql-15, or set PG_BIN)")
        if self.as_other_user and shutil.which("runuser") is None:
            raise ClusterUnavailable("running as root, and runuser (util-linux) is missing")
        # Not under pytest's tmp_path: that is private to root (0700), the server runs as another user.
        self.root = Path(tempfile.mkdtemp(prefix="loyalty-private-pg-"))
        if self.as_other_user:
            try:
                shutil.chown(self.root, user=OS_USER, group=None)
            except (LookupError, PermissionError) as exc:
                raise ClusterUnavailable(f"cannot hand {self.root} to the {OS_USER!r} OS user: {exc}") from exc
        self._check(
            "initdb",
            self._run(
                "initdb",
                ["-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            ),
        )
        self.port = free_port()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(_SETTINGS.format(port=self.port, sockets=self.root))
        self._check("pg_ctl start", self._pg_ctl("start"))
        return self

    def _pg_ctl(self, action: str, mode: str | None = None) -> subprocess.CompletedProcess[str]:
        args = ["-D", str(self.data), "-l", str(self.log), "-w", "-t", "60"]
        if mode is not None:
            args += ["-m", mode]
        return self._run("pg_ctl", [*args, action])

    def restart(self, mode: str = "fast") -> float:
        """``pg_ctl restart -m <mode>`` (``fast``: clients disconnected, clean shutdown; ``immediate``: every
        process killed, WAL recovery at start), waiting until it accepts connections. Returns the seconds taken."""
        begun = time.monotonic()
        proc = self._pg_ctl("restart", mode)
        if proc.returncode != 0:
            raise RuntimeError(f"pg_ctl restart -m {mode} failed: {proc.stdout}{proc.stderr}\n{self.server_log()}")
        return time.monotonic() - begun

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def url(self, dbname: str) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=dbname, autocommit=True)

    def create_database(self, dbname: str) -> None:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')

    def destroy(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and delete its directory."""
        if self.root is None:
            return
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
