"""The dashboard's reads at 100k members: the customer widget and the tiers panel, end to end, against bare SQL.

What is measured (issue #9): two staff GraphQL documents sent to ``POST /dashboard/graphql/`` through the whole
Django app in this process — ``saleor_loyalty.wsgi``'s WSGI handler called directly, as ``bench/balance_query.py``
does for the shopper balance (middleware, URL routing, the view, graphene, the ORM, the dashboard token verified
for real against the install's JWKS; only the socket is missing) — one request at a time:

* **widget** — the customer widget: ``customerLoyalty(customerId)`` with the account's balance, pending points,
  the last 10 activities, and the tier with progress to the next one, each request for a random member;
* **panel** — the tiers panel: ``tiers { name members thresholds }`` and ``tierMovements(weeks: 26)``.

The baseline, in the same run, alternating with the app round by round: hand-written SQL producing the same data
on a plain psycopg connection (prepared after 5 uses, psycopg's default), with the same answer built from its
rows in Python. Before measuring, the app's and the baseline's answers are compared field by field for a few
hundred members; they must be equal. The figure is app p50 ÷ baseline p50 per read; target at most 10×.

Data: ``bench/balance_query.py``'s generator (members, their accounts, transfers, lots and lot movements,
written with COPY and checked), plus one ``program_order_award`` per order (spend = the points plus some cents,
every 5th member in EUR), a spend-based tier program (Bronze as the base tier, Silver, Gold; rolling 365 days),
every member's tier decided by the app's own review, and tier changes spread over the last 40 weeks (some
downgrades among them).

Run: ``python -m bench.dashboard_reads`` (``--quick`` for 10,000 members and short rounds; ``--help``).
"""

import argparse
import base64
import cProfile
import io
import json
import pstats
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bench import balance_query as bq
from bench import common

TARGET = 10.0  # app ÷ bare SQL at p50, at most (issue #9)
MAX_REQUESTS = 100_000
APP_ID = "QXBwOjE="  # the app id create_install stores; the dashboard token's ``app`` claim must match it

WIDGET_QUERY = """query CustomerWidget($id: ID!) {
  customerLoyalty(customerId: $id) {
    account {
      balance { available pending held owed }
      pendingPoints { points unlocksAt }
      history(first: 10) {
        edges { node { id kind points balanceChange orderId createdAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
    tier {
      current { name }
      progress { basis amount amountToGo currency pointsToGo windowStartsAt windowEndsAt }
    }
  }
}"""
PANEL_QUERY = """query TiersPanel {
  tiers { name members thresholds { unit qualify retain } }
  tierMovements(weeks: 26) { week upgrades downgrades }
}"""

TIERS = (  # name, rank, qualify {unit: amount}, retain
    ("Bronze", 1, {"USD": 0, "EUR": 0}, None),
    ("Silver", 2, {"USD": 500, "EUR": 450}, {"USD": 400, "EUR": 360}),
    ("Gold", 3, {"USD": 1500, "EUR": 1350}, {"USD": 1200, "EUR": 1080}),
)
WINDOW_DAYS = 365


def _gid(kind: str, value: object) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


# --- data --------------------------------------------------------------------------------------------------------

