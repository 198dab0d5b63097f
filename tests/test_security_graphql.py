"""The storefront API against abuse (issue #8): cost limits before anything runs, a cap on calls to Saleor per
request, introspection off in production, logged internal errors, and NUL bytes refused as invalid input."""

import json
import logging
import time
from typing import Any

import pytest
from django.test import Client, override_settings

from saleor_loyalty.api.limits import SALEOR_CALLS
from saleor_loyalty.api.program import resolvers as program_resolvers
from saleor_loyalty.saleor.budget import SaleorCallBudgetExceeded, saleor_call_budget
from saleor_loyalty.saleor.client import SaleorClient
from tests.storefront import REDEEM

pytestmark = pytest.mark.django_db

FAST = 1.5  # seconds: a refusal parses and checks the document, nothing more (the probe measured 9 s and 25 s)

LOYALTY = """
query Loyalty {
  me {
    balance { available pending held owed net lifetime }
    pendingPoints { points unlocksAt orderId }
    expiringPoints(withinDays: 30) { points expiresOn }
    history(first: 20) {
      edges { cursor node { kind points balanceChange orderId createdAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
  program(channel: "default-channel", currency: "USD") {
    summary
    earn { pointsPerUnit includesTax includesShipping minOrderAmount }
    redeem { pointsPerUnit minPoints maxPointsPerOrder maxPercentOfSubtotal stepPoints }
    returnWindowDays
  }
}
"""

ESTIMATE = "estimatePoints(checkoutId: $id) { points exactPoints currency }"


def post(
    body: Any, token: str | None = None, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any], float]:
    extra = dict(headers or {})
    if token:
        extra["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    response = Client().post(
        "/graphql/", data=raw if raw is not None else json.dumps(body), content_type="application/json", headers=extra
    )
    elapsed = time.perf_counter() - started
    return response.status_code, response.json(), elapsed


def codes(body: dict[str, Any]) -> set[str | None]:
    return {(error.get("extensions") or {}).get("code") for error in body.get("errors", [])}


# -- Finding 5: cost limits -----------------------------------------------------------------------------------


# The probe's documents are refused by the size of the document already; with those limits lifted, by the rules.
PRE_PARSE_LIMITS = [{}, {"GRAPHQL_MAX_QUERY_CHARS": 1_000_000, "GRAPHQL_MAX_TOKENS": 1_000_000}]


@pytest.mark.parametrize("limits", PRE_PARSE_LIMITS, ids=["defaults", "document-limits-lifted"])
def test_300_aliased_introspections_are_refused_fast(limits):
    query = "{ " + " ".join(f"a{i}: __schema {{ types {{ name fields {{ name }} }} }}" for i in range(300)) + " }"
    with override_settings(**limits, GRAPHQL_INTROSPECTION=bool(limits)):
        status, body, elapsed = post({"query": query})
    assert status == 400, body.get("data") and "executed"
    assert "data" not in body
    assert "QUERY_TOO_COMPLEX" in codes(body)
    assert elapsed < FAST


@pytest.mark.parametrize("limits", PRE_PARSE_LIMITS, ids=["defaults", "document-limits-lifted"])
def test_300_aliased_estimates_are_refused_without_calling_saleor(store, limits):
    checkout = store.shop.add_checkout("VXNlcjox", "10.00")
    token = store.token()
    calls_before = len(store.saleor.calls)
    query = "query($id: ID!) { " + " ".join(f"e{i}: {ESTIMATE}" for i in range(300)) + " }"
    with override_settings(**limits):
        status, body, elapsed = post({"query": query, "variables": {"id": checkout}}, token=token)
    assert status == 400 and "data" not in body
    assert "QUERY_TOO_COMPLEX" in codes(body)
    assert len(store.saleor.calls) == calls_before  # not one call to Saleor
    assert elapsed < FAST


def test_a_few_aliased_estimates_within_the_alias_limit_still_cannot_exceed_the_saleor_budget(store):
    checkout = store.shop.add_checkout("VXNlcjox", "10.00")
    calls_before = len(store.saleor.calls)
    query = "query($id: ID!) { " + " ".join(f"e{i}: {ESTIMATE}" for i in range(9)) + " }"
    status, body, _ = post({"query": query, "variables": {"id": checkout}}, token=store.token())
    assert status == 400 and "data" not in body
    assert codes(body) == {"TOO_MANY_SALEOR_CALLS"}
    assert "at most 8" in body["errors"][0]["message"]
    assert len(store.saleor.calls) == calls_before


