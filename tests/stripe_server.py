"""Starting and stopping the fake Stripe (tests/stripe_fake.py: localstripe plus a stand-in) for the tests.

The server runs in a subprocess of its own on a free port: this process binds a listening socket on 127.0.0.1:0
and hands it over (no window in which another process could take the port), then waits until it answers.
``stripe_server`` in tests/conftest.py holds one for the whole session; the app reaches it through
``STRIPE_API_BASE``. Under CI a server that cannot start fails the tests that need it; elsewhere they are skipped.
"""

import importlib.util
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


class StripeServerUnavailable(Exception):
    pass


@dataclass
class StripeServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def requests(self) -> list[dict[str, Any]]:
        """Every request the server got (not its /_config/ ones), oldest first."""
        answer: list[dict[str, Any]] = requests.get(f"{self.url}/_config/standin/requests", timeout=5).json()
        return answer

    def forget_requests(self) -> None:
        requests.delete(f"{self.url}/_config/standin/requests", timeout=5).raise_for_status()

    def fault(self, method: str, path: str, mode: str, seconds: float = 30) -> None:
        """The next ``method path`` request hangs (``hang_before``: unhandled; ``hang_after``: handled, answer
        late) or is handled and answered with a 500 (``error_after``)."""
        body = {"method": method, "path": path, "mode": mode, "seconds": seconds}
        requests.post(f"{self.url}/_config/standin/faults", json=body, timeout=5).raise_for_status()

    def send_webhooks_to(self, name: str, url: str, secret: str, events: list[str] | None = None) -> None:
        """localstripe's own webhook sender: it signs every event it creates with ``secret`` and posts it."""
        data: dict[str, Any] = {"url": url, "secret": secret}
        if events is not None:
            data["events"] = events
        requests.post(f"{self.url}/_config/webhooks/{name}", json=data, timeout=5).raise_for_status()

    def stop_webhooks(self, name: str) -> None:
        """localstripe cannot forget a webhook: this one is narrowed to an event type that never happens."""
        self.send_webhooks_to(name, "http://127.0.0.1:9/", "whsec_unused", events=["never.happens"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_stripe_server(log_dir: Path) -> StripeServer:
    if importlib.util.find_spec("localstripe") is None:
        raise StripeServerUnavailable("localstripe is not installed (it is in the dev extras: make install)")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    log_path = log_dir / "stripe-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.stripe_fake", "--fd", str(listener.fileno())],
            cwd=ROOT,
            pass_fds=(listener.fileno(),),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    listener.close()  # the child holds its own copy
    server = StripeServer(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StripeServerUnavailable(f"the fake Stripe exited ({process.returncode}): {log_path.read_text()}")
        try:
            requests.get(f"{server.url}/_config/standin/requests", timeout=2).raise_for_status()
            return server
        except requests.RequestException:
            time.sleep(0.1)
    server.stop()
    raise StripeServerUnavailable(f"the fake Stripe did not answer within 20 s: {log_path.read_text()}")
