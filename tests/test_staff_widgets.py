"""The staff API behind the dashboard's customer and order widgets (/dashboard/graphql/).

The customer widget reads a customer's loyalty account (MANAGE_USERS) and adjusts their points; the order widget
reads what an order earned, spent and had clawed back, and the rule it earned under (MANAGE_ORDERS).
"""

from decimal import Decimal
from typing import Any

import pytest

from saleor_loyalty.ledger.models import Transfer, TransferKind
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.orders import reconcile_order
from tests.factories import later, line, order
from tests.test_staff_program_settings import error_codes, staff_call
from tests.test_staff_rebates import november
from tests.test_tiers import setup_tiers

pytestmark = pytest.mark.django_db

CUSTOMER = """
query($id: ID!) {
  customerLoyalty(customerId: $id) {
    account { saleorUserId balance { available pending held owed } pendingPoints { points orderId }
      history(first: 5) { edges { node { kind points orderId } } } }
    tier { current { name } progress { __typename } }
  }
}
"""
ORDER = """
query($id: ID!) {
  orderLoyalty(orderId: $id) {
    orderId customerId customerEmail points earned clawedBack redeemed spend placement rule
    activity { kind points balanceChange }
  }
}
"""
ADJUST = """
mutation($id: ID!, $points: Int!, $key: String!) {
  adjustPoints(customerId: $id, points: $points, reason: "goodwill", idempotencyKey: $key) {
    balance { available }
    errors { field code }
  }
}
"""


def token(store: Any, *permissions: str) -> str:
    return str(store.saleor.app_token_for_dashboard(list(permissions), email="agent@shop.example"))


def test_the_customer_widget_reads_balances_pending_points_and_activity(store):
    reconcile_order(store.install, order("T3JkZXI6MQ==", user_id="VXNlcjox"))

    body = staff_call(CUSTOMER, token(store, "MANAGE_USERS"), {"id": "VXNlcjox"})

    assert "errors" not in body, body
    account = body["data"]["customerLoyalty"]["account"]
    assert account["saleorUserId"] == "VXNlcjox"
    assert account["balance"]["pending"] > 0
    assert account["pendingPoints"][0]["orderId"] == "T3JkZXI6MQ=="
    assert account["history"]["edges"][0]["node"]["kind"] == "EARNED"
    assert body["data"]["customerLoyalty"]["tier"]["current"] is None  # the store runs no tiers


def test_a_customer_without_points_has_no_account_yet_and_is_not_enrolled_by_looking(store):
    body = staff_call(CUSTOMER, token(store, "MANAGE_USERS"), {"id": "VXNlcjo5"})
    assert body["data"]["customerLoyalty"] is None
    assert not Member.objects.filter(saleor_user_id="VXNlcjo5").exists()


@pytest.mark.parametrize("customer_id", ["not-an-id", "VXNlcjox\u00e9", "VXNlcjowMDE="])
def test_a_customer_id_that_is_not_saleors_is_invalid(store, customer_id):
    assert error_codes(staff_call(CUSTOMER, token(store, "MANAGE_USERS"), {"id": customer_id})) == ["INVALID"]


def test_the_customer_widget_needs_manage_users(store):
    body = staff_call(CUSTOMER, token(store, "MANAGE_ORDERS", "MANAGE_DISCOUNTS"), {"id": "VXNlcjox"})
    assert error_codes(body) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(CUSTOMER, store.token(), {"id": "VXNlcjox"})) == ["INVALID_TOKEN"]


def test_staff_adjust_a_customers_points_from_the_widget(store):
    store.member()
    body = staff_call(ADJUST, token(store, "MANAGE_USERS"), {"id": "VXNlcjox", "points": 250, "key": "w1"})
    assert body["data"]["adjustPoints"] == {"balance": {"available": 250}, "errors": []}
    assert Transfer.objects.get(kind=TransferKind.ADJUST).memo["actor"] == "agent@shop.example"
    refused = staff_call(ADJUST, token(store, "MANAGE_ORDERS"), {"id": "VXNlcjox", "points": 5, "key": "w2"})
    assert error_codes(refused) == ["PERMISSION_DENIED"]


