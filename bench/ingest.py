"""Webhook ingest throughput: verify Saleor's signature, store the delivery in the inbox, answer 2xx.

What is measured: ``POST /api/webhooks/orders`` on the real app (``saleor_loyalty.wsgi`` under gunicorn, 4 sync
workers, PostgreSQL database ``loyalty_bench``), driven by ``wrk`` with 16 connections replaying pre-signed
``order_fully_paid`` deliveries (RFC 7797 detached JWS, RS256, signed here with a local RSA key whose JWKS is on
the Install row). The app is started with ``CELERY_BROKER_URL=redis://127.0.0.1:6379/15`` so the hand-off to
processing is one Redis push and no worker runs: this measures ingest, not processing. Redis db 15 is flushed
before and after.

The baseline, measured in the same run and served the same way, is ``bench/floor``: a bare Django view doing the
same PyJWT verification plus one INSERT (the "floor" of docs/PERFORMANCE). The figure is app/floor; target ≥ 0.80.

Every measured request carries a body the server has not seen (the pool is sized to outlast the run and the
tables are emptied before each measurement): a repeated body would take the app's cheaper duplicate path (no
insert, no enqueue) and flatter it. The run checks that every response was 2xx and every request was stored.

Run: ``python -m bench.ingest`` (``--help`` for duration, rounds and pool size). Needs ``wrk`` and Redis.
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from bench import common

API_URL = "https://bench-shop.example/graphql/"
KID = "bench-key-1"
REDIS_URL = "redis://127.0.0.1:6379/15"
CONNECTIONS = 16
WRK_THREADS = 2
LUA = Path(__file__).with_name("ingest.lua")
TARGET = 0.80
INBOX_TABLE = "webhooks_inbox_event"
FLOOR_TABLE = "bench_floor_event"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


# --- signed deliveries -------------------------------------------------------------------------------------------


def _gid(kind: str, value: str) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def order_body(n: int) -> bytes:
    """An ``OrderFullyPaid`` delivery shaped like Saleor 3.23's for our subscription (about 2.3 kB), unique per n."""
    user = n % 500
    created = T0 + timedelta(seconds=n)
    email = f"shopper-{user}@example.com"

    def line(i: int, quantity: int, unit: float, category: str) -> dict[str, Any]:
        variant = _gid("ProductVariant", str(300 + (n + i) % 90))
        return {
            "id": _gid("OrderLine", str(uuid.UUID(int=n * 10 + i))),
            "quantity": quantity,
            "quantityFulfilled": 0,
            "productSku": f"1122{(n + i) % 10000:05d}",
            "productVariantId": variant,
            "variant": {
                "id": variant,
                "product": {
                    "id": _gid("Product", str(100 + (n + i) % 60)),
                    "category": {"id": _gid("Category", str(20 + i)), "slug": category},
                },
            },
            "unitPrice": {"gross": {"amount": unit}, "net": {"amount": unit}},
            "totalPrice": {"gross": {"amount": unit * quantity, "currency": "USD"}, "net": {"amount": unit * quantity}},
        }

    lines = [line(0, 2, 45.0, "t-shirts"), line(1, 1, 50.0 + n % 7, "sneakers")]
    total = sum(entry["totalPrice"]["gross"]["amount"] for entry in lines)
    event = {
        "__typename": "OrderFullyPaid",
        "issuedAt": (created + timedelta(milliseconds=300)).isoformat(),
        "version": "3.23.28",
        "issuingPrincipal": {"__typename": "User", "id": _gid("User", str(user))},
        "order": {
            "id": _gid("Order", str(uuid.UUID(int=n))),
            "number": str(n),
            "status": "UNFULFILLED",
            "created": created.isoformat(),
            "updatedAt": (created + timedelta(milliseconds=50)).isoformat(),
            "checkoutId": _gid("Checkout", str(uuid.UUID(int=10**9 + n))),
            "userEmail": email,
            "user": {"id": _gid("User", str(user)), "email": email},
            "channel": {"id": _gid("Channel", "1"), "slug": "default-channel", "currencyCode": "USD"},
            "total": {"gross": {"amount": total, "currency": "USD"}, "net": {"amount": total, "currency": "USD"}},
            "subtotal": {"gross": {"amount": total}, "net": {"amount": total}},
            "shippingPrice": {"gross": {"amount": 0.0}},
            "undiscountedTotal": {"gross": {"amount": total}},
            "totalCharged": {"amount": total},
            "totalRefunded": {"amount": 0.0},
            "chargeStatus": "FULL",
            "paymentStatus": "FULLY_CHARGED",
            "isPaid": True,
            "voucherCode": None,
            "voucher": None,
            "discounts": [],
            "shippingAddress": {
                "streetAddress1": "1470 Pinewood Avenue",
                "postalCode": "49855",
                "city": "MICHIGAN",
                "country": {"code": "US"},
                "phone": "+12025550180",
            },
            "metadata": [],
            "lines": lines,
        },
    }
    return json.dumps(event).encode()  # Saleor's separators; ASCII, so no tab or newline in the bytes


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_PROTECTED = _b64url(
    json.dumps(
        {"alg": "RS256", "b64": False, "crit": ["b64"], "kid": KID, "typ": "JWT"}, separators=(",", ":")
    ).encode()
)
_signer: rsa.RSAPrivateKey | None = None