_AWARDS = """
INSERT INTO program_order_award (install_id, order_id, order_number, member_id, channel_slug, currency, rule,
    placement, was_fully_paid, exact_points, points, spend, first_paid_at, revision, state_updated_at, created_at,
    updated_at)
SELECT l.install_id, l.order_id, l.id::text, l.member_id, 'default-channel',
       CASE WHEN l.member_id % 5 = 0 THEN 'EUR' ELSE 'USD' END, l.rule, 'customer', true, l.points, l.points,
       l.points + (l.id % 100) / 100.0, l.earned_at, 1, l.earned_at, l.earned_at, l.earned_at
FROM ledger_lot l WHERE l.source = 'order' ORDER BY l.id
"""
# The review placed everyone as of now, in one go; spread those changes over the last 40 weeks (deterministic),
# make every 10th Silver member a former Gold (upgrade to Gold, then a downgrade to Silver) and every 7th Gold
# member a former Silver (upgrade to Silver, then to Gold), and let each state's ``tier_since`` follow.
_HISTORY = [
    "UPDATE tiers_change SET at = %(now)s::timestamptz - make_interval(secs => (id * 7919) %% (280 * 86400) + 3600),"
    " effects_applied = true",
    """INSERT INTO tiers_change (install_id, member_id, from_tier_id, to_tier_id, is_upgrade, reason, note, at,
           effects_applied)
       SELECT c.install_id, c.member_id, %(gold)s, %(silver)s, false, 'review', '',
              c.at + (%(now)s::timestamptz - c.at) * ((c.member_id %% 7 + 1) / 8.0), true
       FROM tiers_change c WHERE c.to_tier_id = %(silver)s AND c.member_id %% 10 = 0""",
    """UPDATE tiers_change SET to_tier_id = %(gold)s
       WHERE to_tier_id = %(silver)s AND is_upgrade AND member_id %% 10 = 0""",
    """INSERT INTO tiers_change (install_id, member_id, from_tier_id, to_tier_id, is_upgrade, reason, note, at,
           effects_applied)
       SELECT c.install_id, c.member_id, %(silver)s, %(gold)s, true, 'order', '',
              c.at + (%(now)s::timestamptz - c.at) * ((c.member_id %% 5 + 1) / 6.0), true
       FROM tiers_change c
       WHERE c.to_tier_id = %(gold)s AND c.is_upgrade AND c.member_id %% 7 = 0 AND c.member_id %% 10 <> 0""",
    """UPDATE tiers_change SET to_tier_id = %(silver)s
       WHERE to_tier_id = %(gold)s AND from_tier_id IS NULL AND member_id %% 7 = 0 AND member_id %% 10 <> 0""",
    """UPDATE tiers_member_tier mt SET tier_since = c.at
       FROM (SELECT member_id, max(at) AS at FROM tiers_change GROUP BY member_id) c
       WHERE c.member_id = mt.member_id""",
]


@dataclass
class Dataset:
    install_id: int
    members: int
    transfers: int
    lots: int
    awards: int
    tier_changes: int
    tier_spread: dict[str, int]
    load_seconds: float  # balance_query's generator: generate + COPY + checks + VACUUM
    awards_seconds: float
    tiers_seconds: float


def build(install_id: int, members: int, orders: tuple[int, int], seed: int) -> tuple[Dataset, list[bq.Expected]]:
    t0 = time.perf_counter()
    loaded = bq.load(install_id, members, orders, seed)
    t1 = time.perf_counter()
    with common.bench_connection() as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET synchronous_commit = off")
        indexes = conn.execute(bq._PLAIN_INDEXES, (["program_order_award"],)).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        awards = conn.execute(_AWARDS).rowcount
        for _, definition in indexes:
            conn.execute(definition)
        conn.execute("VACUUM (ANALYZE) program_order_award")
    t2 = time.perf_counter()
    changes, spread = configure_tiers(install_id)
    t3 = time.perf_counter()
    dataset = Dataset(
        install_id=install_id,
        members=loaded.members,
        transfers=loaded.transfers,
        lots=loaded.lots,
        awards=awards,
        tier_changes=changes,
        tier_spread=spread,
        load_seconds=t1 - t0,
        awards_seconds=t2 - t1,
        tiers_seconds=t3 - t2,
    )
    return dataset, loaded.expected


def configure_tiers(install_id: int) -> tuple[int, dict[str, int]]:
    """Bronze (base) / Silver / Gold on spend over a rolling year; every member placed by the app's review as of
    now; the changes then spread over the last 40 weeks. Returns the number of tier changes and the spread."""
    from django.db import connection, connections, transaction
    from django.utils import timezone

    from saleor_loyalty.installs.models import Install
    from saleor_loyalty.tiers import configuration, review

    install = Install.objects.get(pk=install_id)
    configuration.configure_tiers(install, basis="spend", window_kind="rolling", window_days=WINDOW_DAYS, grace_days=30)
    ids = {}
    for name, rank, qualify, retain in TIERS:
        tier = configuration.set_tier(install, name=name, rank=rank, thresholds=qualify, retain=retain, perks=[name])
        ids[name] = tier.pk
    now = timezone.now()
    with transaction.atomic():
        review.run(now=now, install_id=install_id)
    with connection.cursor() as cursor:
        params: dict[str, Any] = {"now": now, "silver": ids["Silver"], "gold": ids["Gold"]}
        for sql in _HISTORY:
            cursor.execute(sql, params)
        for table in ("tiers_member_tier", "tiers_change"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("SELECT count(*) FROM tiers_change")
        changes = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT t.name, count(*) FROM tiers_member_tier mt JOIN tiers_tier t ON t.id = mt.tier_id GROUP BY 1"
        )
        spread = {str(name): int(n) for name, n in cursor.fetchall()}
        cursor.execute("SELECT count(*) FROM members_member")
        spread["Bronze"] = int(cursor.fetchone()[0]) - sum(spread.values())
    connections.close_all()
    return changes, spread


