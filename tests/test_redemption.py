"""Redeeming points at checkout through the storefront API, against a fake Saleor store."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from saleor_loyalty.ledger.models import AccountCode, Lot
from saleor_loyalty.ledger.queries import integrity_problems, member_balances, program_totals
from saleor_loyalty.program.models import RedemptionRule
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.redemption.actions import expire_abandoned
from saleor_loyalty.redemption.models import Redemption, RedemptionStatus
from tests.factories import later, line, order
from tests.storefront import BALANCE, CANCEL, REDEEM, gql

pytestmark = pytest.mark.django_db


def redeem(store, checkout_id, token, key="k1", **amounts):
    result = gql(REDEEM, {"checkoutId": checkout_id, "key": key, **amounts}, token=token)
    assert "errors" not in result, result
    return result["data"]["redeemPoints"]


def test_points_become_a_single_use_voucher_on_the_checkout(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    payload = redeem(store, checkout, store.token(), points=500)
    assert payload["errors"] == []
    assert payload["redemption"]["status"] == "ACTIVE"
    assert payload["redemption"]["discount"] == {"amount": "5.00", "currency": "USD"}
    assert payload["balance"] == {"available": 500, "held": 500, "pending": 0, "owed": 0}
    code = payload["redemption"]["voucherCode"]
    voucher = store.shop.voucher_by_code(code)
    assert voucher["channels"] == {"default-channel": Decimal("5.00")}
    assert voucher["input"]["singleUse"] is True and voucher["input"]["usageLimit"] == 1
    assert store.shop.checkouts[checkout]["voucher_code"] == code
    assert code.startswith("LOYALTY-") and len(code) == len("LOYALTY-") + 16


def test_redeeming_by_amount_prices_the_points(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    payload = redeem(store, checkout, store.token(), amount="2.50")
    assert payload["redemption"]["points"] == 250


def test_an_order_with_the_code_spends_the_held_points_and_earns_on_money_paid(store):
    member = store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    store.shop.use_code(checkout)
    paid = order("order-1", lines=(line(unit="45.00"),), user_id="VXNlcjox")
    reconcile_order(store.install, later(paid, voucher_code=code))
    balances = member_balances(member)
    assert (balances.available, balances.held, balances.pending) == (500, 0, 45)
    assert Redemption.objects.get().status == RedemptionStatus.CAPTURED
    assert program_totals(store.install.pk)[AccountCode.REDEEMED] == 500
    history = gql("{ me { history(first: 5) { edges { node { kind points orderId } } } } }", token=store.token())
    kinds = [edge["node"] for edge in history["data"]["me"]["history"]["edges"]]
    assert {"kind": "REDEEMED", "points": 500, "orderId": "order-1"} in kinds  # the shopper sees which order
    assert integrity_problems(store.install.pk) == []


def test_refund_of_a_redeeming_order_returns_points_to_the_same_lots(store):
    expiry = timezone.now() + timedelta(days=90)
    member = store.give_points(1000, expires_at=expiry)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    paid = later(order("order-1", lines=(line(unit="45.00"),)), voucher_code=code)
    reconcile_order(store.install, paid)
    reconcile_order(
        store.install, later(paid, total_charged=Decimal(0), total_refunded=Decimal(45), charge_status="NONE")
    )
    balances = member_balances(member)
    assert (balances.available, balances.pending) == (1000, 0)
    assert list(Lot.objects.filter(member=member, source="adjustment").values_list("remaining", "expires_at")) == [
        (1000, expiry)
    ]
    assert Redemption.objects.get().points_returned == 500
    assert integrity_problems(store.install.pk) == []


def test_partial_refund_returns_points_in_proportion(store):
    member = store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    paid = later(order("order-1", lines=(line(quantity=2, unit="22.50"),)), voucher_code=code)
    reconcile_order(store.install, paid)
    reconcile_order(
        store.install,
        later(paid, total_charged=Decimal("22.50"), total_refunded=Decimal("22.50"), charge_status="PARTIAL"),
    )
    assert member_balances(member).available == 750  # 500 left + half of the 500 spent
    assert integrity_problems(store.install.pk) == []


def test_money_only_refunds_keep_the_points_spent(store):
    program = store.install.program_settings if hasattr(store.install, "program_settings") else None
    from saleor_loyalty.program.rules import program_settings

    program = program_settings(store.install)
    program.return_points_on_refund = False
    program.save()
    member = store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    paid = later(order("order-1", lines=(line(unit="45.00"),)), voucher_code=code)
    reconcile_order(store.install, paid)
    reconcile_order(store.install, later(paid, status="CANCELED"))
    assert member_balances(member).available == 500


def test_redeeming_again_replaces_the_earlier_redemption(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    first = redeem(store, checkout, store.token(), key="a", points=300)["redemption"]["voucherCode"]
    second = redeem(store, checkout, store.token(), key="b", points=400)
    assert second["balance"] == {"available": 600, "held": 400, "pending": 0, "owed": 0}
    assert store.shop.voucher_by_code(first) is None
    assert store.shop.checkouts[checkout]["voucher_code"] == second["redemption"]["voucherCode"]
    assert sorted(Redemption.objects.values_list("status", flat=True)) == ["active", "cancelled"]


def test_a_replacement_the_shopper_cannot_afford_leaves_the_discount_they_have(store):
    """Seen on a real Saleor: asking for more than the balance must not cost the shopper the discount already on."""
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    first = redeem(store, checkout, store.token(), key="a", points=300)["redemption"]
    refused = redeem(store, checkout, store.token(), key="b", points=1200)
    assert refused["redemption"] is None
    assert refused["errors"] == [
        {"field": "points", "code": "INSUFFICIENT_POINTS", "message": "only 1000 points are available"}
    ]
    assert refused["balance"] == {"available": 700, "held": 300, "pending": 0, "owed": 0}
    assert store.shop.checkouts[checkout]["voucher_code"] == first["voucherCode"]
    assert store.shop.voucher_by_code(first["voucherCode"]) is not None
    assert list(Redemption.objects.values_list("status", flat=True)) == ["active"]
    # and the whole balance, the held points included, may still replace it
    assert redeem(store, checkout, store.token(), key="c", points=1000)["balance"]["held"] == 1000


def test_cancel_gives_every_point_back_and_removes_the_voucher(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    redeem(store, checkout, store.token(), points=500)
    result = gql(CANCEL, {"checkoutId": checkout}, token=store.token())["data"]["cancelRedemption"]
    assert result["errors"] == [] and result["redemption"]["status"] == "CANCELLED"
    assert result["balance"] == {"available": 1000, "held": 0}
    assert store.shop.vouchers == {} and store.shop.checkouts[checkout]["voucher_code"] is None


def test_a_replayed_request_returns_the_same_redemption(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    first = redeem(store, checkout, store.token(), key="same", points=500)
    again = redeem(store, checkout, store.token(), key="same", points=500)
    assert again["redemption"] == first["redemption"]
    assert len(store.shop.vouchers) == 1
    assert member_balances(store.member()).held == 500


@pytest.mark.parametrize("failing", ["voucherCreate", "voucherChannelListingUpdate", "checkoutAddPromoCode"])
def test_a_saleor_failure_at_any_step_keeps_every_point_and_leaves_no_voucher(store, failing):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    store.saleor.fail_next(failing, status=500)
    payload = redeem(store, checkout, store.token(), points=500)
    assert payload["redemption"] is None
    assert payload["errors"][0]["code"] == "SALEOR_ERROR"
    assert payload["balance"]["available"] == 1000 and payload["balance"]["held"] == 0
    assert store.shop.vouchers == {}
    assert Redemption.objects.get().status == RedemptionStatus.FAILED
    assert integrity_problems(store.install.pk) == []


@pytest.mark.parametrize(
    ("amounts", "code", "field"),
    [
        ({"points": 0}, "INVALID", "points"),
        ({"points": -100}, "INVALID", "points"),
        ({"points": 2_000_000_000}, "INVALID", "points"),
        ({"points": 50}, "BELOW_MINIMUM", "points"),
        ({"points": 6000}, "ABOVE_ORDER_CAP", "points"),
        ({"points": 1500}, "INSUFFICIENT_POINTS", "points"),
        ({"amount": "1.005"}, "INVALID", "amount"),
        ({"amount": "-3"}, "INVALID", "amount"),
        ({}, "INVALID", "points"),
        ({"points": 100, "amount": "1.00"}, "INVALID", "points"),
    ],
)
def test_invalid_requests_are_refused_with_a_clear_error_and_change_nothing(store, amounts, code, field):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    payload = redeem(store, checkout, store.token(), **amounts)
    assert payload["redemption"] is None
    assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field)
    assert payload["balance"]["available"] == 1000
    assert store.shop.vouchers == {} and not Redemption.objects.exists()


def usd_rule(store, **limits):
    """The default channel's USD redemption rule: 100 points per dollar, with the given limits."""
    return RedemptionRule.objects.create(
        install=store.install, channel_slug="default-channel", currency="USD", points_per_unit=100, **limits
    )