@override_settings(GRAPHQL_MAX_DEPTH=3)
def test_depth_is_limited_through_fragments():
    query = "query { me { ...M } } fragment M on LoyaltyMember { history { edges { node { kind } } } }"
    status, body, _ = post({"query": query})
    assert status == 400 and codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "deep" in body["errors"][0]["message"]


@override_settings(GRAPHQL_MAX_FIELDS=20)
def test_fields_are_counted_after_expanding_fragments():
    # 4 spreads of a 6-field fragment: 5 fields in the text, 25 once expanded
    query = """
    query {
      me { a: balance { ...B } b: balance { ...B } c: balance { ...B } d: balance { ...B } }
    }
    fragment B on PointsBalance { available pending held owed net lifetime }
    """
    status, body, _ = post({"query": query})
    assert status == 400 and codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "fields" in body["errors"][0]["message"]


def test_exponential_fragment_expansion_is_refused_fast():
    fragments = ["fragment F0 on PointsBalance { available }"]
    for level in range(1, 30):
        fragments.append(f"fragment F{level} on PointsBalance {{ ...F{level - 1} x: available ...F{level - 1} }}")
    query = "query { me { balance { ...F29 } } } " + " ".join(fragments)
    status, body, elapsed = post({"query": query})
    assert status == 400 and "QUERY_TOO_COMPLEX" in codes(body)
    assert elapsed < FAST


def test_fragment_cycles_are_an_error_not_a_hang():
    query = """
    query { me { ...A } }
    fragment A on LoyaltyMember { id ...B }
    fragment B on LoyaltyMember { email ...A }
    """
    status, body, elapsed = post({"query": query})
    assert status == 400 and "data" not in body
    assert any("cycle" in error["message"] or "itself" in error["message"] for error in body["errors"])
    assert elapsed < FAST


@override_settings(GRAPHQL_MAX_ROOT_FIELDS=2)
def test_root_fields_are_limited():
    query = '{ a: program(channel: "c", currency: "USD") { channel } b: me { id } c: me { email } }'
    status, body, _ = post({"query": query})
    assert status == 400 and codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "root fields" in body["errors"][0]["message"]


@override_settings(GRAPHQL_MAX_ALIASES=2)
def test_aliases_are_limited():
    status, body, _ = post({"query": "{ me { a: id b: id c: id } }"})
    assert status == 400 and codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "aliases" in body["errors"][0]["message"]


def test_page_sizes_count_towards_the_cost():
    page = "history(first: 100) { edges { cursor node { kind points balanceChange orderId createdAt } } }"
    status, body, _ = post({"query": "{ me { " + " ".join(f"h{i}: {page}" for i in range(4)) + " } }"})
    assert status == 400 and codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "cost" in body["errors"][0]["message"]


def test_the_document_size_and_token_count_are_capped_before_parsing():
    padded = "{ me { id } }" + " " * 20_000
    status, body, _ = post({"query": padded})
    assert status == 400 and codes(body) == {"QUERY_TOO_COMPLEX"}
    tokens = "{ " + "a " * 4_500 + "}"  # under 10000 characters, over 2000 tokens
    status, body, elapsed = post({"query": tokens})
    assert status == 400 and "data" not in body and codes(body) == {"QUERY_TOO_COMPLEX"}
    assert "tokens" in body["errors"][0]["message"]
    assert elapsed < FAST
    status, body, _ = post(None, raw=b'{"query": "' + b" " * 60_000 + b'{ me { id } }"}')
    assert status == 413


