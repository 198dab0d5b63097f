"""The app's own cost per redemption, Saleor's latency excluded: ``redeem(...)`` against an instant fake Saleor.

What is measured: ``saleor_loyalty.redemption.actions.redeem(shopper, RedeemRequest(...))`` — the domain action
behind the ``redeemPoints`` mutation — one at a time, each on its own checkout for its own member, with
``SaleorClient.execute`` replaced by a stub that answers every GraphQL call at once with valid data and no HTTP
(the checkout read with the shopper's token, ``voucherCreate``, ``voucherChannelListingUpdate``,
``checkoutAddPromoCode``). Everything else is the app's: member lookup, idempotency check, program settings,
rate limit (on the configured Django cache: local memory here, Redis in production), pricing, the ledger hold
and its lot reservations, the redemption row and its updates. Each member was funded beforehand with three
lots through ``ledger.actions.earn``; every redemption takes 600 points, so it reserves from two lots.

The baseline, measured in the same run on other members of the same database: the same number of ledger holds
alone — ``ledger.actions.hold(member=..., points=600, ...)`` inside ``transaction.atomic()``. The figure is
redemption p50 ÷ hold p50: how much the redemption bookkeeping around the hold costs. There is no target. After
each side the results are checked (every redemption active with its voucher code and hold, every member's
held points exactly 600, four Saleor calls per redemption). ``--diagnose`` adds SQL statements per redemption
and per hold, and a cProfile of redemptions.

Run: ``python -m bench.redemption_overhead`` (``--help`` for counts and rounds).
"""

import argparse
import base64
import cProfile
import io
import os
import pstats
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from unittest import mock

from bench import common

API_URL = "https://bench-shop.example/graphql/"
POINTS = 600  # $6.00 at the default 100 points per unit, on a $50 checkout
LOT_POINTS = (400, 400, 400)
CHANNEL = ("Q2hhbm5lbDox", "default-channel", "USD")
MAX_PER_SIDE = 5000  # the count bound (the time bound is --duration)


def _gid(kind: str, value: object) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _django() -> None:
    """Configure Django in this process for the app, pointed at the bench database."""
    os.environ.update(common.app_env())
    import django

    django.setup()


# --- the instant fake Saleor -------------------------------------------------------------------------------------


