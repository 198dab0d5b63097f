"""Rebates in the storefront API (issue #11): the shopper's progress this period, their statements with orders and
payouts, and the program's public terms — each shopper their own, never anyone else's."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.rebates.models import StoreCredit
from saleor_loyalty.rebates.periods import MONTHLY, period_of
from saleor_loyalty.rebates.settlement import close_period
from tests.factories import later, line, order, rebate_program
from tests.storefront import gql
from tests.test_rebates_settlement import NOVEMBER_CLOSED, RecordingPayer
from tests.test_security_graphql import post

pytestmark = pytest.mark.django_db

PROGRESS = """
query Progress($channel: String!) {
  myRebates(channel: $channel) {
    period startsAt endsAt currency
    spend { amount currency }
    rate nextRate
    nextThreshold { amount currency }
    spendToNext { amount currency }
    accrued { amount } pending { amount } payable { amount } paid { amount } owed { amount }
    payouts { period amount { amount currency } method state reference createdAt settledAt }
  }
}
"""
STATEMENTS = """
query Statements($periods: [String!], $first: Int) {
  myRebateStatements(periods: $periods, first: $first) {
    period channel currency
    spend { amount } accrued { amount } reversed { amount } rebate { amount } paid { amount }
    netted { amount } owed { amount } writtenOff { amount } pending { amount } payable { amount }
    payouts { amount { amount currency } method state reference settledAt }
    orders { orderId orderNumber spend { amount } accrued { amount } reversed { amount } }
  }
}
"""
TERMS = """
query Terms($channel: String!) {
  rebateProgram(channel: $channel) {
    channel currency period thresholdMode summary
    bands { threshold { amount currency } rate }
    tierRates { tier rate mode }
    hasProductRates includesTax includesShipping returnWindowDays
    frequencyBonus { everyNth amount { amount currency } rate }
    minimumPayout { amount currency }
    payoutMethod
  }
}
"""
SHOPPER = "VXNlcjox"
OTHER = "VXNlcjoy"


def now_order(order_id, unit, user_id=SHOPPER, email="shopper@example.com"):
    """An order placed now: it belongs to the current period, which progress reports."""
    return replace(order(order_id, lines=(line(unit=unit),), user_id=user_id, email=email), created=timezone.now())


def data(body):
    assert "errors" not in body, body
    return body["data"]


def test_progress_after_real_orders_shows_the_rate_the_next_band_and_what_is_left_to_spend(store):
    rebate_program(store.install)
    reconcile_order(store.install, now_order("o-1", "400.00"))
    reconcile_order(store.install, now_order("o-2", "300.00"))
    progress = data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token()))["myRebates"]
    span = period_of(timezone.now(), MONTHLY)
    assert progress["period"] == span.key
    assert progress["currency"] == "USD"
    assert progress["spend"] == {"amount": "700.00", "currency": "USD"}
    assert (progress["rate"], progress["nextRate"]) == ("2", "3")
    assert progress["nextThreshold"] == {"amount": "1000.00", "currency": "USD"}
    assert progress["spendToNext"] == {"amount": "300.00", "currency": "USD"}
    assert (progress["accrued"], progress["pending"], progress["paid"]) == (
        {"amount": "14.00"},
        {"amount": "14.00"},
        {"amount": "0.00"},
    )
    assert progress["owed"] == {"amount": "0.00"} and progress["payouts"] == []

    reconcile_order(store.install, now_order("o-3", "500.00"))  # 1,200: the 3 % band, the top one
    top = data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token()))["myRebates"]
    assert top["rate"] == "3" and top["accrued"] == {"amount": "36.00"}
    assert top["nextThreshold"] is None and top["nextRate"] is None and top["spendToNext"] is None


def test_amounts_follow_the_currencys_precision(store):
    rebate_program(store.install, currency="JPY", bands=[{"threshold": "5000", "rate": "2.5"}])
    reconcile_order(store.install, replace(now_order("o-1", "7001"), currency="JPY"))
    progress = data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token()))["myRebates"]
    assert progress["spend"] == {"amount": "7001", "currency": "JPY"}
    assert progress["accrued"] == {"amount": "175"}  # 175.025, rounded down once for the period
    assert progress["rate"] == "2.5" and progress["nextThreshold"] is None


def test_a_channel_without_active_rebates_answers_null(store):
    rebate_program(store.install, is_active=False)
    assert data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token())) == {"myRebates": None}
    assert data(gql(PROGRESS, {"channel": "elsewhere"}, token=store.token())) == {"myRebates": None}


def test_statements_list_orders_reversals_and_payouts_with_method_reference_and_state(store):
    rebate_program(store.install)
    first = order("o-1", lines=(line(unit="700.00"),))
    reconcile_order(store.install, first)
    reconcile_order(store.install, order("o-2", lines=(line(unit="500.00"),)))  # 1,200: 36.00 in November
    reconcile_order(store.install, later(first, total_charged=Decimal(400), total_refunded=Decimal(300)))  # 900
    close_period(store.install, "2026-11", payer=RecordingPayer(), now=NOVEMBER_CLOSED)

    [statement] = data(gql(STATEMENTS, {"periods": ["2026-11"]}, token=store.token()))["myRebateStatements"]
    assert (statement["period"], statement["channel"], statement["currency"]) == ("2026-11", "default-channel", "USD")
    assert statement["spend"] == {"amount": "900.00"}
    assert (statement["accrued"], statement["reversed"], statement["rebate"]) == (
        {"amount": "36.00"},
        {"amount": "18.00"},
        {"amount": "18.00"},
    )
    assert statement["paid"] == {"amount": "18.00"} and statement["pending"] == {"amount": "0.00"}
    orders = {o["orderId"]: o for o in statement["orders"]}
    assert orders["o-1"]["accrued"] == {"amount": "14.00"} and orders["o-1"]["reversed"] == {"amount": "18.00"}
    assert orders["o-2"]["accrued"] == {"amount": "22.00"} and orders["o-2"]["reversed"] == {"amount": "0.00"}
    assert orders["o-1"]["spend"] == {"amount": "400.00"}
    [payout] = statement["payouts"]
    assert payout["amount"] == {"amount": "18.00", "currency": "USD"}
    assert (payout["method"], payout["state"], payout["reference"]) == ("STORE_CREDIT", "PAID", "ref-1")
    assert payout["settledAt"]

    # without periods: the newest ones; the same statement
    newest = data(gql(STATEMENTS, {}, token=store.token()))["myRebateStatements"]
    assert newest == [statement]


def test_statements_refuse_bad_periods_and_too_many(store):
    token = store.token()
    for periods in (["2026-13"], ["November"], ["2026-Q5"], ["2026-1"]):
        errors = gql(STATEMENTS, {"periods": periods}, token=token)["errors"]
        assert errors[0]["extensions"]["code"] == "INVALID", periods
    assert gql(STATEMENTS, {"periods": ["2026-11"] * 13}, token=token)["errors"][0]["extensions"]["code"] == "INVALID"
    assert gql(STATEMENTS, {"first": 13}, token=token)["errors"][0]["extensions"]["code"] == "INVALID"
    assert data(gql(STATEMENTS, {"periods": ["2026-Q4"]}, token=token)) == {"myRebateStatements": []}


def test_a_shopper_sees_only_their_own_rebates(store):
    rebate_program(store.install)
    reconcile_order(store.install, now_order("mine", "700.00"))
    reconcile_order(store.install, now_order("theirs", "1200.00", user_id=OTHER, email="other@example.com"))
    reconcile_order(store.install, now_order("guest", "900.00", user_id=None, email="guest@example.com"))

    mine = data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token()))["myRebates"]
    theirs = data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token(OTHER, "other@example.com")))
    assert mine["spend"]["amount"] == "700.00" and mine["accrued"]["amount"] == "14.00"
    assert theirs["myRebates"]["spend"]["amount"] == "1200.00"
    key = mine["period"]
    [statement] = data(gql(STATEMENTS, {"periods": [key]}, token=store.token()))["myRebateStatements"]
    assert [o["orderId"] for o in statement["orders"]] == ["mine"]  # not the other shopper's, nor the guest's
    newcomer = store.token("VXNlcjoz", "new@example.com")
    assert data(gql(STATEMENTS, {"periods": [key]}, token=newcomer)) == {"myRebateStatements": []}
    assert data(gql(PROGRESS, {"channel": "default-channel"}, token=newcomer))["myRebates"]["spend"]["amount"] == "0.00"


@pytest.mark.parametrize("query", [PROGRESS, STATEMENTS])
def test_anonymous_callers_get_a_clear_error(store, query):
    rebate_program(store.install)
    variables = {"channel": "default-channel"} if query == PROGRESS else {}
    body = gql(query, variables)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "sign in" in body["errors"][0]["message"]
    assert gql(query, variables, token="not-a-token")["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    # the store's own app token is not a shopper
    assert (
        gql(query, variables, token=store.saleor.app_token_for_dashboard(["MANAGE_DISCOUNTS"]))["errors"][0][
            "extensions"
        ]["code"]
        == "INVALID_TOKEN"
    )


def test_the_programs_terms_are_public_with_the_store_url(store):
    rebate_program(
        store.install,
        tier_rates={"Gold": {"rate": "4", "mode": "override"}},
        line_rates={"product:UHJvZHVjdDo3": "5"},
        frequency_nth=3,
        frequency_bonus_amount=Decimal("5"),
        minimum_payout=Decimal("25"),
    )
    body = gql(TERMS, {"channel": "default-channel"}, headers={"Saleor-Api-Url": store.saleor.api_url})
    terms = data(body)["rebateProgram"]
    assert terms == {
        "channel": "default-channel",
        "currency": "USD",
        "period": "MONTHLY",
        "thresholdMode": "WHOLE",
        "summary": "2% back from USD 500, 3% from USD 1000 of your monthly spend",
        "bands": [
            {"threshold": {"amount": "500.00", "currency": "USD"}, "rate": "2"},
            {"threshold": {"amount": "1000.00", "currency": "USD"}, "rate": "3"},
        ],
        "tierRates": [{"tier": "Gold", "rate": "4", "mode": "OVERRIDE"}],
        "hasProductRates": True,
        "includesTax": False,
        "includesShipping": False,
        "returnWindowDays": 14,
        "frequencyBonus": {"everyNth": 3, "amount": {"amount": "5.00", "currency": "USD"}, "rate": "0"},
        "minimumPayout": {"amount": "25.00", "currency": "USD"},
        "payoutMethod": "STORE_CREDIT",
    }
    assert data(gql(TERMS, {"channel": "default-channel"}, token=store.token()))["rebateProgram"] == terms
    assert gql(TERMS, {"channel": "default-channel"})["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert data(gql(TERMS, {"channel": "none"}, token=store.token())) == {"rebateProgram": None}


def test_documented_rebate_operations_fit_the_query_limits(store):
    rebate_program(store.install)
    reconcile_order(store.install, now_order("o-1", "700.00"))
    token = store.token()
    for query, variables in (
        (PROGRESS, {"channel": "default-channel"}),
        (STATEMENTS, {"first": 12}),
        (TERMS, {"channel": "default-channel"}),
    ):
        status, body, _ = post({"query": query, "variables": variables}, token=token)
        assert status == 200 and "errors" not in body, body


@override_settings(GRAPHQL_MAX_DEPTH=3)
def test_rebate_queries_are_held_to_the_depth_limit(store):
    status, body, _ = post({"query": "{ myRebateStatements { orders { spend { amount } } } }"}, token=store.token())
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


def test_progress_of_a_past_period_is_not_mixed_into_this_one(store):
    rebate_program(store.install)
    reconcile_order(
        store.install, replace(order("old", lines=(line(unit="900.00"),)), created=datetime(2020, 1, 5, tzinfo=UTC))
    )
    progress = data(gql(PROGRESS, {"channel": "default-channel"}, token=store.token()))["myRebates"]
    assert progress["spend"]["amount"] == "0.00" and progress["rate"] == "0"
    assert progress["spendToNext"] == {"amount": "500.00", "currency": "USD"}


def test_progress_shows_the_store_credit_card_masked_as_saleor_shows_it(store):
    rebate_program(store.install)
    reconcile_order(store.install, now_order("o-1", "700.00"))
    query = PROGRESS.replace(
        "payouts {", "storeCredit { card last4 credited { amount currency } balance { amount } balanceAt } payouts {"
    )
    assert data(gql(query, {"channel": "default-channel"}, token=store.token()))["myRebates"]["storeCredit"] is None
    shopper = member_for_user(store.install, SHOPPER)
    StoreCredit.objects.create(
        install=store.install,
        member=shopper,
        currency="USD",
        saleor_id="R2lmdENhcmQ6MQ==",
        last4="AB12",
        credited=1400,
        balance=900,
        balance_at=timezone.now(),
    )
    credit = data(gql(query, {"channel": "default-channel"}, token=store.token()))["myRebates"]["storeCredit"]
    assert credit["card"] == "gift card ****AB12" and credit["last4"] == "AB12"
    assert credit["credited"] == {"amount": "14.00", "currency": "USD"}
    assert credit["balance"] == {"amount": "9.00"} and credit["balanceAt"]