def _init_signer(pem: bytes) -> None:
    global _signer  # noqa: PLW0603 - one key per signing process
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    _signer = key


def _sign_chunk(bodies: list[bytes]) -> list[str]:
    """Saleor's ``Saleor-Signature``: b64url(header) + ".." + b64url(RS256 over b64url(header) + "." + body)."""
    assert _signer is not None
    out = []
    for body in bodies:
        signature = _signer.sign(_PROTECTED.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
        out.append(f"{_PROTECTED}..{_b64url(signature)}")
    return out


def sign_all(key: rsa.RSAPrivateKey, bodies: Sequence[bytes], processes: int = 2) -> list[str]:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    chunks = [list(bodies[i : i + 500]) for i in range(0, len(bodies), 500)]
    with ProcessPoolExecutor(max_workers=processes, initializer=_init_signer, initargs=(pem,)) as pool:
        return [sig for chunk in pool.map(_sign_chunk, chunks) for sig in chunk]


def write_requests(directory: Path, name: str, bodies: Sequence[bytes], signatures: Sequence[str]) -> str:
    """Split the deliveries over one file per wrk thread; returns the prefix ``ingest.lua`` expects."""
    prefix = directory / name
    files = [open(f"{prefix}-{t}.txt", "wb") for t in range(WRK_THREADS)]  # noqa: SIM115 - closed below
    try:
        for i, (body, signature) in enumerate(zip(bodies, signatures, strict=True)):
            files[i % WRK_THREADS].write(signature.encode() + b"\t" + body + b"\n")
    finally:
        for f in files:
            f.close()
    return str(prefix)


def public_jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig", "key_ops": ["verify"]})
    return {"keys": [jwk]}


# --- database ----------------------------------------------------------------------------------------------------


def setup_database(jwks: dict[str, Any]) -> None:
    """Fresh ``loyalty_bench``: the app's schema, one active Install carrying our JWKS, and the floor's table."""
    common.create_database()
    common.migrate()
    subprocess.run(
        [common.PYTHON, "manage.py", "shell", "-c", _CREATE_INSTALL],
        cwd=common.REPO,
        env=common.app_env(BENCH_API_URL=API_URL, BENCH_JWKS=json.dumps(jwks)),
        check=True,
        timeout=120,
    )
    with common.bench_connection() as conn:
        conn.execute(
            f"CREATE TABLE {FLOOR_TABLE} "
            "(id bigserial PRIMARY KEY, body text NOT NULL, received_at timestamptz NOT NULL)"
        )


_CREATE_INSTALL = """
import json, os
from saleor_loyalty.installs.models import Install
install = Install(saleor_api_url=os.environ["BENCH_API_URL"], app_id="QXBwOjE=", saleor_domain="bench-shop.example",
                  jwks=json.loads(os.environ["BENCH_JWKS"]))
install.set_auth_token("bench-token")
install.save()
"""


def _count(table: str) -> int:
    with common.bench_connection() as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _truncate(table: str) -> None:
    with common.bench_connection() as conn:
        conn.execute(f"TRUNCATE {table}")
        conn.execute(f"VACUUM ANALYZE {table}")


# --- load --------------------------------------------------------------------------------------------------------


def run_wrk(base_url: str, prefix: str, seconds: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    cmd = [
        wrk,
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        base_url,
        "--",
        prefix,
        API_URL,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 120).stdout
    for line in out.splitlines():
        if line.startswith("WRK "):
            return dict(json.loads(line[4:]))
    raise RuntimeError(f"wrk printed no summary:\n{out}")


@dataclass
class Measurement:
    target: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    stored: int
    errors: int  # connect/read/write errors, timeouts and non-2xx answers
    wraps: int
    enqueued: int | None = None  # app only: tasks pushed to Redis during the measurement

    @property
    def valid(self) -> bool:
        # every answered request was stored (a few more may be: wrk stops with requests in flight, uncounted),
        # and no body was sent twice
        return self.errors == 0 and self.wraps == 0 and self.stored >= self.requests

    def line(self) -> str:
        extra = f", enqueued {self.enqueued}" if self.enqueued is not None else ""
        flag = "" if self.valid else "  <-- INVALID: errors, repeated bodies or unstored requests"
        return (
            f"{self.target:>13}: {self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:6.1f} ms  "
            f"({self.requests} requests in {self.seconds:.1f} s, stored {self.stored}, errors {self.errors}{extra})"
            f"{flag}"
        )


def measure(target: str, warm_prefix: str, prefix: str, args: argparse.Namespace, jwks_path: Path) -> Measurement:
    if target in ("app", "app-noenqueue"):
        wsgi = "saleor_loyalty.wsgi" if target == "app" else "bench.floor.app_without_enqueue"
        table, probe = INBOX_TABLE, "/healthz"
        env = common.app_env(CELERY_BROKER_URL=REDIS_URL)
        redis.Redis.from_url(REDIS_URL).flushdb()
    else:
        wsgi, table, probe = "bench.floor.wsgi", FLOOR_TABLE, "/api/webhooks/orders"
        env = common.app_env(DJANGO_SETTINGS_MODULE="bench.floor.settings", BENCH_FLOOR_JWKS=str(jwks_path))
    _truncate(table)
    queue = redis.Redis.from_url(REDIS_URL)
    with common.gunicorn(wsgi, env, probe) as base:
        run_wrk(base, warm_prefix, args.warmup)
        before, queued_before = _count(table), int(queue.llen("celery"))
        result = run_wrk(base, prefix, args.duration)
        stored, queued = _count(table) - before, int(queue.llen("celery")) - queued_before
    enqueued = None
    if target != "floor":
        enqueued = queued
        queue.flushdb()
    seconds = result["duration_us"] / 1e6
    errors = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return Measurement(
        target=target,
        requests=result["requests"],
        seconds=seconds,
        rps=result["requests"] / seconds,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        stored=stored,
        errors=errors,
        wraps=result["wraps"],
        enqueued=enqueued,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # Many short alternating pairs rather than a few long ones: on a shared 2-core machine the floor alone moves
    # by 20-30% from one minute to the next, and the median of six pair ratios is steadier than that of two.
    parser.add_argument("--duration", type=int, default=8, help="measured seconds per target (default 8)")
    parser.add_argument("--warmup", type=int, default=4, help="warm-up seconds per target (default 4)")
    parser.add_argument("--rounds", type=int, default=6, help="floor/app pairs, alternating order (default 6)")
    parser.add_argument(
        "--bodies", type=int, default=30000, help="unique signed deliveries for measuring; must outlast one run"
    )
    parser.add_argument("--warmup-bodies", type=int, default=3000, help="deliveries cycled during warm-up")
    parser.add_argument(
        "--diagnose", action="store_true", help="also measure the app with its Celery enqueue stubbed out"
    )
    parser.add_argument("--keep-db", action="store_true", help="leave loyalty_bench in place afterwards")
    args = parser.parse_args(argv)
    assert 1 <= args.duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 10
    assert 1000 <= args.bodies <= 200_000 and 100 <= args.warmup_bodies <= 50_000

    started = time.monotonic()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = public_jwks(key)
    warm_bodies = [order_body(n) for n in range(1, args.warmup_bodies + 1)]
    bodies = [order_body(n) for n in range(10**6, 10**6 + args.bodies)]
    assert len({hashlib.sha256(b).digest() for b in bodies}) == len(bodies)
    signatures = sign_all(key, warm_bodies + bodies, processes=min(2, os.cpu_count() or 1))
    print(f"ingest: signed {len(signatures)} deliveries in {time.monotonic() - started:.1f} s", flush=True)

    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="loyalty-bench-") as tmp:
        tmpdir = Path(tmp)
        jwks_path = tmpdir / "jwks.json"
        jwks_path.write_text(json.dumps(jwks))
        warm_prefix = write_requests(tmpdir, "warm", warm_bodies, signatures[: len(warm_bodies)])
        prefix = write_requests(tmpdir, "measure", bodies, signatures[len(warm_bodies) :])
        setup_database(jwks)
        try:
            for r in range(args.rounds):
                order: tuple[str, ...] = ("floor", "app") if r % 2 == 0 else ("app", "floor")
                if args.diagnose:
                    order += ("app-noenqueue",)
                got = {t: measure(t, warm_prefix, prefix, args, jwks_path) for t in order}
                app, floor = got["app"], got["floor"]
                value = common.ratio(app.rps, floor.rps)
                print(f"ingest round {r + 1}/{args.rounds}:", flush=True)
                for m in got.values():
                    print(f"  {m.line()}", flush=True)
                print(f"  ratio app/floor: {value:.2f}", flush=True)
                entry: dict[str, Any] = {"floor": asdict(floor), "app": asdict(app), "ratio": value}
                if args.diagnose:
                    diag = got["app-noenqueue"]
                    entry["app_noenqueue"] = asdict(diag)
                    entry["ratio_noenqueue"] = common.ratio(diag.rps, floor.rps)
                    print(f"  diagnostic: app without enqueue / floor: {entry['ratio_noenqueue']:.2f}", flush=True)
                rounds.append(entry)
                if not (app.valid and floor.valid):
                    print("  WARNING: this round is not a clean measurement (see INVALID above)", flush=True)
        finally:
            if not args.keep_db:
                common.drop_database()

    value = common.median([r["ratio"] for r in rounds])
    summary = {
        "benchmark": "ingest",
        "unit": "req/s",
        "app": common.median([r["app"]["rps"] for r in rounds]),
        "app_p99_ms": common.median([r["app"]["p99_ms"] for r in rounds]),
        "baseline": common.median([r["floor"]["rps"] for r in rounds]),
        "baseline_p99_ms": common.median([r["floor"]["p99_ms"] for r in rounds]),
        "ratio": value,
        "target": TARGET,
        "met": value >= TARGET,
        "valid": all(Measurement(**r[t]).valid for r in rounds for t in ("app", "floor")),
        "rounds": rounds,
    }
    print(
        f"ingest: app {summary['app']:.0f} req/s (p99 {summary['app_p99_ms']:.1f} ms) vs floor "
        f"{summary['baseline']:.0f} req/s (p99 {summary['baseline_p99_ms']:.1f} ms): ratio {value:.2f}, "
        f"target ≥ {TARGET:.2f} {common.verdict(value, TARGET)}  [{time.monotonic() - started:.0f} s]",
        flush=True,
    )
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    main()