class InstantSaleor:
    """Answers ``SaleorClient.execute`` in-process, as Saleor would for these documents, and counts the calls."""

    def __init__(self) -> None:
        self.checkouts: dict[str, str] = {}  # checkout id -> owner's Saleor user id
        self.calls: dict[str, int] = {}
        self.vouchers = 0

    def add_checkout(self, user_id: str) -> str:
        checkout_id = _gid("Checkout", uuid.uuid4())
        self.checkouts[checkout_id] = user_id
        return checkout_id

    def execute(self, client: Any, operation_name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        from saleor_loyalty.saleor import documents

        documents.operation(operation_name)  # as the real client does: the document is loaded (cached)
        self.calls[operation_name] = self.calls.get(operation_name, 0) + 1
        variables = variables or {}
        if operation_name == "shopper_checkout":
            user_id = client.token.removeprefix("bench-shopper:")
            return {"me": {"id": user_id}, "checkout": self._checkout(variables["id"])}
        if operation_name == "voucher_create":
            self.vouchers += 1
            return {"voucherCreate": {"voucher": {"id": _gid("Voucher", self.vouchers)}, "errors": []}}
        if operation_name == "voucher_channel_listing_update":
            return {"voucherChannelListingUpdate": {"voucher": {"id": variables["id"]}, "errors": []}}
        if operation_name == "checkout_add_promo_code":
            code = variables["promoCode"]
            return {"checkoutAddPromoCode": {"checkout": {"id": variables["id"], "voucherCode": code}, "errors": []}}
        raise AssertionError(f"unexpected Saleor call {operation_name}")

    def _checkout(self, checkout_id: str) -> dict[str, Any] | None:
        owner = self.checkouts.get(checkout_id)
        if owner is None:
            return None
        channel_id, slug, currency = CHANNEL

        def money(amount: float) -> dict[str, Any]:
            return {"amount": amount, "currency": currency}

        return {
            "id": checkout_id,
            "user": {"id": owner},
            "channel": {"id": channel_id, "slug": slug, "currencyCode": currency},
            "subtotalPrice": {"gross": money(50.0)},
            "voucherCode": None,
            "lines": [
                {
                    "quantity": 2,
                    "variant": {
                        "id": "UHJvZHVjdFZhcmlhbnQ6MQ==",
                        "product": {"id": "UHJvZHVjdDox", "category": {"id": "Q2F0ZWdvcnk6MQ=="}},
                    },
                    "totalPrice": {"gross": money(50.0), "net": money(50.0)},
                }
            ],
            "shippingPrice": {"gross": money(0.0), "net": money(0.0)},
            "totalPrice": {"gross": money(50.0), "net": money(50.0)},
        }


@contextmanager
def instant_saleor(fake: InstantSaleor) -> Iterator[None]:
    from saleor_loyalty.saleor.client import SaleorClient

    def execute(client: Any, operation_name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return fake.execute(client, operation_name, variables)

    with mock.patch.object(SaleorClient, "execute", execute):
        yield


# --- fixture -----------------------------------------------------------------------------------------------------


@dataclass
class Fixture:
    install: Any
    members: list[Any]  # members.models.Member, each funded with LOT_POINTS


def setup(count: int) -> Fixture:
    """An install and ``count`` members, each earning three available lots through the ledger's own ``earn``."""
    from django.db import connections, transaction

    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.ledger import actions as ledger
    from saleor_loyalty.members.models import Member
    from saleor_loyalty.program.rules import program_settings

    install = Install(saleor_api_url=API_URL, app_id="QXBwOjE=", saleor_domain="bench-shop.example", jwks={"keys": []})
    install.set_auth_token("bench-app-token")
    install.save()
    program_settings(install)
    Member.objects.bulk_create(
        [
            Member(install=install, saleor_user_id=_gid("User", n), email=f"shopper{n}@example.com")
            for n in range(1, count + 1)
        ]
    )
    members = list(Member.objects.filter(install=install).order_by("pk"))
    for first in range(0, count, 200):
        with transaction.atomic():
            for member in members[first : first + 200]:
                for n, points in enumerate(LOT_POINTS):
                    ledger.earn(member=member, points=points, key=f"fund:{member.pk}:{n}", source="adjustment")
    connections.close_all()
    return Fixture(install=install, members=list(Member.objects.filter(install=install).order_by("pk")))


# --- measurement -------------------------------------------------------------------------------------------------


@dataclass
class Latency:
    side: str
    count: int
    seconds: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    failed: int
    cpu_ms: float = float("nan")  # this process's CPU time per operation (less sensitive to a busy machine)

    def line(self) -> str:
        flag = "" if self.failed == 0 else f"  <-- INVALID: {self.failed} failed or inconsistent"
        return (
            f"{self.side:>10}: p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms  mean {self.mean_ms:7.2f} ms  "
            f"cpu {self.cpu_ms:6.2f} ms  ({self.count} in {self.seconds:.1f} s){flag}"
        )


def _summarise(side: str, samples: list[float], elapsed: float, failed: int, cpu: float) -> Latency:
    ordered = sorted(samples)
    count = len(ordered)
    return Latency(
        side=side,
        count=count,
        seconds=elapsed,
        **common.latency_ms(ordered),
        failed=failed,
        cpu_ms=1000 * cpu / count if count else float("nan"),
    )


def _timed(members: Sequence[Any], seconds: float, one: Callable[[Any], None]) -> tuple[list[float], int, float, float]:
    samples: list[float] = []
    failed = 0
    began, cpu = time.perf_counter(), time.process_time()
    deadline = began + seconds
    for member in members[:MAX_PER_SIDE]:
        if time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        try:
            one(member)
        except Exception as exc:
            failed += 1
            print(f"  failed: {exc!r}", flush=True)
            continue
        samples.append(time.perf_counter() - t0)
    return samples, failed, time.perf_counter() - began, time.process_time() - cpu


def run_redemptions(
    fixture: Fixture, fake: InstantSaleor, members: Sequence[Any], seconds: float, tag: str, check: bool = True
) -> Latency:
    from saleor_loyalty.redemption.actions import RedeemRequest, redeem
    from saleor_loyalty.saleor.tokens import Shopper

    def one(member: Any) -> None:
        shopper = Shopper(
            install=fixture.install,
            user_id=member.saleor_user_id,
            email=member.email,
            token=f"bench-shopper:{member.saleor_user_id}",
        )
        checkout_id = fake.add_checkout(member.saleor_user_id)
        redeem(shopper, RedeemRequest(checkout_id=checkout_id, idempotency_key=f"{tag}:{member.pk}", points=POINTS))

    calls_before = sum(fake.calls.values())
    with instant_saleor(fake):
        samples, failed, elapsed, cpu = _timed(members, seconds, one)
    done = members[: len(samples) + failed]
    if check:
        failed += _check(done, redemptions=True) + (sum(fake.calls.values()) - calls_before != 4 * len(done))
    return _summarise("redeem", samples, elapsed, failed, cpu)


def run_holds(members: Sequence[Any], seconds: float, tag: str, check: bool = True) -> Latency:
    from django.db import transaction

    from saleor_loyalty.ledger import actions as ledger

    def one(member: Any) -> None:
        with transaction.atomic():
            ledger.hold(member=member, points=POINTS, key=f"{tag}:{member.pk}", memo={"checkout_id": tag})

    samples, failed, elapsed, cpu = _timed(members, seconds, one)
    if check:
        failed += _check(members[: len(samples) + failed], redemptions=False)
    return _summarise("hold", samples, elapsed, failed, cpu)


def _check(members: Sequence[Any], *, redemptions: bool) -> int:
    """How many of ``members`` do not hold exactly POINTS (and, for redemptions, lack an active redemption)."""
    from saleor_loyalty.ledger.models import Account, AccountCode
    from saleor_loyalty.redemption.models import Redemption, RedemptionStatus

    ids = [m.pk for m in members]
    held = dict(
        Account.objects.filter(member_id__in=ids, code=AccountCode.POINTS).values_list("member_id", "debits_pending")
    )
    bad = sum(held.get(pk) != POINTS for pk in ids)
    if redemptions:
        active = set(
            Redemption.objects.filter(
                member_id__in=ids,
                status=RedemptionStatus.ACTIVE,
                hold__isnull=False,
                voucher_code__isnull=False,
                points=POINTS,
                amount=Decimal(6),
            ).values_list("member_id", flat=True)
        )
        bad += sum(pk not in active for pk in ids)
    return bad


def diagnose(fixture: Fixture, fake: InstantSaleor, redeem_members: Sequence[Any], hold_members: Sequence[Any]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as redeem_sql:
        run_redemptions(fixture, fake, redeem_members[:1], 60, "diag-sql", check=False)
    with CaptureQueriesContext(connection) as hold_sql:
        run_holds(hold_members[:1], 60, "diag-sql", check=False)
    print(f"  SQL statements per redemption: {len(redeem_sql.captured_queries)}", flush=True)
    for q in redeem_sql.captured_queries:
        print(f"    {q['sql'][:150]}", flush=True)
    print(f"  SQL statements per hold: {len(hold_sql.captured_queries)}", flush=True)
    for q in hold_sql.captured_queries:
        print(f"    {q['sql'][:150]}", flush=True)
    profiler = cProfile.Profile()
    profiler.enable()
    run_redemptions(fixture, fake, redeem_members[1:], 60, "diag-profile", check=False)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"saleor_loyalty|bench", 30)
    stats.sort_stats("tottime").print_stats(12)
    print(f"  cProfile over {len(redeem_members) - 1} redemptions:", flush=True)
    print("\n".join("    " + line for line in out.getvalue().splitlines() if line.strip()), flush=True)


# --- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="redemptions (and holds) per side per round")
    parser.add_argument("--duration", type=int, default=15, help="time bound per measured side, seconds (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up bound per side, seconds (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="hold/redeem pairs, alternating order (default 2)")
    parser.add_argument("--diagnose", action="store_true", help="also count SQL per redemption and profile it")
    parser.add_argument("--keep-db", action="store_true", help="leave loyalty_bench in place afterwards")
    args = parser.parse_args(argv)
    assert 1 <= args.duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 10
    assert 10 <= args.count <= MAX_PER_SIDE

    started = time.monotonic()
    warm = 20
    per_round = 2 * (args.count + warm)
    needed = args.rounds * per_round + (2 * 101 if args.diagnose else 0)
    common.create_database()
    rounds: list[dict[str, Any]] = []
    try:
        common.migrate()
        _django()
        fixture = setup(needed)
        fake = InstantSaleor()
        print(
            f"redemption: {needed} members funded with {len(LOT_POINTS)} lots each "
            f"[{time.monotonic() - started:.0f} s]",
            flush=True,
        )
        pool = iter(fixture.members)

        def take(n: int) -> list[Any]:
            return [next(pool) for _ in range(n)]

        for r in range(args.rounds):
            sides = ("hold", "redeem") if r % 2 == 0 else ("redeem", "hold")
            got: dict[str, Latency] = {}
            for side in sides:
                warm_members, members = take(warm), take(args.count)
                if side == "redeem":
                    run_redemptions(fixture, fake, warm_members, args.warmup, f"r{r}w")
                    got[side] = run_redemptions(fixture, fake, members, args.duration, f"r{r}")
                else:
                    run_holds(warm_members, args.warmup, f"hold-r{r}w")
                    got[side] = run_holds(members, args.duration, f"hold-r{r}")
            a, b = got["redeem"], got["hold"]
            entry: dict[str, Any] = {
                "app": asdict(a),
                "baseline": asdict(b),
                "ratio": common.ratio(a.p50_ms, b.p50_ms),
                "ratio_mean": common.ratio(a.mean_ms, b.mean_ms),
                "added_ms_p50": a.p50_ms - b.p50_ms,
            }
            print(
                f"redemption round {r + 1}/{args.rounds}:\n  {b.line()}\n  {a.line()}\n"
                f"  ratio redeem/hold: p50 {entry['ratio']:.2f}x, mean {entry['ratio_mean']:.2f}x "
                f"(redemption bookkeeping adds {entry['added_ms_p50']:.2f} ms at p50)",
                flush=True,
            )
            rounds.append(entry)
        if args.diagnose:
            print("redemption: diagnostics", flush=True)
            diagnose(fixture, fake, take(101), take(101))
    finally:
        common.release_database(keep=args.keep_db)

    value = common.median([r["ratio"] for r in rounds])
    summary = {
        "benchmark": "redemption_overhead",
        "unit": "ms p50 per redemption",
        "app": common.median([r["app"]["p50_ms"] for r in rounds]),
        "app_p99_ms": common.median([r["app"]["p99_ms"] for r in rounds]),
        "app_mean_ms": common.median([r["app"]["mean_ms"] for r in rounds]),
        "baseline": common.median([r["baseline"]["p50_ms"] for r in rounds]),
        "baseline_p99_ms": common.median([r["baseline"]["p99_ms"] for r in rounds]),
        "baseline_mean_ms": common.median([r["baseline"]["mean_ms"] for r in rounds]),
        "app_cpu_ms": common.median([r["app"]["cpu_ms"] for r in rounds]),
        "baseline_cpu_ms": common.median([r["baseline"]["cpu_ms"] for r in rounds]),
        "ratio": value,
        "target": None,
        "met": None,
        "valid": all(r["app"]["failed"] == 0 and r["baseline"]["failed"] == 0 for r in rounds),
        "rounds": rounds,
    }
    print(
        f"redemption: redeem p50 {summary['app']:.2f} ms, p99 {summary['app_p99_ms']:.2f} ms vs hold p50 "
        f"{summary['baseline']:.2f} ms, p99 {summary['baseline_p99_ms']:.2f} ms: redeem/hold {value:.2f}x at p50 "
        f"(no target)  [{time.monotonic() - started:.0f} s]",
        flush=True,
    )
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    main()
