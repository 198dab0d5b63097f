"""The storefront API: authentication by the issuing store, history pages, estimates, the exported schema."""

import base64
import hashlib
import hmac
import json
import threading
from pathlib import Path

import pytest
from django.db import close_old_connections, connections

from saleor_loyalty.api.management.commands.export_schema import EXPORTS, schema_sdl
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.program.orders import reconcile_order
from tests.factories import line, order
from tests.saleor_harness import SaleorKeys, forge_alg_none
from tests.storefront import BALANCE, REDEEM, gql, running_store

pytestmark = pytest.mark.django_db

HISTORY = """
query History($first: Int, $after: String, $last: Int, $before: String) {
  me { history(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { kind points balanceChange orderId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }
}
"""


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_the_exported_schemas_are_current(name):
    exported = Path(__file__).resolve().parent.parent / "graphql" / name
    assert exported.read_text() == schema_sdl(EXPORTS[name]), "run: saleor-loyalty export_schema"


def test_a_token_is_trusted_only_by_the_store_that_issued_it(store):
    with running_store() as other:
        other.give_points(70)
        store.give_points(30)
        # a token signed by another store's key but claiming this store as issuer
        forged = other.saleor.keys.issue_user_token(store.saleor.api_url, "VXNlcjox", "shopper@example.com")
        assert gql(BALANCE, token=forged)["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
        assert gql(BALANCE, token=other.token())["data"]["me"]["balance"]["available"] == 70
        assert gql(BALANCE, token=store.token())["data"]["me"]["balance"]["available"] == 30


def hs256_token(claims: dict, secret: bytes) -> str:
    """The classic confusion attack: an HMAC token keyed with the store's PUBLIC key material."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{part(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{part(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def test_hs256_alg_none_and_unknown_issuers_are_refused(store):
    hs = SaleorKeys(fresh=True).encode_jwt({"iss": store.saleor.api_url})  # RS256 by an unknown key
    for token in (
        hs,
        forge_alg_none(b"x"),
        "not-a-jwt",
        store.saleor.keys.issue_user_token("https://elsewhere.example/graphql/", "VXNlcjox", "a@b.c"),
    ):
        errors = gql(BALANCE, token=token)["errors"]
        assert errors[0]["extensions"]["code"] == "INVALID_TOKEN", token
    hmac_token = hs256_token(
        {
            "iss": store.saleor.api_url,
            "type": "access",
            "owner": "saleor",
            "user_id": "VXNlcjox",
            "exp": 4_000_000_000,
            "iat": 1,
        },
        store.saleor.keys.jwks_json(),
    )
    assert gql(BALANCE, token=hmac_token)["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"


def test_history_pages_forward_and_backward_with_stable_cursors(store):
    for _ in range(5):
        store.give_points(10)
    token = store.token()
    first = gql(HISTORY, {"first": 2}, token=token)["data"]["me"]["history"]
    assert [e["node"]["kind"] for e in first["edges"]] == ["EARNED", "EARNED"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    second = gql(HISTORY, {"first": 2, "after": first["pageInfo"]["endCursor"]}, token=token)["data"]["me"]["history"]
    third = gql(HISTORY, {"first": 2, "after": second["pageInfo"]["endCursor"]}, token=token)["data"]["me"]["history"]
    assert len(third["edges"]) == 1 and not third["pageInfo"]["hasNextPage"]
    cursors = [e["cursor"] for page in (first, second, third) for e in page["edges"]]
    assert len(set(cursors)) == 5
    back = gql(HISTORY, {"last": 2, "before": third["pageInfo"]["startCursor"]}, token=token)["data"]["me"]["history"]
    assert [e["cursor"] for e in back["edges"]] == [e["cursor"] for e in second["edges"]]
    assert gql(HISTORY, {"first": 1000}, token=token)["errors"][0]["extensions"]["code"] == "INVALID"


def test_pending_points_show_when_they_unlock(store):
    reconcile_order(store.install, order("order-1", lines=(line(unit="80.00"),)))
    data = gql("{ me { balance { pending } pendingPoints { points unlocksAt orderId } } }", token=store.token())[
        "data"
    ]["me"]
    assert data["balance"]["pending"] == 80
    assert data["pendingPoints"][0]["points"] == 80 and data["pendingPoints"][0]["unlocksAt"]


def test_estimate_points_for_a_checkout(store):
    checkout = store.shop.add_checkout("VXNlcjox", "123.45")
    data = gql(
        "query($id: ID!) { estimatePoints(checkoutId: $id) { points exactPoints currency } }",
        {"id": checkout},
        token=store.token(),
    )["data"]["estimatePoints"]
    assert data == {"points": 123, "exactPoints": "123.450000", "currency": "USD"}


def test_program_terms_are_public_with_the_store_url(store):
    query = '{ program(channel: "default-channel", currency: "USD") { summary redeem { pointsPerUnit minPoints } } }'
    data = gql(query, headers={"Saleor-Api-Url": store.saleor.api_url})["data"]["program"]
    assert data["redeem"] == {"pointsPerUnit": 100, "minPoints": 100}
    assert "1 point(s) per USD 1" in data["summary"]
    assert gql(query)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_spend_more_than_the_balance():
    with running_store() as store:
        store.give_points(1000)
        checkouts = [store.shop.add_checkout("VXNlcjox", "50.00") for _ in range(8)]
        token = store.token()
        barrier = threading.Barrier(8)
        results: list[dict] = [{}] * 8

        def attempt(index: int) -> None:
            close_old_connections()
            try:
                barrier.wait()
                results[index] = gql(
                    REDEEM, {"checkoutId": checkouts[index], "key": f"c{index}", "points": 300}, token=token
                )
            finally:
                connections.close_all()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        succeeded = [r for r in results if r["data"]["redeemPoints"]["errors"] == []]
        refused = [r["data"]["redeemPoints"]["errors"][0]["code"] for r in results if r not in succeeded]
        assert len(succeeded) == 3
        assert set(refused) <= {"INSUFFICIENT_POINTS", "RATE_LIMITED"}
        balances = member_balances(store.member())
        assert (balances.available, balances.held) == (100, 900)
        assert len(store.shop.vouchers) == 3
        assert integrity_problems(store.install.pk) == []


def test_points_expiring_soon_are_grouped_by_day(store):
    from datetime import timedelta

    from django.utils import timezone

    soon = timezone.now() + timedelta(days=5)
    store.give_points(30, expires_at=soon)
    store.give_points(20, expires_at=soon)
    store.give_points(99, expires_at=timezone.now() + timedelta(days=200))
    data = gql("{ me { expiringPoints(withinDays: 30) { points expiresOn } } }", token=store.token())["data"]
    assert [entry["points"] for entry in data["me"]["expiringPoints"]] == [50]
    assert data["me"]["expiringPoints"][0]["expiresOn"].startswith(soon.date().isoformat())


def test_the_points_paid_part_earns_only_when_the_merchant_says_so(store):
    from decimal import Decimal

    from saleor_loyalty.program.models import OrderAward
    from saleor_loyalty.program.rules import program_settings
    from tests.factories import later

    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = gql(REDEEM, {"checkoutId": checkout, "key": "k", "points": 500}, token=store.token())["data"][
        "redeemPoints"
    ]["redemption"]["voucherCode"]
    program = program_settings(store.install)
    program.earn_on_redeemed_value = True
    program.save()
    reconcile_order(store.install, later(order("order-1", lines=(line(unit="45.00"),)), voucher_code=code))
    assert OrderAward.objects.get().exact_points == Decimal(50)  # 45 paid + 5 paid with points
