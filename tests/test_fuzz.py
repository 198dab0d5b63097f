"""Fuzzing the two doors anyone can knock on: the storefront GraphQL API and the webhook endpoints.

Hypothesis, derandomized (the same examples on every run, so CI is reproducible) and bounded (about a thousand
requests, some 30 seconds). Each example runs in a transaction rolled back afterwards, against the same world, so a
failure reproduces from its own input alone. For any input:

- ``/graphql/`` never answers 500, and an answer only ever carries the caller's own data: never another member's,
  never another store's. The world: store A with Ada and Yusuf (Yusuf holds points on his checkout and has a
  referral code), store B with its own Ada under the SAME Saleor user id; callers are Ada with A's token, Ada with
  B's token, A's server API key, nobody, and forged or broken tokens. Nobody's request moves another member's held,
  pending or available points (down), and the ledgers stay sound.
- ``/api/webhooks/<path>`` never answers 500, for garbage and for bodies the store really signed whose values are
  wrong (odd amounts, wrong types, missing fields, NUL bytes, unicode); once the inbox is processed every stored
  delivery ends processed, ignored or refused as malformed (no handler crashed), and the ledger's invariants hold.

No answer may carry an ``INTERNAL_ERROR``: text PostgreSQL cannot store (a NUL, a lone surrogate such as
``"\\ud800"``) is refused up front as ``INVALID``. What the fuzzer found on its first runs (a null page size, an
over-long checkout id, lone surrogates, a NUL in a signed token's user id, over-long ids in signed bodies) is fixed
and stays covered here.
"""

import base64
import copy
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_loyalty.installs import lookup
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.custom_events import issue_api_key
from saleor_loyalty.program.models import EarningAction
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.redemption.configuration import create_reward
from saleor_loyalty.redemption.models import Redemption, RedemptionStatus
from saleor_loyalty.referrals.models import Referral, ReferralCode, ReferralProgram
from saleor_loyalty.saleor.subscriptions import SUBSCRIPTIONS
from saleor_loyalty.webhooks import tasks
from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from tests.saleor_harness import GraphQLCall, PermissionDenied, build_webhook_payload, forge_alg_none, global_id
from tests.saleor_harness import fixtures as fx
from tests.saleor_harness.events import event_enum_value
from tests.storefront import REDEEM, Store, gql, running_store

pytestmark = pytest.mark.django_db

FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples every run: a CI failure reproduces locally
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

ADA, YUSUF = global_id("User", 1), global_id("User", 2)