def test_batched_and_malformed_bodies_are_refused_clearly():
    status, body, _ = post([{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert status == 400 and "batch" in body["errors"][0]["message"]
    status, body, _ = post(None, raw=b"[" * 20_000 + b"]" * 20_000)
    assert status == 400


# -- Finding 5: introspection ---------------------------------------------------------------------------------


def test_introspection_is_off_unless_enabled():
    query = "{ __schema { queryType { name } } }"
    status, body, _ = post({"query": query})
    assert status == 400 and codes(body) == {"INTROSPECTION_DISABLED"}
    status, body, _ = post({"query": '{ __type(name: "Query") { name } }'})
    assert status == 400 and codes(body) == {"INTROSPECTION_DISABLED"}
    assert post({"query": "{ __typename }"})[1] == {"data": {"__typename": "Query"}}
    with override_settings(GRAPHQL_INTROSPECTION=True):
        assert post({"query": query})[1] == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    with override_settings(DEBUG=True):
        assert post({"query": query})[1] == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@override_settings(GRAPHQL_INTROSPECTION=True)
def test_the_standard_introspection_query_fits_the_limits_when_enabled():
    from graphql import get_introspection_query

    status, body, _ = post({"query": get_introspection_query(descriptions=True)})
    assert status == 200 and "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


# -- Finding 5: calls to Saleor per request -------------------------------------------------------------------


def test_a_request_makes_at_most_its_budget_of_saleor_calls(store):
    client = SaleorClient(store.saleor.api_url, store.saleor.app_token)
    calls_before = len(store.saleor.calls)
    with saleor_call_budget(1):
        client.execute("app_id")
        with pytest.raises(SaleorCallBudgetExceeded):
            client.execute("app_id")
    assert len(store.saleor.calls) == calls_before + 1
    client.execute("app_id")  # outside a request's budget (webhooks, tasks) calls are not counted
    assert len(store.saleor.calls) == calls_before + 2


def test_over_the_saleor_budget_a_resolver_answers_a_clear_error(store, monkeypatch):
    # Pretend the static check under-counts estimatePoints: the per-request budget still holds at run time.
    monkeypatch.setattr("saleor_loyalty.api.limits.SALEOR_CALLS", {})
    checkout = store.shop.add_checkout("VXNlcjox", "10.00")
    calls_before = len(store.saleor.calls)
    query = "query($id: ID!) { a: " + ESTIMATE + " b: " + ESTIMATE + " }"
    with override_settings(GRAPHQL_MAX_SALEOR_CALLS=1):
        status, body, _ = post({"query": query, "variables": {"id": checkout}}, token=store.token())
    assert status == 200
    assert body["data"] is None  # estimatePoints is non-null: the refused second one nulls the answer
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TOO_MANY_SALEOR_CALLS"]
    assert body["errors"][0]["path"] == ["b"]
    assert len(store.saleor.calls) == calls_before + 1


def test_documented_storefront_operations_work_within_the_limits(store):
    store.give_points(2000)
    token = store.token()
    status, body, _ = post({"query": LOYALTY}, token=token)
    assert status == 200 and "errors" not in body, body
    assert body["data"]["me"]["balance"]["available"] == 2000
    checkout = store.shop.add_checkout("VXNlcjox", "100.00")
    estimate = "query($id: ID!) { " + ESTIMATE + " }"
    assert post({"query": estimate, "variables": {"id": checkout}}, token=token)[1]["data"]["estimatePoints"] == {
        "points": 100,
        "exactPoints": "100.000000",
        "currency": "USD",
    }
    # a redemption, then one that replaces it: the most calls to Saleor one request makes
    for key, points in (("k1", 500), ("k2", 700)):
        variables = {"checkoutId": checkout, "points": points, "key": key}
        calls_before = len(store.saleor.calls)
        status, body, _ = post({"query": REDEEM, "variables": variables}, token=token)
        assert status == 200 and body["data"]["redeemPoints"]["errors"] == [], body
        assert body["data"]["redeemPoints"]["redemption"]["points"] == points
        assert len(store.saleor.calls) - calls_before <= SALEOR_CALLS[("Mutation", "redeemPoints")]
    assert len(store.shop.vouchers) == 1  # the replaced redemption's voucher was deleted: the replacement completed


# -- Finding 8: unexpected errors are logged with a request id; NUL bytes are invalid input ---------------------


def test_an_unexpected_resolver_error_is_logged_with_the_request_id(monkeypatch, caplog):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(program_resolvers, "active_install", broken)
    with caplog.at_level(logging.ERROR):
        status, body, _ = post(
            {"query": '{ program(channel: "c", currency: "USD") { channel } }'},
            headers={"Saleor-Api-Url": "https://shop.example/graphql/", "X-Request-Id": "req-abc123"},
        )
    assert status == 200
    (error,) = body["errors"]
    assert error["message"] == "internal error"
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "req-abc123"}
    assert "database on fire" not in json.dumps(body)
    (record,) = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert isinstance(record.exc_info[1], RuntimeError)
    assert record.context.get("request_id") == "req-abc123"


def test_an_internal_error_without_a_request_id_header_still_gets_one(monkeypatch, caplog):
    monkeypatch.setattr(program_resolvers, "active_install", lambda *a: (_ for _ in ()).throw(KeyError("x")))
    with caplog.at_level(logging.ERROR):
        _, body, _ = post({"query": '{ program(channel: "c", currency: "USD") { channel } }'})
    request_id = body["errors"][0]["extensions"]["requestId"]
    assert request_id and any(r.context.get("request_id") == request_id for r in caplog.records)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { activeRedemption(checkoutId: $id) { id } }", {"id": "Q2hlY2tvdXQ6\x00"}),
        ('{ activeRedemption(checkoutId: "Q2hlY2tvdXQ6\\u0000") { id } }', {}),
        ("query($id: ID!) { estimatePoints(checkoutId: $id) { points } }", {"id": "a\x00b"}),
        ("mutation($code: String!) { applyReferralCode(code: $code) { errors { code } } }", {"code": "AB\x00C"}),
        (
            'mutation($c: ID!) { adjustPoints(customerId: $c, points: 5, reason: "r", idempotencyKey: "k") '
            "{ errors { code } } }",
            {"c": "VXNlcjox\x00"},
        ),
        (
            'mutation($k: String!) { redeemPoints(checkoutId: "x", points: 100, idempotencyKey: $k) '
            "{ errors { code } } }",
            {"k": "key\x00"},
        ),
    ],
)
def test_a_nul_byte_in_any_input_is_a_validation_error(store, query, variables):
    token = store.token()
    if "adjustPoints" in query:
        token = store.saleor.app_token_for_dashboard(["MANAGE_USERS"])
    calls_before = len(store.saleor.calls)
    status, body, _ = post({"query": query, "variables": variables}, token=token)
    assert status == 400 and "data" not in body, body
    assert codes(body) == {"INVALID"}
    assert "NUL" in body["errors"][0]["message"]
    assert len(store.saleor.calls) == calls_before