def test_channel_limits_apply(store):
    usd_rule(store, min_points=200, max_points_per_order=800, max_percent_of_subtotal=Decimal(50), step_points=100)
    store.give_points(5000)
    checkout = store.shop.add_checkout("VXNlcjox", "14.00")  # 50% cap: 7.00, i.e. 700 points
    codes = [
        redeem(store, checkout, store.token(), key=f"k{p}", points=p)["errors"][0]["code"]
        for p in (150, 900, 1050, 250)
    ]
    assert codes == ["BELOW_MINIMUM", "ABOVE_MAXIMUM", "ABOVE_MAXIMUM", "INVALID_STEP"]
    assert redeem(store, checkout, store.token(), key="cap", points=800)["errors"][0]["code"] == "ABOVE_ORDER_CAP"
    assert redeem(store, checkout, store.token(), key="fine", points=700)["errors"] == []


def test_a_replacement_is_priced_on_the_checkout_without_the_discount_it_replaces(store):
    """Saleor's subtotal is already net of our voucher: the 50% cap must not shrink with every replacement."""
    usd_rule(store, min_points=100, max_percent_of_subtotal=Decimal(50))
    store.give_points(5000)
    checkout = store.shop.add_checkout("VXNlcjox", "14.00")  # 50% cap: 7.00, i.e. 700 points
    assert redeem(store, checkout, store.token(), key="a", points=700)["errors"] == []
    again = redeem(store, checkout, store.token(), key="b", points=700)
    assert again["errors"] == [] and again["balance"]["held"] == 700
    assert redeem(store, checkout, store.token(), key="c", points=800)["errors"][0]["code"] == "ABOVE_ORDER_CAP"