# -- odd values ---------------------------------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "VXNlcjox\x00",
    "\u202e\u0000\ufeff",
    "\ud800",  # a lone surrogate: valid JSON (escaped), not encodable as UTF-8
    "🎉" * 50,
    "Ｕｓｅｒ：１",
    "null",
    "NaN",
    "-Infinity",
    "1e309",
    "-1",
    "9" * 400,
    "0.0000000001",
    "１２３",
    "x" * 4000,
    "' OR 1=1 --",
    "%s%n",
    "../../../etc/passwd",
    "<script>alert(1)</script>",
    base64.b64encode(b"User:99999999999999999999999").decode(),
    base64.b64encode(b"PointsActivity:-1").decode(),
    base64.b64encode(b"PointsActivity:99999999999999999999").decode(),
    base64.b64encode(b"Reward:99999999999999999999").decode(),
    base64.b64encode(b"Reward:-5").decode(),
    base64.b64encode(b"\xff\xfe:1").decode(),
]
odd_text = st.one_of(st.text(max_size=40), st.sampled_from(ODD_STRINGS))
odd_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)
odd_structures = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(st.one_of(st.integers(), st.text(max_size=5)), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
anything = st.one_of(odd_text, odd_numbers, odd_structures)
decimal_strings = st.one_of(
    st.sampled_from(["1", "2.50", "0.001", "NaN", "sNaN", "Infinity", "-0", "-5", "1E+30", "1e-30", "0x10", " 5 "]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
keys = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=30), st.sampled_from(ODD_STRINGS))


# -- the world ----------------------------------------------------------------------------------------------------


@dataclass
class Caller:
    name: str
    store: Store | None
    member: Member | None  # whose data this caller may see (None: nobody's)
    token: str | None = None  # set per request (shopper tokens are short-lived)


@dataclass
class World:
    a: Store
    b: Store
    ada_a: Member
    yusuf: Member
    ada_b: Member
    api_key_a: str
    known_ids: list[str]
    checkouts: list[str]
    rewards: list[str]
    yusuf_redemption: dict[str, Any]
    members: list[Member] = field(default_factory=list)

    def token_for(self, caller: Caller) -> str | None:
        if caller.name == "ada@A":
            return self.a.token(ADA, "ada@a.example")
        if caller.name == "ada@B":
            return self.b.token(ADA, "ada@b.example")
        if caller.name == "server@A":
            return self.api_key_a
        return None

    def secrets_of(self, member: Member) -> list[str]:
        """Strings that are this member's and nobody else's: email, referral code, voucher codes, ids."""
        found = [member.email] if member.email else []
        code = ReferralCode.objects.filter(member=member).values_list("code", flat=True).first()
        if code:
            found.append(code)
        for pk, voucher in Redemption.objects.filter(member=member).values_list("pk", "voucher_code"):
            found.append(global_id("Redemption", pk))
            if voucher:
                found.append(voucher)
        return found


@contextmanager
def rolled_back(*stores: Store) -> Iterator[None]:
    """One example's changes, undone afterwards (database, the fake stores' checkouts and vouchers, caches), so
    each example runs against the same world and a failure reproduces from its own input alone."""
    saved = [(store.shop, copy.deepcopy(store.shop.checkouts), copy.deepcopy(store.shop.vouchers)) for store in stores]
    cache.clear()  # rate limits too: they would soon answer every request before the code under test runs
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        for shop, checkouts, vouchers in saved:
            shop.checkouts, shop.vouchers = checkouts, vouchers
        cache.clear()
        lookup._cache.clear()


def _fund(store: Store, user_id: str, email: str, points: int) -> Member:
    member = member_for_user(store.install, user_id, email)
    with transaction.atomic():
        ledger.earn(member=member, points=points, key=f"fuzz-gift-{store.install.pk}-{user_id}", source="adjustment")
    return member


def _saleor_users(store: Store, users: dict[str, str]) -> None:
    def user(call: GraphQLCall, id: str | None = None, **_: Any) -> dict[str, Any] | None:
        if not call.app_authenticated:
            raise PermissionDenied(("MANAGE_STAFF", "MANAGE_USERS", "MANAGE_ORDERS"))
        email = users.get(id or "")
        return {"id": id, "email": email, "isActive": True} if email else None

    store.saleor.resolvers["user"] = user


@pytest.fixture
def world(db) -> Iterator[World]:
    with ExitStack() as stack:
        a, b = stack.enter_context(running_store()), stack.enter_context(running_store())
        for store in (a, b):
            program = program_settings(store.install)
            program.redemption_rate_limit_per_minute = 1_000_000  # fuzz the pricing, not the rate limit
            program.save()
            ReferralProgram.objects.create(install=store.install, storefront_url="https://shop.example/join")
        _saleor_users(a, {ADA: "ada@a.example", YUSUF: "yusuf@a.example"})
        ada_a = _fund(a, ADA, "ada@a.example", 1234)
        with transaction.atomic():  # points in a return window, and points about to expire
            soon = timezone.now() + timedelta(days=5)
            ledger.earn(member=ada_a, points=40, key="fuzz-pending", source="order", order_id="o-9", unlocks_at=soon)
            ledger.earn(member=ada_a, points=60, key="fuzz-expiring", source="adjustment", expires_at=soon)
        yusuf = _fund(a, YUSUF, "yusuf@a.example", 5678)
        ada_b = _fund(b, ADA, "ada@b.example", 9012)
        reward_a = create_reward(
            a.install,
            name="Only in store A",
            kind="FIXED_AMOUNT",
            points_cost=300,
            value="3",
            channel_slug="default-channel",
        )
        reward_b = create_reward(
            b.install,
            name="Only in store B",
            kind="FIXED_AMOUNT",
            points_cost=300,
            value="3",
            channel_slug="default-channel",
        )
        EarningAction.objects.create(install=a.install, code="review", name="Review", points=5, max_per_period=3)
        checkouts = [
            a.shop.add_checkout(ADA, "50.00"),
            a.shop.add_checkout(ADA, "9.99", channel="jp"),
            a.shop.add_checkout(YUSUF, "80.00"),
            a.shop.add_checkout(None, "20.00"),
            b.shop.add_checkout(ADA, "30.00"),
        ]
        yusuf_token = a.token(YUSUF, "yusuf@a.example")
        held = gql(REDEEM, {"checkoutId": checkouts[2], "points": 700, "key": "yusuf-1"}, token=yusuf_token)
        yusuf_redemption = held["data"]["redeemPoints"]["redemption"]
        assert yusuf_redemption and yusuf_redemption["status"] == "ACTIVE", held
        for token in (yusuf_token, b.token(ADA, "ada@b.example")):
            assert gql("{ myReferrals { code } }", token=token)["data"]["myReferrals"]["code"]
        activity = Transfer.objects.filter(member__in=[ada_a, yusuf, ada_b]).values_list("pk", flat=True)
        known_ids = [
            *checkouts,
            ADA,
            YUSUF,
            global_id("Reward", reward_a.pk),
            global_id("Reward", reward_b.pk),
            yusuf_redemption["id"],
            *(global_id("PointsActivity", pk) for pk in activity),
            *ReferralCode.objects.values_list("code", flat=True),
        ]
        yield World(
            a=a,
            b=b,
            ada_a=ada_a,
            yusuf=yusuf,
            ada_b=ada_b,
            api_key_a=issue_api_key(a.install, "fuzz").key,
            known_ids=known_ids,
            checkouts=checkouts,
            rewards=[global_id("Reward", reward_a.pk), global_id("Reward", reward_b.pk)],
            yusuf_redemption=yusuf_redemption,
            members=[ada_a, yusuf, ada_b],
        )


# -- the storefront API -------------------------------------------------------------------------------------------

ME = """
query Me($first: Int, $after: String, $last: Int, $before: String, $days: Int) {
  me {
    id saleorUserId email
    balance { available pending held owed net lifetime }
    pendingPoints { points unlocksAt orderId }
    expiringPoints(withinDays: $days) { points expiresOn }
    history(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id kind points balanceChange orderId createdAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""
REDEMPTION_FIELDS = """
    redemption { id checkoutId points status voucherCode discount { amount currency } reward { id name } }
    balance { available pending held owed net lifetime }
    errors { field code message }
"""
OPERATIONS: dict[str, tuple[str, dict[str, str]]] = {
    # name: (document, {variable: kind of value})
    "me": (ME, {"first": "int", "after": "id", "last": "int", "before": "id", "days": "int"}),
    "program": (
        "query P($c: String!, $cur: String!) { program(channel: $c, currency: $cur) "
        "{ channel summary earn { pointsPerUnit currency } redeem { pointsPerUnit minPoints } returnWindowDays } }",
        {"c": "channel", "cur": "text"},
    ),
    "estimate": (
        "query E($id: ID!) { estimatePoints(checkoutId: $id) { points exactPoints currency } }",
        {"id": "checkout"},
    ),
    "rewards": (
        "query R($c: String!) { rewards(channel: $c) { id name kind pointsCost value affordable } }",
        {"c": "channel"},
    ),
    "activeRedemption": (
        "query A($id: ID!) { activeRedemption(checkoutId: $id) { id checkoutId points status voucherCode } }",
        {"id": "checkout"},
    ),
    "myTier": (
        "query T($cur: String) { myTier(currency: $cur) { current { name rank } progress { amount currency } "
        "history { toTier reason } } }",
        {"cur": "text"},
    ),
    "myReferrals": (
        "query F($n: Int) { myReferrals { code link invited pointsEarned referrals(first: $n) { id status friend } "
        "referredBy { id friend } } }",
        {"n": "int"},
    ),
    "redeemPoints": (
        "mutation M($id: ID!, $points: Int, $amount: Decimal, $key: String!) { redeemPoints(checkoutId: $id,"
        f" points: $points, amount: $amount, idempotencyKey: $key) {{ {REDEMPTION_FIELDS} }} }}",
        {"id": "checkout", "points": "int", "amount": "decimal", "key": "key"},
    ),
    "redeemReward": (
        "mutation M($id: ID!, $reward: ID!, $key: String!) {"
        f" redeemReward(checkoutId: $id, rewardId: $reward, idempotencyKey: $key) {{ {REDEMPTION_FIELDS} }} }}",
        {"id": "checkout", "reward": "reward", "key": "key"},
    ),
    "cancelRedemption": (
        f"mutation M($id: ID!) {{ cancelRedemption(checkoutId: $id) {{ {REDEMPTION_FIELDS} }} }}",
        {"id": "checkout"},
    ),
    "applyReferralCode": (
        "mutation M($code: String!) { applyReferralCode(code: $code) { referral { id status friend points } "
        "errors { field code message } } }",
        {"code": "code"},
    ),
    "adjustPoints": (
        "mutation M($id: ID!, $points: Int!, $reason: String!, $key: String!) { adjustPoints(customerId: $id, "
        "points: $points, reason: $reason, idempotencyKey: $key) { balance { available held } errors { code } } }",
        {"id": "id", "points": "int", "reason": "text", "key": "key"},
    ),
    "recordEvent": (
        "mutation M($action: String!, $id: ID!, $key: String!, $at: DateTime) { recordEvent(action: $action, "
        "customerId: $id, idempotencyKey: $key, occurredAt: $at) { points errors { field code message } } }",
        {"action": "action", "id": "id", "key": "key", "at": "datetime"},
    ),
}


CALLERS = ["ada@A", "ada@B", "server@A", "nobody"]
SHOPPERS = ["ada@A", "ada@B"]
NATURAL_CALLERS = {"recordEvent": ["server@A"], "program": CALLERS, "adjustPoints": CALLERS}


def typed_values(kind: str, world: "World") -> st.SearchStrategy[Any]:
    """Values GraphQL accepts for the variable's type, odd within it."""
    known_ids = world.known_ids
    ids = st.one_of(
        st.sampled_from(known_ids),
        st.sampled_from(known_ids).map(lambda v: v + "\x00"),
        odd_text,
        st.integers(min_value=-(10**6), max_value=10**6),
    )
    return {
        "id": ids,
        "checkout": st.integers(min_value=0, max_value=2).flatmap(
            lambda pick: st.sampled_from(world.checkouts) if pick < 2 else ids
        ),
        "reward": st.integers(min_value=0, max_value=2).flatmap(
            lambda pick: st.sampled_from(world.rewards) if pick < 2 else ids
        ),
        "int": st.one_of(
            st.sampled_from([100, 500, 700, 20, 99, 101, 1, 0, -1, 2**31 - 1, -(2**31)]),
            st.integers(min_value=-(2**31), max_value=2**31 - 1),
        ),
        "decimal": st.one_of(decimal_strings, st.floats(allow_nan=True, allow_infinity=True), st.integers()),
        "key": keys,
        "code": st.one_of(st.sampled_from(known_ids), keys),
        "text": st.one_of(st.sampled_from(["USD", "usd", "JPY", "EUR", "XXX", "US", "€€€"]), odd_text),
        "channel": st.one_of(st.sampled_from(["default-channel", "jp", "nope", ""]), odd_text),
        "action": st.one_of(st.sampled_from(["review", "newsletter", "REVIEW", "review\x00"]), odd_text),
        "datetime": st.one_of(
            st.none(),
            st.datetimes(timezones=st.just(UTC), min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
                datetime.isoformat
            ),
            st.sampled_from(["2026-01-01T00:00:00", "2026-13-45T99:00:00Z", "now", "0001-01-01T00:00:00+00:00"]),
            odd_text,
        ),
    }[kind]


def operation_requests(world: "World") -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """A caller, an operation and its variables: mostly of the right GraphQL types with odd values, sometimes
    anything; mostly from the operation's own kind of caller, sometimes from any."""

    def for_operation(name: str) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
        document, kinds = OPERATIONS[name]
        required = set(re.findall(r"\$(\w+): \w+!", document))
        typed = {var: typed_values(kind, world) for var, kind in kinds.items()}
        well_typed = st.fixed_dictionaries(
            {var: values for var, values in typed.items() if var in required},
            optional={var: values for var, values in typed.items() if var not in required},
        )
        junk = st.fixed_dictionaries({}, optional={var: st.one_of(typed[var], anything) for var in kinds})
        variables = st.integers(min_value=0, max_value=4).flatmap(lambda pick: well_typed if pick < 4 else junk)
        natural = NATURAL_CALLERS.get(name, SHOPPERS)
        callers = st.integers(min_value=0, max_value=2).flatmap(
            lambda pick: st.sampled_from(natural) if pick < 2 else st.sampled_from(CALLERS)
        )
        return st.tuples(callers, st.just(name), variables)

    return st.sampled_from(sorted(OPERATIONS)).flatmap(for_operation)


def _as_its_own_request(send: Any) -> Any:
    """Run one request as production would, in its own transaction: a statement the database refused inside it
    (an INTERNAL_ERROR) must not poison what the test checks afterwards in the example's rolled-back transaction."""
    savepoint = transaction.savepoint()
    response = send()
    if connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
        transaction.savepoint_rollback(savepoint)
    else:
        transaction.savepoint_commit(savepoint)
    return response


def post_graphql(body: bytes, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return _as_its_own_request(
        lambda: Client().post("/graphql/", data=body, content_type="application/json", headers=headers)
    )


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _decoded(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return None
    try:
        name, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
    except ValueError:
        return None
    return name, pk


def _decoded_pk(value: str) -> int:
    return int(base64.b64decode(value).decode().partition(":")[2])


def assert_only_own_data(world: World, caller: Caller, request: str, answer: dict[str, Any]) -> None:
    """Nothing in ``answer`` belongs to anyone but the caller (unless the caller sent it in the request)."""
    text = json.dumps(answer)
    for member in world.members:
        if member != caller.member:
            for secret in world.secrets_of(member):
                # whole tokens only: Redemption:1's id is a prefix of Redemption:14's
                pattern = re.compile(rf"(?<![\w+/=@.-]){re.escape(secret)}(?![\w+/=@.-])")
                assert not pattern.search(text) or pattern.search(request), (caller.name, member.email, secret, answer)
    own = caller.member
    balances = member_balances(own) if own is not None else None
    for node in _walk(answer.get("data")):
        if {"available", "held"} <= node.keys():
            assert balances is not None, (caller.name, node)
            expected = {k: getattr(balances, k) for k in ("available", "pending", "held", "owed", "net", "lifetime")}
            assert {k: v for k, v in node.items() if k in expected} == {k: expected[k] for k in node if k in expected}
        if "saleorUserId" in node:
            assert own is not None and node["saleorUserId"] == own.saleor_user_id and node["email"] == own.email
        decoded = _decoded(node.get("id"))
        if decoded is None:
            continue
        kind, pk = decoded
        if kind == "PointsActivity":
            assert Transfer.objects.filter(pk=int(pk), member=own).exists(), (caller.name, node)
        elif kind == "Redemption":
            assert Redemption.objects.filter(pk=int(pk), member=own).exists(), (caller.name, node)
        elif kind == "Referral":
            assert own is not None
            assert (
                Referral.objects.filter(pk=int(pk), referee=own).exists()
                or Referral.objects.filter(pk=int(pk), code__member=own).exists()
            ), (caller.name, node)
        elif kind == "Reward":
            assert caller.store is not None
            assert node.get("name") in (None, f"Only in store {'A' if caller.store is world.a else 'B'}"), node


def _as_graphql_id(value: Any) -> str:
    """The string an ``ID`` variable becomes (GraphQL takes integral numbers: 1e255 is a 256-digit id)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Findings in code owned elsewhere, reported to its owners and tolerated here only in exactly this shape (a 200
# with an INTERNAL_ERROR entry, never a 500) so the fuzzer keeps guarding everything else. Remove once fixed.
def internal_errors(answer: Any) -> list[dict[str, Any]]:
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return [
        e for e in errors or [] if isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "INTERNAL_ERROR"
    ]


def _check_graphql(world: World, caller: Caller, name: str, variables: dict[str, Any]) -> None:
    body = json.dumps({"query": OPERATIONS[name][0], "variables": variables})  # NaN/Infinity as JS literals
    before = {member.pk: member_balances(member) for member in world.members}
    response = post_graphql(body.encode(), caller.token)
    for member in world.members:  # nobody spends, holds or releases another member's points
        if member != caller.member:
            was, now = before[member.pk], member_balances(member)
            assert (now.held, now.pending, now.owed) == (was.held, was.pending, was.owed), (caller.name, name, member)
            assert now.available >= was.available, (caller.name, name, variables, member)  # recordEvent may add
    assert Redemption.objects.get(pk=_decoded_pk(world.yusuf_redemption["id"])).status == RedemptionStatus.ACTIVE
    for store in (world.a, world.b):
        assert integrity_problems(store.install.pk) == []
    assert response.status_code < 500, (response.status_code, name, variables)
    answer = response.json()
    assert isinstance(answer, dict), answer
    if response.status_code == 200:
        assert "data" in answer, answer
    assert internal_errors(answer) == [], (caller.name, name, variables, answer)
    assert_only_own_data(world, caller, body, answer)


def _caller(world: World, name: str) -> Caller:
    store, member = {
        "ada@A": (world.a, world.ada_a),
        "ada@B": (world.b, world.ada_b),
        "server@A": (world.a, None),
        "nobody": (None, None),
    }[name]
    caller = Caller(name=name, store=store, member=member)
    caller.token = world.token_for(caller)
    return caller


def test_the_storefront_api_never_fails_and_answers_only_with_the_callers_own_data(world):
    @settings(FUZZ, max_examples=400)
    @given(request=operation_requests(world))
    def check(request: tuple[str, str, dict[str, Any]]) -> None:
        caller, name, variables = request
        with rolled_back(world.a, world.b):
            _check_graphql(world, _caller(world, caller), name, variables)

    check()


def forged_tokens(world: World) -> st.SearchStrategy[str]:
    a = world.a
    fixed = [
        a.saleor.user_token(ADA, "ada@a.example", lifetime=-10),  # expired
        a.saleor.user_token(ADA, "ada@a.example", type="refresh"),
        a.saleor.user_token(ADA, "ada@a.example", owner=None),
        a.saleor.user_token(ADA, "ada@a.example", extra={"user_id": None}),
        a.saleor.user_token(ADA, "ada@a.example", extra={"user_id": 12}),
        a.saleor.user_token(ADA, "ada@a.example", extra={"user_id": YUSUF + "\x00"}),  # signed by the store
        a.saleor.user_token(ADA, "ada@a.example", iss=world.b.saleor.api_url + "x"),
        world.b.saleor.keys.issue_user_token(a.saleor.api_url, YUSUF, "yusuf@a.example"),  # B's key, A's issuer
        a.saleor.app_token_for_dashboard([]),
        a.saleor.app_token,
        forge_alg_none(b"x"),
        "lsk_" + "A" * 43,
        "lsk_\x00",
        "a.b.c",
        "e30.e30.e30",
        "Bearer",
        "\u00e9" * 20,
        "x" * 10_000,
    ]
    return st.one_of(st.sampled_from(fixed), st.text(max_size=60), st.sampled_from(fixed).map(lambda t: t[:-3] + "abc"))


def test_broken_or_forged_tokens_get_no_data_and_never_a_500(world):
    @settings(FUZZ, max_examples=80)
    @given(data=st.data(), request=operation_requests(world))
    def check(data: st.DataObject, request: tuple[str, str, dict[str, Any]]) -> None:
        _, name, variables = request
        token = data.draw(forged_tokens(world))
        with rolled_back(world.a, world.b):
            _check_graphql(world, Caller(name="forged", store=None, member=None, token=token), name, variables)

    check()


raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b'{"query": 1}',
            b'{"query": "{ me { id } }", "variables": []}',
            b'{"query": "{ me { id } }", "variables": {"x": NaN}}',
            b'{"query": "{ me { id } }", "operationName": 5}',
            b'{"query": "{ me { id } }", "operationName": "Nope"}',
            b'{"query": "query A { me { id } } query A { me { id } }"}',
            b'{"query": "{ __schema { types { name } } }"}',
            b'{"query": "{ me { id } }"' + b" " * 60_000 + b"}",
            b'{"query": "' + b"{ me " * 3000 + b'"}',
            b'{"query": "{ me { history(first: 1e400) { pageInfo { hasNextPage } } } }"}',
            b'{"query": "{ me { expiringPoints(withinDays: 99999999999) { points } } }"}',
            b'{"query": "{ me { expiringPoints(withinDays: -1) { points } } }"}',
            b'{"query": "{ me { id } }", "variables": {"a": "\\ud800"}}',
            '{"query": "{ program(channel: \\"\u0000\\", currency: \\"USD\\") { summary } }"}'.encode(),
            b"\xff\xfe{",
        ]
    ),
)


def test_raw_request_bodies_never_get_a_500(world):
    @settings(FUZZ, max_examples=60)
    @given(body=raw_bodies, caller=st.sampled_from(CALLERS))
    def check(body: bytes, caller: str) -> None:
        who = _caller(world, caller)
        with rolled_back(world.a, world.b):
            response = post_graphql(body, who.token)
            assert response.status_code < 500, (response.status_code, body[:200])
            answer = response.json()
            assert internal_errors(answer) == [], (body[:300], answer)
            assert_only_own_data(world, who, body.decode(errors="replace"), answer)

    check()


# -- webhooks -----------------------------------------------------------------------------------------------------


def _subscription(typename: str) -> Any:
    return next(s for s in SUBSCRIPTIONS if event_enum_value(typename) in s.events)


def base_payloads() -> list[tuple[str, dict[str, Any]]]:
    """A valid payload of each kind the app subscribes to, built from its own subscription documents."""
    ada = fx.user(pk=1, email="ada@a.example")
    lines = [
        fx.line(line_id=fx.global_id("OrderLine", "a"), quantity=2, unit_gross=12.0, unit_net=10.0),
        fx.line(line_id=fx.global_id("OrderLine", "b"), quantity=1, unit_gross=36.0, unit_net=30.0, variant_pk=2),
    ]
    events: list[tuple[str, dict[str, Any]]] = [
        ("OrderCreated", {"order": fx.order(pk="o-1", user=ada, lines=lines, total_charged=0.0)}),
        ("OrderFullyPaid", {"order": fx.order(pk="o-1", user=ada, lines=lines, voucher_code=None)}),
        ("OrderFullyPaid", {"order": fx.order(pk="o-2", user=None, user_email="guest@a.example", lines=lines[:1])}),
        ("OrderRefunded", {"order": fx.order(pk="o-1", user=ada, lines=lines, total_refunded=24.0)}),
        ("OrderFullyRefunded", {"order": fx.order(pk="o-1", user=ada, lines=lines, total_refunded=70.0)}),
        ("OrderCancelled", {"order": fx.order(pk="o-1", user=ada, lines=lines, status="CANCELED")}),
        ("CustomerCreated", {"user": fx.customer(pk=3, email="new@a.example", metadata_items={"birthday": "07-14"})}),
        ("CustomerUpdated", {"user": fx.customer(pk=1, email="ada@a.example")}),
        ("AccountConfirmed", {"user": fx.customer(pk=3, email="new@a.example")}),
        ("CheckoutUpdated", {"checkout": fx.checkout(voucher_code="LOYALTY-NOPE")}),
        ("AppDeleted", {"app": {"id": global_id("App", 2)}}),  # another app of the store
    ]
    refund = fx.granted_refund(12.0, lines=[(lines[0], 1)])
    returned = fx.fulfillment([(lines[1], 1)], status="REFUNDED")
    events.append(
        (
            "OrderRefunded",
            {"order": fx.order(pk="o-1", user=ada, lines=lines, granted_refunds=[refund], fulfillments=[returned])},
        )
    )
    payloads = []
    for typename, objects in events:
        event = fx.event(typename, issuing_principal=fx.user_principal(1), **objects)
        payloads.append((typename, build_webhook_payload(_subscription(typename).query, event)))
    return payloads


def _draw_path(draw: st.DrawFn, payload: Any) -> tuple[Any, ...]:
    """A node of the payload, reached by walking down from the event: each field of an object is as likely as its
    siblings whatever their size, so ``order.grantedRefunds`` is hit about as often as ``order.lines[0].id``."""
    path: tuple[Any, ...] = ()
    node = payload
    while True:
        children = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not children or (path and draw(st.integers(min_value=0, max_value=2)) == 0):
            return path
        step = draw(st.sampled_from(children))
        path, node = (*path, step), node[step]


def _mutate(payload: Any, path: tuple[Any, ...], operation: str, value: Any) -> Any:
    if not path:
        return value if operation == "replace" else payload
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "duplicate" and isinstance(parent, list):
        parent.append(json.loads(json.dumps(parent[last])))
    elif operation == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = value
    return payload


webhook_values = st.one_of(
    anything,
    decimal_strings,
    st.sampled_from(
        [
            "USD",
            "JPY",
            "BHD",
            "XXX",
            "CANCELED",
            "FULL",
            "REFUNDED",
            "SUCCESS",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59+00:00",
            ADA,
            YUSUF,
            global_id("App", 1),
            global_id("User", 2**40),
            1e15,
            -0.01,
            0.005,
            1_000_000,
            1_000_001,
        ]
    ),
)


@st.composite
def mutated_deliveries(draw: st.DrawFn, bases: list[tuple[str, dict[str, Any]]]) -> tuple[str, bytes]:
    typename, base = draw(st.sampled_from(bases))
    payload: Any = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = _draw_path(draw, payload)
        if path and path[0] == "__typename" and draw(st.booleans()):
            continue  # mostly keep the type: a wrong one is refused at the door, which the garbage test covers
        operation = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate", "wrap"]))
        payload = _mutate(payload, path, operation, draw(webhook_values))
    return typename, json.dumps(payload).encode()  # NaN and Infinity as Python writes them


def _post_webhook(path: str, body: bytes, headers: dict[str, str]) -> Any:
    return _as_its_own_request(
        lambda: Client().post(f"/api/webhooks/{path}", data=body, content_type="application/json", headers=headers)
    )


def _assert_inbox_processed_cleanly(store: Store) -> None:
    tasks.drain_inbox()
    crashed = [
        event
        for event in InboxEvent.objects.filter(install=store.install, status=InboxStatus.FAILED)
        if not event.last_error.startswith("malformed payload:")
    ]
    assert not crashed, [(e.event, e.last_error, e.body) for e in crashed]
    assert not InboxEvent.objects.filter(install=store.install, status=InboxStatus.PENDING).exists()
    assert integrity_problems(store.install.pk) == []


def test_signed_but_malformed_webhooks_never_500_never_crash_a_handler_and_keep_the_ledger_sound(world):
    store = world.a
    bases = base_payloads()

    @settings(FUZZ, max_examples=250)
    @given(deliveries=st.lists(mutated_deliveries(bases), min_size=1, max_size=3))
    def check(deliveries: list[tuple[str, bytes]]) -> None:
        with rolled_back(store):
            for typename, body in deliveries:
                headers = store.saleor.signed_headers(event_enum_value(typename), body)
                response = _post_webhook(_subscription(typename).path, body, headers)
                assert response.status_code in (200, 400), (response.status_code, response.content, body[:500])
            _assert_inbox_processed_cleanly(store)
            for member in Member.objects.filter(install=store.install):
                balances = member_balances(member)
                assert min(balances.available, balances.pending, balances.held) >= 0, (member, balances)

    check()


def test_unsigned_or_garbled_webhooks_never_500_and_store_nothing(world):
    store = world.a
    typename, payload = base_payloads()[1]
    good_body = json.dumps(payload).encode()
    good = store.saleor.signed_headers(event_enum_value(typename), good_body)
    by_b = world.b.saleor.signed_headers(event_enum_value(typename), good_body)

    header_values = st.one_of(
        st.text(max_size=80).filter(lambda v: "\n" not in v and "\r" not in v),
        st.sampled_from(
            [
                good["Saleor-Signature"],
                by_b["Saleor-Signature"],
                good["Saleor-Signature"].replace("..", ".e30."),
                good["Saleor-Signature"][:-4],
                "e30..",
                "..",
                store.saleor.api_url,
                store.saleor.api_url.upper(),
                world.b.saleor.api_url,
                store.saleor.api_url + "?x=1",
                "order_fully_paid",
                "ORDER_FULLY_PAID",
                "app_deleted",
                "x" * 5000,
                "\x00",
            ]
        ),
    )
    bodies = st.one_of(
        st.binary(max_size=400),
        st.sampled_from([good_body, good_body + b" ", good_body.replace(b"USD", b"EUR"), b"{}", b"[]", b"null"]),
    )

    @settings(FUZZ, max_examples=120)
    @given(
        path=st.one_of(st.sampled_from(["orders", "customers", "checkouts", "app", "nope"]), st.text(max_size=12)),
        body=bodies,
        headers=st.fixed_dictionaries(
            {},
            optional={
                "Saleor-Event": header_values,
                "Saleor-Signature": header_values,
                "Saleor-Api-Url": header_values,
                "Saleor-Domain": header_values,
            },
        ),
    )
    def check(path: str, body: bytes, headers: dict[str, str]) -> None:
        signed_for_this_body = headers.get("Saleor-Signature") == good["Saleor-Signature"] and body == good_body
        with rolled_back(store):
            response = _post_webhook(path.replace("/", "") or "x", body, headers)
            assert response.status_code != 500, (response.status_code, response.content, path, body[:200], headers)
            assert response.status_code < 500 or response.json()["error"]["code"] == "signing_key_unavailable"
            if response.status_code == 200:
                assert signed_for_this_body, (path, body[:200], headers)  # nothing unsigned gets in
            assert InboxEvent.objects.count() == (1 if response.status_code == 200 else 0)
            _assert_inbox_processed_cleanly(store)

    check()


# -- what the fuzzers found, kept as plain regression tests -------------------------------------------------------


def _deliver_signed(store: Store, typename: str, payload: dict[str, Any]) -> InboxEvent:
    body = json.dumps(payload).encode()
    headers = store.saleor.signed_headers(event_enum_value(typename), body)
    assert _post_webhook(_subscription(typename).path, body, headers).status_code == 200
    tasks.drain_inbox()
    return InboxEvent.objects.get(body_sha256=hashlib.sha256(body).hexdigest())


@pytest.mark.parametrize(
    "change",
    [
        lambda order: order.update(grantedRefunds=1),
        lambda order: order.update(grantedRefunds=[], fulfillments=4),
        lambda order: order.update(grantedRefunds=[{"status": "SUCCESS", "lines": 3}]),
        lambda order: order.update(id="\x00"),
        lambda order: order["user"].update(email="ada\ud800@a.example"),
        lambda order: order["lines"][0].update(id="line\x00"),
    ],
    ids=["granted-refunds-int", "fulfillments-int", "refund-lines-int", "nul-order-id", "surrogate", "nul-line-id"],
)
def test_a_signed_order_the_program_cannot_read_is_malformed_for_good_not_a_crash_retried(store, change):
    typename, payload = base_payloads()[4]  # ORDER_FULLY_REFUNDED of a paid order
    change(payload["order"])
    event = _deliver_signed(store, typename, payload)
    assert event.status == InboxStatus.FAILED
    assert event.last_error.startswith("malformed payload:"), event.last_error
    assert event.attempts == tasks.MAX_ATTEMPTS  # never retried: it can never succeed
    assert integrity_problems(store.install.pk) == []