def test_the_order_widget_shows_what_an_order_earned_and_lost_and_why(store):
    paid = order("T3JkZXI6Nw==", user_id="VXNlcjox", lines=(line(quantity=2, unit="50.00"),))
    reconcile_order(store.install, paid)
    refunded = later(paid, total_charged=Decimal("50.00"), total_refunded=Decimal("50.00"))
    reconcile_order(store.install, refunded)

    body = staff_call(ORDER, token(store, "MANAGE_ORDERS"), {"id": "T3JkZXI6Nw=="})

    assert "errors" not in body, body
    widget = body["data"]["orderLoyalty"]
    assert widget["customerId"] == "VXNlcjox"
    assert widget["earned"] == 100 and widget["clawedBack"] == 50 and widget["points"] == 50
    assert Decimal(widget["spend"]) == Decimal("50")
    assert [entry["kind"] for entry in widget["activity"]] == ["EARNED", "CLAWED_BACK"]
    rule = widget["rule"]
    assert '"points_per_unit": "1' in rule and '"tier_multiplier"' in rule


def test_rebate_money_is_not_points_activity_in_either_widget(store):
    """Found by the Rebates page's screenshots: a customer's rebate accruals and payouts (transfers in USD, kinds the
    points activity has no name for) made customerLoyalty and orderLoyalty fail for every shopper with rebates."""
    november(store.install)  # accruals, a reversal and a payout of VXNlcjox's rebates, attributed to orders o-1, o-2
    assert Transfer.objects.filter(member__saleor_user_id="VXNlcjox", kind=TransferKind.REBATE_PAYOUT).exists()

    body = staff_call(CUSTOMER, token(store, "MANAGE_USERS"), {"id": "VXNlcjox"})
    assert "errors" not in body, body
    kinds = {edge["node"]["kind"] for edge in body["data"]["customerLoyalty"]["account"]["history"]["edges"]}
    assert kinds <= {"EARNED", "CLAWED_BACK", "UNLOCKED"}, kinds
    order_body = staff_call(ORDER, token(store, "MANAGE_ORDERS"), {"id": "o-1"})
    assert "errors" not in order_body, order_body
    assert [entry["kind"] for entry in order_body["data"]["orderLoyalty"]["activity"]] == ["EARNED", "CLAWED_BACK"]


def test_an_order_the_app_never_saw_is_null_and_the_widget_needs_manage_orders(store):
    assert staff_call(ORDER, token(store, "MANAGE_ORDERS"), {"id": "T3JkZXI6OTk="})["data"]["orderLoyalty"] is None
    assert error_codes(staff_call(ORDER, token(store, "MANAGE_USERS"), {"id": "T3JkZXI6OTk="})) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(ORDER, token(store, "MANAGE_ORDERS"), {"id": "x" * 300})) == ["INVALID"]


def test_the_customer_widget_reads_everything_in_five_statements(store, django_assert_num_queries):
    """Member with balances, pending points, activity, the tier program with the member's state, the spend in the
    window: one statement each, however many tiers, thresholds or transfers (docs/benchmarks.md, the widget)."""
    setup_tiers(store.install)
    for number in range(1, 4):
        reconcile_order(store.install, order(f"T3JkZXI6{number}", lines=(line(unit="300.00"),)))
    widget = token(store, "MANAGE_USERS")
    staff_call(CUSTOMER, widget, {"id": "VXNlcjox"})  # the install and the token, each read once and kept

    with django_assert_num_queries(5):
        body = staff_call(CUSTOMER, widget, {"id": "VXNlcjox"})

    assert "errors" not in body, body
    customer = body["data"]["customerLoyalty"]
    assert customer["tier"]["current"]["name"] == "Silver"  # 900 USD paid: past Silver's 500, short of Gold's 1,000
    activity = [(edge["node"]["kind"], edge["node"]["orderId"]) for edge in customer["account"]["history"]["edges"]]
    assert sorted(order_id or "" for _, order_id in activity) == ["", "T3JkZXI61", "T3JkZXI62", "T3JkZXI63"]
    assert {kind for kind, _ in activity} == {"EARNED"}  # three orders and Silver's bonus
    assert customer["account"]["balance"]["pending"] == sum(p["points"] for p in customer["account"]["pendingPoints"])