# -- What the fuzzer found (tests/test_fuzz.py), pinned as plain regression tests --------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($c: String!) { rewards(channel: $c) { id } }", {"c": "default-\ud800channel"}),
        ('{ activeRedemption(checkoutId: "Q2hlY2tvdXQ6\\ud800") { id } }', {}),
    ],
)
def test_a_lone_surrogate_in_any_input_is_a_validation_error(store, query, variables):
    body = json.dumps({"query": query, "variables": variables}).encode()  # json keeps the lone surrogate escaped
    status, answer, _ = post(None, token=store.token(), raw=body)
    assert status == 400 and "data" not in answer, answer
    assert codes(answer) == ({"INVALID"} if variables else {None})  # in a literal: graphql-core's syntax error


def test_referrals_with_an_explicit_null_page_size_get_the_default_page(store):
    query = "query($n: Int) { myReferrals { referrals(first: $n) { status } } }"
    status, answer, _ = post({"query": query, "variables": {"n": None}}, token=store.token())
    assert status == 200 and "errors" not in answer, answer
    assert answer["data"]["myReferrals"]["referrals"] == []


@pytest.mark.parametrize("mutation", ["redeemPoints", "cancelRedemption"])
def test_an_over_long_checkout_id_is_an_invalid_input_not_an_internal_error(store, mutation):
    store.give_points(500)
    arguments = "checkoutId: $id" + (', points: 100, idempotencyKey: "k1"' if mutation == "redeemPoints" else "")
    query = f"mutation($id: ID!) {{ {mutation}({arguments}) {{ errors {{ field code }} }} }}"
    status, answer, _ = post({"query": query, "variables": {"id": "Q" * 300}}, token=store.token())
    assert status == 200 and "errors" not in answer, answer
    assert answer["data"][mutation]["errors"] == [{"field": "checkoutId", "code": "INVALID"}]


def test_a_store_signed_token_whose_user_id_holds_a_nul_is_refused_as_a_token(store):
    token = store.saleor.user_token("VXNlcjox\x00", "shopper@example.com")
    status, answer, _ = post({"query": "{ me { balance { available } } }"}, token=token)
    assert status == 200 and codes(answer) == {"INVALID_TOKEN"}, answer
