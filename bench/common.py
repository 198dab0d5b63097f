"""Shared plumbing for the benchmarks: the throw-away database, gunicorn processes, and how figures are printed.

Every benchmark runs against its own PostgreSQL database, ``loyalty_bench``, created at the start and dropped at
the end; nothing else on the server is touched. All load goes to 127.0.0.1. Figures are reported as a ratio to
a baseline measured in the same run, because the machine (client, server and PostgreSQL on two cores) is noisy.
"""

import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BENCH_DB = "loyalty_bench"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
DATABASE_URL = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{BENCH_DB}"
# Databases that belong to other people; a guard, in case BENCH_DB is ever edited by mistake.
_PROTECTED = {"saleor_loyalty", "test_saleor_loyalty", "saleor_real", "loyalty_real", "postgres"}
RESULT_PREFIX = "BENCH_RESULT "


def _admin_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True)


def drop_database(db: str = BENCH_DB) -> None:
    assert db.startswith("loyalty_bench") and db not in _PROTECTED  # a throw-away database, never anyone else's
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def create_database(db: str = BENCH_DB) -> None:
    """A fresh, empty database (any leftover from an aborted run is dropped first)."""
    drop_database(db)
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{db}"')


def _close_django() -> None:
    if "DJANGO_SETTINGS_MODULE" in os.environ:
        from django.db import connections

        connections.close_all()


def freeze_template(db: str, template: str) -> None:
    """Copy ``db`` as ``template`` (this process's Django connections closed first; nobody else may be connected),
    closed to connections so nobody (autovacuum) holds it when it is copied back."""
    _close_django()
    drop_database(template)
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{db}"')
        conn.execute(f'ALTER DATABASE "{template}" ALLOW_CONNECTIONS false')


def copy_database(template: str, db: str) -> None:
    """``db`` afresh as a copy of ``template`` (``freeze_template``); this process's Django connections closed."""
    _close_django()
    drop_database(db)
    for attempt in range(20):
        try:
            with _admin_connection() as conn:
                conn.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
            return
        except Exception as exc:  # "source database is being accessed by other users": a moment later it is not
            if attempt == 19 or "being accessed" not in str(exc):
                raise
            time.sleep(0.5)


def release_database(*, keep: bool, db: str = BENCH_DB) -> None:
    """End of a benchmark: close this process's Django connections (if it set Django up), then drop the
    database unless ``keep`` (``--keep-db``)."""
    _close_django()
    if not keep:
        drop_database(db)


def bench_connection(db: str = BENCH_DB) -> psycopg.Connection[Any]:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=db, autocommit=True)


def app_env(**extra: str) -> dict[str, str]:
    """Environment for the app (settings from the environment) pointed at the bench database."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "saleor_loyalty.settings",
            "DATABASE_URL": DATABASE_URL,
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
            "LOG_LEVEL": "WARNING",
            "DEBUG": "false",
            "CONN_MAX_AGE": "60",
            "FIELD_ENCRYPTION_KEYS": "bJ0w3f3mV7a2y2yQf1kJHk0H2cX6l9sKc9o5b0nqG2I=",
            "ALLOWED_SALEOR_URLS": "*",
            "SALEOR_ALLOWED_NETWORKS": "127.0.0.0/8",
            "PYTHONPATH": str(REPO),
        }
    )
    env.pop("CELERY_BROKER_URL", None)
    env.update(extra)
    return env


def migrate(env: dict[str, str] | None = None, timeout: float = 300) -> None:
    """Apply the app's migrations to the bench database (in a subprocess, so this process stays Django-free)."""
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=env if env is not None else app_env(),
        check=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered: up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f} s")


@contextmanager
def gunicorn(
    wsgi_app: str, env: Mapping[str, str], probe_path: str, workers: int = 4, output: Path | None = None
) -> Iterator[str]:
    """Serve ``wsgi_app`` with gunicorn (``workers`` sync workers) on a free 127.0.0.1 port; yields the base URL.
    Its output goes to ``output`` (appended) when given, else to this process's."""
    port = free_port()
    cmd = [
        PYTHON,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--chdir",
        str(REPO),
        wsgi_app,
    ]
    if output is None:
        proc = subprocess.Popen(cmd, cwd=REPO, env=dict(env))
    else:
        with open(output, "ab") as out:
            proc = subprocess.Popen(cmd, cwd=REPO, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_http(base + probe_path, proc)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop: the master stops its own workers
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else float("nan")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(value: float, target: float) -> str:
    return "MET" if value >= target else "MISSED"


def emit_result(result: Mapping[str, Any]) -> None:
    """One machine-readable line that ``bench/run.py`` collects for its summary."""
    print(RESULT_PREFIX + json.dumps(result, sort_keys=True), flush=True)


def latency_ms(samples: list[float]) -> dict[str, float]:
    """p50, p99 and mean of per-operation durations (seconds), in milliseconds; NaN when there are none."""
    ordered = sorted(samples)
    count = len(ordered)
    if not count:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "mean_ms": float("nan")}
    return {
        "p50_ms": 1000 * ordered[count // 2],
        "p99_ms": 1000 * ordered[min(count - 1, int(count * 0.99))],
        "mean_ms": 1000 * sum(ordered) / count,
    }


class WsgiClient:
    """POSTs to the app's WSGI handler in this process, as gunicorn would (after Django is set up): the whole
    request path a client waits for, without the network."""

    def __init__(self, path: str) -> None:
        from django.core.handlers.wsgi import WSGIHandler  # Django only once the benchmark has set it up

        self.handler = WSGIHandler()
        self.path = path
        self.status = ""

    def _start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        self.status = status
        return lambda data: None

    def post(self, body: bytes, token: str) -> tuple[str, bytes]:
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": self.path,
            "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        response = self.handler(environ, self._start_response)
        try:
            answer = b"".join(response)
        finally:
            response.close()  # request_finished: Django's per-request connection housekeeping, as in production
        return self.status, answer