def test_someone_elses_checkout_is_not_found(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjo5OQ==", "50.00")
    payload = redeem(store, checkout, store.token(), points=500)
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert member_balances(store.member()).held == 0


def test_a_revoked_token_is_caught_by_asking_saleor(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    token = store.token()
    store.shop.revoked_tokens.add(token)
    payload = redeem(store, checkout, token, points=500)
    assert payload["errors"][0]["code"] == "SALEOR_ERROR"
    assert member_balances(store.member()).held == 0


def test_abandoned_checkouts_get_their_points_back(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    redeem(store, checkout, store.token(), points=500)
    Redemption.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert expire_abandoned() == 1
    assert Redemption.objects.get().status == RedemptionStatus.EXPIRED
    assert member_balances(store.member()).available == 1000
    assert store.shop.vouchers == {}


def test_the_sweep_spends_points_whose_code_was_already_used(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    redeem(store, checkout, store.token(), points=500)
    store.shop.use_code(checkout)
    Redemption.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expire_abandoned()
    assert Redemption.objects.get().status == RedemptionStatus.CAPTURED
    assert member_balances(store.member()).available == 500


def test_a_code_used_on_another_shoppers_order_spends_the_holders_points(store):
    holder = store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    friend_order = later(order("order-friend", user_id="VXNlcjoy", email="friend@example.com"), voucher_code=code)
    reconcile_order(store.install, friend_order)
    assert member_balances(holder).available == 500 and member_balances(holder).held == 0
    assert Redemption.objects.get().status == RedemptionStatus.CAPTURED


def test_redemption_is_rate_limited_per_shopper(store, monkeypatch):
    from types import SimpleNamespace

    from saleor_loyalty.core import ratelimit
    from saleor_loyalty.program.rules import program_settings

    # the limit counts in fixed one-minute windows: the four attempts must fall in one (CI flaked on a boundary)
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    program = program_settings(store.install)
    program.redemption_rate_limit_per_minute = 3
    program.save()
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    codes = [redeem(store, checkout, store.token(), key=f"r{i}", points=100)["errors"] for i in range(4)]
    assert codes[:3] == [[], [], []]
    assert codes[3][0]["code"] == "RATE_LIMITED"


def test_balance_query_needs_a_valid_token(store):
    assert gql(BALANCE)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    expired = store.token(lifetime=-60)
    assert gql(BALANCE, token=expired)["errors"][0]["extensions"]["code"] == "EXPIRED_TOKEN"
    store.give_points(42)
    assert gql(BALANCE, token=store.token())["data"]["me"]["balance"]["available"] == 42


def checkout_updated(store, checkout_id, voucher_code, issued_at):
    from pathlib import Path

    from django.test import Client

    from tests.saleor_harness import build_webhook_body, event

    document = (Path(__file__).resolve().parent.parent / "graphql/subscriptions/checkout_events.graphql").read_text()
    payload = event(
        "CheckoutUpdated",
        issued_at=issued_at.isoformat(),
        checkout={"__typename": "Checkout", "id": checkout_id, "voucherCode": voucher_code},
    )
    body = build_webhook_body(document, payload)
    response = Client().post(
        "/api/webhooks/checkouts",
        data=body,
        content_type="application/json",
        headers=store.saleor.signed_headers("checkout_updated", body),
    )
    assert response.status_code == 200, response.content


def test_removing_the_code_from_the_checkout_releases_the_points_at_once(store):
    store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    checkout_updated(store, checkout, code, timezone.now())  # our own change echoed back: nothing to do
    assert member_balances(store.member()).held == 500
    checkout_updated(store, checkout, None, timezone.now() - timedelta(hours=1))  # older than the redemption
    assert member_balances(store.member()).held == 500
    checkout_updated(store, checkout, None, timezone.now())
    assert member_balances(store.member()).held == 0
    assert Redemption.objects.get().status == RedemptionStatus.CANCELLED
    assert store.shop.vouchers == {}


def test_a_code_used_by_a_guest_who_earns_nothing_still_spends_and_returns_the_holders_points(store):
    from saleor_loyalty.program.models import GuestOrderPolicy
    from saleor_loyalty.program.rules import program_settings

    program = program_settings(store.install)
    program.guest_orders = GuestOrderPolicy.IGNORE
    program.save()
    holder = store.give_points(1000)
    checkout = store.shop.add_checkout("VXNlcjox", "50.00")
    code = redeem(store, checkout, store.token(), points=500)["redemption"]["voucherCode"]
    guest_order = later(order("guest-order", user_id=None, email="guest@example.com"), voucher_code=code)
    reconcile_order(store.install, guest_order)
    assert member_balances(holder).available == 500
    reconcile_order(store.install, later(guest_order, status="CANCELED"))
    assert member_balances(holder).available == 1000
    assert integrity_problems(store.install.pk) == []