def staff_token(key: rsa.RSAPrivateKey, lifetime: int) -> str:
    """A dashboard token as Saleor hands it to the app's pages (``thirdparty``; claims as in
    tests/saleor_harness/signing.py ``SaleorKeys.issue_app_token``), for a staff user with both permissions."""
    now = int(time.time())
    permissions = ["MANAGE_USERS", "MANAGE_DISCOUNTS"]
    claims = {
        "iat": now,
        "owner": "saleor",
        "iss": bq.API_URL,
        "exp": now + lifetime,
        "token": "benchstaff01",
        "email": "staff@bench-shop.example",
        "type": "thirdparty",
        "user_id": _gid("User", 999_999_999),
        "is_staff": True,
        "app": APP_ID,
        "permissions": permissions,
        "user_permissions": permissions,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": bq.KID})


# --- the app, in this process -------------------------------------------------------------------------------------


class App(common.WsgiClient):
    """Calls the app's WSGI handler as gunicorn would, for ``POST /dashboard/graphql/``."""

    def __init__(self, token: str) -> None:
        super().__init__("/dashboard/graphql/")
        self.token = token

    def request(self, body: bytes) -> tuple[str, bytes]:
        return self.post(body, self.token)

    def data(self, body: bytes) -> dict[str, Any] | None:
        """The answer's ``data`` when it is a 200 without errors, else None."""
        status, raw = self.request(body)
        try:
            answer = json.loads(raw)
        except ValueError:
            return None
        if status != "200 OK" or answer.get("errors"):
            return None
        data: dict[str, Any] = answer.get("data")
        return data


def widget_body(member_id: int) -> bytes:
    return json.dumps({"query": WIDGET_QUERY, "variables": {"id": _gid("User", member_id)}}).encode()


PANEL_BODY = json.dumps({"query": PANEL_QUERY}).encode()


# --- the baseline: the same reads in hand-written SQL ------------------------------------------------------------

# The member, their three points accounts and their tier state, in one statement.
SQL_MEMBER = """
SELECT m.id, p.credits_posted - p.debits_posted - p.debits_pending, p.debits_pending,
       q.credits_posted - q.debits_posted - q.debits_pending, d.debits_posted - d.credits_posted, mt.tier_id
FROM members_member m
JOIN ledger_account p ON p.member_id = m.id AND p.code = 'points' AND p.unit = 'PTS'
JOIN ledger_account q ON q.member_id = m.id AND q.code = 'points_pending' AND q.unit = 'PTS'
JOIN ledger_account d ON d.member_id = m.id AND d.code = 'points_debt' AND d.unit = 'PTS'
LEFT JOIN tiers_member_tier mt ON mt.member_id = m.id
WHERE m.install_id = %s AND m.saleor_user_id = %s
"""
SQL_PENDING = """
SELECT l.remaining, l.unlocks_at FROM ledger_lot l JOIN ledger_account a ON a.id = l.account_id
WHERE l.member_id = %s AND a.code = 'points_pending' AND l.remaining > 0 ORDER BY l.unlocks_at, l.id
"""
SQL_HISTORY = """
SELECT t.id, t.kind, t.phase, t.amount, t.order_id, t.created_at, t.member_id, c.member_id, c.code
FROM ledger_transfer t JOIN ledger_account c ON c.id = t.credit_account_id
WHERE t.member_id = %s ORDER BY t.id DESC LIMIT 11
"""
# The tier program: settings, active tiers and their thresholds (read on every request, as the app does).
SQL_PROGRAM = """
SELECT s.basis, s.window_kind, s.window_days, t.id, t.name, t.rank, th.unit, th.qualify
FROM tiers_settings s
JOIN tiers_tier t ON t.install_id = s.install_id AND t.is_active
LEFT JOIN tiers_threshold th ON th.tier_id = t.id
WHERE s.install_id = %s AND s.is_active
ORDER BY t.rank, th.unit
"""
SQL_SPEND = """
SELECT currency, sum(spend) FROM program_order_award
WHERE member_id = %s AND first_paid_at >= %s AND first_paid_at <= %s GROUP BY currency
"""
SQL_TIERS = """
SELECT t.id, t.name, t.rank, t.is_active, th.unit, th.qualify, th.retain FROM tiers_tier t
LEFT JOIN tiers_threshold th ON th.tier_id = t.id WHERE t.install_id = %s ORDER BY t.rank, th.unit
"""
SQL_TIER_COUNTS = """
SELECT mt.tier_id, count(*) FROM tiers_member_tier mt
WHERE mt.install_id = %s AND mt.tier_id IS NOT NULL GROUP BY mt.tier_id
UNION ALL
SELECT NULL, count(*) FROM members_member WHERE install_id = %s AND merged_into_id IS NULL
"""
SQL_MOVEMENTS = """
SELECT date_trunc('week', at AT TIME ZONE 'UTC'), count(*) FILTER (WHERE is_upgrade),
       count(*) FILTER (WHERE NOT is_upgrade)
FROM tiers_change WHERE install_id = %s AND at >= %s GROUP BY 1 ORDER BY 1
"""

_KINDS = {  # (kind, phase or None) -> (activity, sign of the balance change): ledger/history.py's table
    ("earn", None): ("EARNED", 1),
    ("unlock", None): ("UNLOCKED", 0),
    ("clawback", None): ("CLAWED_BACK", -1),
    ("debt", None): ("CLAWED_BACK", -1),
    ("write_off", None): ("CLAWBACK_FORGIVEN", 0),
    ("debt_repayment", None): ("DEBT_REPAID", 0),
    ("redeem_return", None): ("REDEMPTION_RETURNED", 1),
    ("expire", None): ("EXPIRED", -1),
    ("redeem", "pending"): ("REDEMPTION_HELD", 0),
    ("redeem", "post_pending"): ("REDEEMED", -1),
    ("redeem", "void_pending"): ("REDEMPTION_RELEASED", 0),
    ("redeem", "posted"): ("REDEEMED", -1),
}
CENTS = Decimal("0.01")


def _money(amount: Decimal, unit: str | None) -> str:
    return str(amount.quantize(Decimal(1)) if unit is None or unit == "PTS" else amount.quantize(CENTS))


class Bare:
    """The widget's and the panel's data from hand-written SQL on a plain psycopg connection."""

    def __init__(self, conn: Any, install_id: int) -> None:
        self.conn = conn
        self.install_id = install_id
        conn.execute("SET TIME ZONE 'UTC'")

    def widget(self, member_id: int) -> dict[str, Any]:
        execute, install = self.conn.execute, self.install_id
        row = execute(SQL_MEMBER, (install, _gid("User", member_id))).fetchone()
        if row is None:
            return {"customerLoyalty": None}
        pk, available, held, pending, owed, tier_id = row
        lots = execute(SQL_PENDING, (pk,)).fetchall()
        transfers = execute(SQL_HISTORY, (pk,)).fetchall()
        edges = []
        for tid, kind, phase, amount, order_id, created_at, member, credit_member, credit_code in transfers[:10]:
            if kind in ("merge", "adjust"):
                activity = "MERGED" if kind == "merge" else "ADJUSTED"
                sign = -1 if credit_code == "points_debt" or credit_member != member else 1
            else:
                activity, sign = _KINDS.get((kind, phase if kind == "redeem" else None), (kind.upper(), 0))
            node_id = _gid("PointsActivity", tid)
            node = {
                "id": node_id,
                "kind": activity,
                "points": amount,
                "balanceChange": sign * amount,
                "orderId": order_id,
                "createdAt": _iso(created_at),
            }
            edges.append({"node": node})
        account = {
            "balance": {"available": available, "pending": pending, "held": held, "owed": owed},
            "pendingPoints": [{"points": points, "unlocksAt": _iso(unlocks)} for points, unlocks in lots],
            "history": {
                "edges": edges,
                "pageInfo": {
                    "hasNextPage": len(transfers) > 10,
                    "endCursor": edges[-1]["node"]["id"] if edges else None,
                },
            },
        }
        return {"customerLoyalty": {"account": account, "tier": self._tier(pk, tier_id)}}

    def _tier(self, member_id: int, tier_id: int | None) -> dict[str, Any]:
        program = self.conn.execute(SQL_PROGRAM, (self.install_id,)).fetchall()
        if not program:
            return {"current": None, "progress": None}
        basis, _, window_days = program[0][:3]
        tiers: dict[int, tuple[str, int, dict[str, Decimal]]] = {}
        for _, _, _, pk, name, rank, unit, qualify in program:
            tiers.setdefault(pk, (name, rank, {}))
            if unit is not None:
                tiers[pk][2][unit] = qualify
        current = tiers.get(tier_id) if tier_id is not None else None
        if current is None:  # the base tier: rank 1, every threshold 0
            current = next((t for t in tiers.values() if t[1] == 1 and t[2] and not any(t[2].values())), None)
        rank = current[1] if current else 0
        above = sorted((t for t in tiers.values() if t[1] > rank), key=lambda t: t[1])
        thresholds = {u: q for u, q in above[0][2].items() if u != "PTS"} if above else {}
        now = datetime.now(UTC)
        starts = now - timedelta(days=window_days)
        amounts = dict(self.conn.execute(SQL_SPEND, (member_id, starts, now)).fetchall())
        # the unit progress is shown in: the currency the member is closest to the next threshold in
        spent = [u for u in thresholds if amounts.get(u, 0) > 0]
        if spent:
            unit = min(spent, key=lambda u: (thresholds[u] - amounts[u]) / thresholds[u])
        else:
            unit = next(iter(thresholds), None)
        amount = amounts.get(unit or "", Decimal(0))
        threshold = thresholds.get(unit) if unit else None
        progress = {
            "basis": basis.upper(),
            "amount": _money(amount, unit),
            "amountToGo": None if threshold is None else _money(max(Decimal(0), threshold - amount), unit),
            "currency": unit,
            "pointsToGo": None,
            "windowStartsAt": _iso(starts),
            "windowEndsAt": None,
        }
        return {"current": {"name": current[0]} if current else None, "progress": progress}

    def panel(self) -> dict[str, Any]:
        execute, install = self.conn.execute, self.install_id
        tiers: dict[int, dict[str, Any]] = {}
        base = None  # the base tier (active, rank 1, thresholds all 0) holds everyone in no higher tier
        for pk, name, rank, active, unit, qualify, retain in execute(SQL_TIERS, (install,)).fetchall():
            tier = tiers.setdefault(pk, {"name": name, "members": 0, "thresholds": []})
            if unit is not None:
                tier["thresholds"].append(
                    {"unit": unit, "qualify": str(qualify), "retain": None if retain is None else str(retain)}
                )
                if rank == 1 and active and base in (None, pk):
                    base = pk if not qualify else -1
        counts = dict(execute(SQL_TIER_COUNTS, (install, install)).fetchall())
        everyone = counts.pop(None)
        for pk, n in counts.items():
            tiers[pk]["members"] = n
        if base is not None and base in tiers:
            tiers[base]["members"] = everyone - sum(n for pk, n in counts.items() if pk != base)
        since = datetime.now(UTC) - timedelta(weeks=26)
        movements = [
            {"week": _iso(week.replace(tzinfo=UTC)), "upgrades": up, "downgrades": down}
            for week, up, down in execute(SQL_MOVEMENTS, (install, since)).fetchall()
        ]
        return {"tiers": list(tiers.values()), "tierMovements": movements}


# --- measurement -------------------------------------------------------------------------------------------------


@dataclass
class Latency:
    read: str
    side: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    cpu_ms: float  # this process's CPU time per request
    wrong: int  # app: not a 200 with data and no errors, or a balance that is not the generated one

    def line(self) -> str:
        flag = "" if self.wrong == 0 else f"  <-- INVALID: {self.wrong} wrong answers"
        return (
            f"{self.side:>9}: p50 {self.p50_ms:7.3f} ms  p95 {self.p95_ms:7.3f} ms  p99 {self.p99_ms:7.3f} ms  "
            f"mean {self.mean_ms:7.3f} ms  cpu {self.cpu_ms:6.3f} ms  ({self.requests} in {self.seconds:.1f} s){flag}"
        )


def _summarise(read: str, side: str, samples: list[float], elapsed: float, cpu: float, wrong: int) -> Latency:
    ordered = sorted(samples)
    count = len(ordered)
    figures = common.latency_ms(ordered)
    return Latency(
        read=read,
        side=side,
        requests=count,
        seconds=elapsed,
        p50_ms=figures["p50_ms"],
        p95_ms=1000 * ordered[min(count - 1, int(count * 0.95))] if count else float("nan"),
        p99_ms=figures["p99_ms"],
        mean_ms=figures["mean_ms"],
        cpu_ms=1000 * cpu / count if count else float("nan"),
        wrong=wrong,
    )


def _bounded(sequence: Sequence[int], seconds: float, limit: int) -> Iterator[int]:
    deadline = time.perf_counter() + seconds
    for n, item in enumerate(sequence):
        if n >= limit or time.perf_counter() >= deadline:
            return
        yield item


@dataclass
class Fixture:
    members: list[int]
    bodies: dict[int, bytes]
    balances: dict[int, dict[str, int]]


def _balance(expected: bq.Expected) -> dict[str, int]:
    return {"available": expected.available, "pending": expected.pending, "held": expected.held, "owed": expected.owed}


def run_app(read: str, app: App, fixture: Fixture, sequence: Sequence[int], seconds: float, limit: int) -> Latency:
    samples: list[float] = []
    answers: list[tuple[int, str, bytes]] = []
    began, cpu = time.perf_counter(), time.process_time()
    for member_id in _bounded(sequence, seconds, limit):
        body = fixture.bodies[member_id] if read == "widget" else PANEL_BODY
        t0 = time.perf_counter()
        status, raw = app.request(body)
        samples.append(time.perf_counter() - t0)
        answers.append((member_id, status, raw))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    wrong = 0
    for member_id, status, raw in answers:
        try:
            answer = json.loads(raw)
            data = answer["data"]
            if read == "widget":
                ok = data["customerLoyalty"]["account"]["balance"] == fixture.balances[member_id]
            else:
                ok = len(data["tiers"]) == len(TIERS) and bool(data["tierMovements"])
            ok = ok and status == "200 OK" and not answer.get("errors")
        except (ValueError, KeyError, TypeError):
            ok = False
        wrong += not ok
    return _summarise(read, "app", samples, elapsed, cpu, wrong)


def run_bare(read: str, bare: Bare, fixture: Fixture, sequence: Sequence[int], seconds: float, limit: int) -> Latency:
    samples: list[float] = []
    wrong = 0
    began, cpu = time.perf_counter(), time.process_time()
    for member_id in _bounded(sequence, seconds, limit):
        t0 = time.perf_counter()
        data = bare.widget(member_id) if read == "widget" else bare.panel()
        samples.append(time.perf_counter() - t0)
        if read == "widget":
            wrong += data["customerLoyalty"]["account"]["balance"] != fixture.balances[member_id]
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    return _summarise(read, "bare SQL", samples, elapsed, cpu, wrong)


def _without_clock(data: Any) -> Any:
    """The answer without ``windowStartsAt`` (it is "now" minus the window, so it differs by the call's moment)."""
    data = json.loads(json.dumps(data))
    tier = ((data or {}).get("customerLoyalty") or {}).get("tier") or {}
    if tier.get("progress"):
        tier["progress"].pop("windowStartsAt", None)
    return data


def compare(app: App, bare: Bare, members: Sequence[int]) -> list[str]:
    """The app and the bare SQL must give the same answer (member by member, one right after the other)."""
    problems = []
    for member_id in members:
        got = _without_clock(app.data(widget_body(member_id)))
        want = _without_clock(bare.widget(member_id))
        if got != want:
            problems.append(f"widget, member {member_id}:\n    app  {json.dumps(got)}\n    bare {json.dumps(want)}")
    got, want = app.data(PANEL_BODY), bare.panel()
    if got != want:
        problems.append(f"panel:\n    app  {json.dumps(got)}\n    bare {json.dumps(want)}")
    return problems


# --- diagnostics -------------------------------------------------------------------------------------------------


def diagnose(app: App, fixture: Fixture, sample: Sequence[int]) -> dict[str, Any]:
    """SQL statements per request (each read), where a widget request's time goes (cProfile), and the panel's SQL
    time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    result: dict[str, Any] = {}
    for read, body in (("widget", fixture.bodies[sample[0]]), ("panel", PANEL_BODY)):
        with CaptureQueriesContext(connection) as queries:
            app.request(body)
        statements = [(q["sql"], q["time"]) for q in queries.captured_queries]
        result[f"{read}_sql_per_request"] = len(statements)
        result[f"{read}_sql"] = [sql for sql, _ in statements]
        print(f"  {read}: {len(statements)} SQL statements per request", flush=True)
        for sql, seconds in statements:
            print(f"    {seconds}s  {sql[:150]}", flush=True)
    in_sql: list[float] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            in_sql[-1] += time.perf_counter() - t0

    whole: list[float] = []
    with connection.execute_wrapper(timed):
        for member_id in sample:
            in_sql.append(0.0)
            t0 = time.perf_counter()
            app.request(fixture.bodies[member_id])
            whole.append(time.perf_counter() - t0)
    result["widget_p50_ms"] = 1000 * sorted(whole)[len(whole) // 2]
    result["widget_in_sql_p50_ms"] = 1000 * sorted(in_sql)[len(in_sql) // 2]
    print(
        f"  widget: p50 {result['widget_p50_ms']:.2f} ms per request, of which in SQL (execute_wrapper) "
        f"{result['widget_in_sql_p50_ms']:.2f} ms",
        flush=True,
    )
    # The tier progress's award sum as it was written before (``Q(member=m) | Q(member__merged_into=m)``: a join
    # filtered by an OR, which scans every award of the store), against today's form, same members.
    from django.db.models import Q, Sum

    from saleor_loyalty.members.models import Member
    from saleor_loyalty.program.models import OrderAward

    members = list(Member.objects.filter(pk__in=sample[:20]))
    since = datetime.now(UTC) - timedelta(days=WINDOW_DAYS)
    forms = {
        "before (join + OR)": lambda m: Q(member=m) | Q(member__merged_into=m),
        "now (IN subquery)": lambda m: Q(
            member_id__in=Member.objects.filter(Q(pk=m.pk) | Q(merged_into=m)).values("pk")
        ),
    }
    for name, form in forms.items():
        took = []
        for member in members:
            t0 = time.perf_counter()
            list(
                OrderAward.objects.filter(form(member), first_paid_at__gte=since)
                .values("currency")
                .annotate(total=Sum("spend"))
            )
            took.append(time.perf_counter() - t0)
        result[f"award_sum_{name}_p50_ms"] = 1000 * sorted(took)[len(took) // 2]
        print(f"  award sum for the tier progress, {name}: p50 {1000 * sorted(took)[len(took) // 2]:.2f} ms")
    profiler = cProfile.Profile()
    profiler.enable()
    for member_id in sample:
        app.request(fixture.bodies[member_id])
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(15)
    print(f"  cProfile over {len(sample)} widget requests (cumulative, then own time):", flush=True)
    print("\n".join("    " + line for line in out.getvalue().splitlines() if line.strip()), flush=True)
    return result


# --- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, help="members to generate (default 100,000; --quick 10,000)")
    parser.add_argument(
        "--orders", type=int, nargs=2, default=(6, 10), metavar=("MIN", "MAX"), help="orders per member (default 6 10)"
    )
    parser.add_argument("--requests", type=int, default=2000, help="widget requests per side per round (max)")
    parser.add_argument("--panel-requests", type=int, default=400, help="panel requests per side per round (max)")
    parser.add_argument("--sampled", type=int, default=3000, help="random members the widget asks about")
    parser.add_argument("--compared", type=int, default=300, help="members whose app and SQL answers are compared")
    parser.add_argument("--duration", type=int, help="time bound per measured side, seconds (default 10; --quick 4)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per side (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/app pairs per read, alternating order")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--quick", action="store_true", help="10,000 members, 4 s per side: a smoke run (~1 min)")
    parser.add_argument("--diagnose", action="store_true", help="also count SQL per request and profile the widget")
    parser.add_argument("--keep-db", action="store_true", help="leave loyalty_bench in place afterwards")
    args = parser.parse_args(argv)
    members = args.members or (10_000 if args.quick else 100_000)
    duration = args.duration or (4 if args.quick else 10)
    sampled = min(args.sampled, members)
    assert 1 <= duration <= 120 and 0 <= args.warmup <= 60 and 1 <= args.rounds <= 10
    assert 100 <= members <= 1_000_000 and 1 <= args.orders[0] <= args.orders[1] <= 50
    assert 10 <= args.requests <= MAX_REQUESTS and 10 <= args.panel_requests <= MAX_REQUESTS
    assert 10 <= sampled <= 20_000 and 1 <= args.compared <= sampled

    started = time.monotonic()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    common.create_database()
    rounds: list[dict[str, Any]] = []
    diagnostics: dict[str, Any] | None = None
    problems: list[str] = []
    try:
        common.migrate()
        bq._django()
        install_id = bq.create_install(bq.public_jwks(key))
        dataset, expected = build(install_id, members, (args.orders[0], args.orders[1]), args.seed)
        print(
            f"dashboard: {dataset.members:,} members, {dataset.transfers:,} transfers, {dataset.lots:,} lots "
            f"loaded in {dataset.load_seconds:.1f} s; {dataset.awards:,} order awards in "
            f"{dataset.awards_seconds:.1f} s; tiers {dataset.tier_spread}, {dataset.tier_changes:,} tier changes "
            f"in {dataset.tiers_seconds:.1f} s",
            flush=True,
        )
        rng = random.Random(args.seed + 1)
        pool = rng.sample(range(1, members + 1), sampled)
        fixture = Fixture(
            members=pool,
            bodies={m: widget_body(m) for m in pool},
            balances={m: _balance(expected[m - 1]) for m in pool},
        )
        del expected
        app = App(staff_token(key, 3600))
        with common.bench_connection() as conn:
            bare = Bare(conn, install_id)
            problems = compare(app, bare, pool[: args.compared])
            print(
                f"dashboard: app and bare SQL answers compared for {args.compared} members and the panel: "
                f"{len(problems)} differences",
                flush=True,
            )
            for problem in problems[:3]:
                print("  " + problem, flush=True)
            # cache-warm: every pooled member once through both sides
            run_bare("widget", bare, fixture, pool, 120, MAX_REQUESTS)
            run_app("widget", app, fixture, pool, max(args.warmup, 1) * 3, MAX_REQUESTS)
            for r in range(args.rounds):
                for read, limit in (("widget", args.requests), ("panel", args.panel_requests)):
                    sequence = [rng.choice(pool) for _ in range(limit)]
                    sides = ("sql", "app") if r % 2 == 0 else ("app", "sql")
                    got: dict[str, Latency] = {}
                    for side in sides:
                        if side == "app":
                            run_app(read, app, fixture, pool, args.warmup, limit)
                            got[side] = run_app(read, app, fixture, sequence, duration, limit)
                        else:
                            run_bare(read, bare, fixture, pool, args.warmup, limit)
                            got[side] = run_bare(read, bare, fixture, sequence, duration, limit)
                    a, b = got["app"], got["sql"]
                    entry: dict[str, Any] = {
                        "read": read,
                        "app": asdict(a),
                        "baseline": asdict(b),
                        "ratio": common.ratio(a.p50_ms, b.p50_ms),
                        "ratio_p95": common.ratio(a.p95_ms, b.p95_ms),
                    }
                    print(
                        f"dashboard {read} round {r + 1}/{args.rounds}:\n  {b.line()}\n  {a.line()}\n"
                        f"  ratio app/SQL: p50 {entry['ratio']:.1f}x, p95 {entry['ratio_p95']:.1f}x",
                        flush=True,
                    )
                    rounds.append(entry)
            if args.diagnose:
                print("dashboard: diagnostics", flush=True)
                diagnostics = diagnose(app, fixture, pool[: min(300, len(pool))])
    finally:
        common.release_database(keep=args.keep_db)

    reads: dict[str, dict[str, Any]] = {}
    for read in ("widget", "panel"):
        mine = [r for r in rounds if r["read"] == read]
        reads[read] = {
            key: common.median([r[side][field] for r in mine])
            for key, side, field in (
                ("app", "app", "p50_ms"),
                ("app_p95_ms", "app", "p95_ms"),
                ("app_cpu_ms", "app", "cpu_ms"),
                ("baseline", "baseline", "p50_ms"),
                ("baseline_p95_ms", "baseline", "p95_ms"),
                ("baseline_cpu_ms", "baseline", "cpu_ms"),
            )
        }
        reads[read]["ratio"] = common.median([r["ratio"] for r in mine])
        reads[read]["ratio_p95"] = common.median([r["ratio_p95"] for r in mine])
        reads[read]["met"] = reads[read]["ratio"] <= TARGET
    worst = max(reads, key=lambda read: reads[read]["ratio"])
    summary: dict[str, Any] = {
        "benchmark": "dashboard_reads",
        "unit": "ms p50 per request (the worse of the two reads)",
        "app": reads[worst]["app"],
        "baseline": reads[worst]["baseline"],
        "ratio": reads[worst]["ratio"],
        "target": TARGET,
        "target_is_max": True,
        "met": all(r["met"] for r in reads.values()),
        "valid": not problems and all(r["app"]["wrong"] == 0 and r["baseline"]["wrong"] == 0 for r in rounds),
        "reads": reads,
        "data": asdict(dataset),
        "rounds": rounds,
    }
    if diagnostics is not None:
        summary["diagnostics"] = diagnostics
    for read, got in reads.items():
        print(
            f"dashboard {read}: app p50 {got['app']:.2f} ms, p95 {got['app_p95_ms']:.2f} ms vs bare SQL p50 "
            f"{got['baseline']:.3f} ms, p95 {got['baseline_p95_ms']:.3f} ms: app/SQL {got['ratio']:.1f}x at p50, "
            f"{got['ratio_p95']:.1f}x at p95 (target <= {TARGET:.0f}x: {'MET' if got['met'] else 'MISSED'})",
            flush=True,
        )
    print(f"dashboard: total {time.monotonic() - started:.0f} s", flush=True)
    common.emit_result(summary)
    return summary


if __name__ == "__main__":
    main()
