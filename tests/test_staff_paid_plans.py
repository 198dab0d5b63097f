"""The merchant sells tiers as paid plans through the staff API: listed with their members, created, changed and
archived (never deleted), each change in the change log in the merchant's words; a refused field is named and
changes nothing, and no input makes the API fail."""

from typing import Any

import pytest
from django.core.cache import cache
from graphql import parse, validate

from saleor_loyalty.api.core.ids import global_id
from saleor_loyalty.api.staff import staff_schema
from saleor_loyalty.change_log.descriptions import describe_changes
from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, set_paid_plan
from saleor_loyalty.memberships.models import Membership, PaidPlan
from saleor_loyalty.program.models import SettingsChange
from saleor_loyalty.tiers.configuration import configure_tiers, set_tier
from tests.factories import make_install
from tests.test_staff_program_settings import dashboard_token, error_codes, staff_call
from tests.test_staff_rebates import _graphql_blocks
from tests.test_tiers import setup_tiers

pytestmark = pytest.mark.django_db

CHANNEL = "Q2hhbm5lbDox"  # the contract harness's store: default-channel (USD) and jp (Q2hhbm5lbDoy, JPY)
JP_CHANNEL = "Q2hhbm5lbDoy"
PLAN_FIELDS = """id name tier price { amount currency } interval intervalCount stripePriceId graceDays isActive
  benefits { kind channelId value { amount currency } } members { active pastDue canceled holdingTier }"""
LIST = f"{{ paidPlans {{ {PLAN_FIELDS} }} membershipSettings {{ returnOrigins }} }}"
CREATE = f"""mutation Create($input: PaidPlanInput!) {{
  createPaidPlan(input: $input) {{ plan {{ {PLAN_FIELDS} }} errors {{ field code message }} }}
}}"""
UPDATE = f"""mutation Update($id: ID!, $input: PaidPlanUpdateInput!) {{
  updatePaidPlan(id: $id, input: $input) {{ plan {{ {PLAN_FIELDS} }} errors {{ field code message }} }}
}}"""
ARCHIVE = f"""mutation Archive($id: ID!) {{
  archivePaidPlan(id: $id) {{ plan {{ {PLAN_FIELDS} }} errors {{ field code message }} }}
}}"""
ORIGINS = """mutation Origins($origins: [String!]!) {
  updateMembershipSettings(returnOrigins: $origins) { settings { returnOrigins } errors { field code message } }
}"""
VIP = {
    "name": "Gold monthly",
    "tier": "Gold",
    "amount": "9.99",
    "currency": "usd",
    "interval": "MONTH",
    "stripePriceId": "price_1Q2w3E",
    "benefits": [
        {"kind": "FREE_SHIPPING", "channelId": CHANNEL},
        {"kind": "FIXED_AMOUNT", "channelId": CHANNEL, "value": "5"},
    ],
}


def create(store, input, token=None):
    return staff_call(CREATE, token or dashboard_token(store), {"input": input})["data"]["createPaidPlan"]


def update(store, plan_id, input, token=None):
    return staff_call(UPDATE, token or dashboard_token(store), {"id": plan_id, "input": input})["data"][
        "updatePaidPlan"
    ]


def described(store):
    changes = list(SettingsChange.objects.filter(install=store.install).order_by("pk"))
    return {d.title: {v.label: (v.before, v.after) for v in d.values} for d in describe_changes(store.install, changes)}


@pytest.fixture
def tiers(store):
    configure_tiers(store.install, basis="spend", window_kind="rolling", window_days=365, grace_days=30)
    set_tier(store.install, name="Member", rank=1, thresholds={"USD": "0"})  # the base tier: everyone is in it
    set_tier(store.install, name="Silver", rank=2, thresholds={"USD": "500"})
    set_tier(store.install, name="Gold", rank=3, thresholds={"USD": "1000"})


def test_a_merchant_creates_a_plan_and_sees_it_listed_and_logged_in_their_words(store, tiers):
    answer = create(store, VIP)
    assert answer["errors"] == []
    plan = answer["plan"]
    assert (plan["name"], plan["tier"], plan["price"], plan["interval"]) == (
        "Gold monthly",
        "Gold",
        {"amount": "9.99", "currency": "USD"},
        "MONTH",
    )
    assert (plan["intervalCount"], plan["graceDays"], plan["isActive"], plan["stripePriceId"]) == (
        1,
        7,
        True,
        "price_1Q2w3E",
    )
    assert plan["benefits"] == [
        {"kind": "FREE_SHIPPING", "channelId": CHANNEL, "value": None},
        {"kind": "FIXED_AMOUNT", "channelId": CHANNEL, "value": {"amount": "5.00", "currency": "USD"}},
    ]
    assert plan["members"] == {"active": 0, "pastDue": 0, "canceled": 0, "holdingTier": 0}
    listed = staff_call(LIST, dashboard_token(store))["data"]
    assert listed["paidPlans"] == [plan] and listed["membershipSettings"] == {"returnOrigins": []}

    change = SettingsChange.objects.get(subject="paid_plan:Gold monthly")
    assert change.actor == "merchant@example.com" and set(change.before.values()) == {None}
    logged = described(store)["Paid plan Gold monthly"]
    assert logged["Price shown"] == (None, "9.99") and logged["Billed"] == (None, "monthly")
    assert logged["Benefits per paid period"] == (
        None,
        "free shipping in Default Channel; 5 off in Default Channel",  # the channel by its name in the store
    )


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"amount": "0"}, "amount", "amount must be above 0"),
        ({"amount": "-5"}, "amount", "amount must be above 0"),
        ({"amount": "9.999"}, "amount", "more decimals than USD allows (at most 2 decimals)"),
        ({"amount": "9.5", "currency": "JPY"}, "amount", "more decimals than JPY allows (no decimals)"),
        ({"amount": "NaN"}, "amount", "amount must be above 0"),
        ({"amount": "100000000"}, "amount", "at most 10000000"),
        ({"currency": "dollars"}, "currency", "is not a currency code"),
        ({"tier": "Platinum"}, "tier", "no active tier called 'Platinum'"),
        ({"tier": "Member"}, "tier", "Member is the base tier"),
        ({"name": "  "}, "name", "name must be 1 to 64 characters"),
        ({"name": "x" * 65}, "name", "name must be 1 to 64 characters"),
        ({"stripePriceId": "prod_123"}, "stripePriceId", "stripePriceId must be a Stripe Price id"),
        ({"intervalCount": 0}, "intervalCount", "intervalCount must be a whole number between 1 and 12"),
        ({"graceDays": 61}, "graceDays", "graceDays must be a whole number between 0 and 60"),
        ({"graceDays": None}, "graceDays", "graceDays must be a whole number"),
        ({"benefits": [{"kind": "FIXED_AMOUNT", "channelId": CHANNEL}]}, "benefits", "benefit 1: value must be"),
        (
            {"benefits": [{"kind": "FIXED_AMOUNT", "channelId": CHANNEL, "value": "0.001"}]},
            "benefits",
            "benefit 1: value has more decimals than USD allows",
        ),
        ({"benefits": [{"kind": "FREE_SHIPPING", "channelId": "not a channel!"}]}, "benefits", "channel_id"),
        (
            {"benefits": [{"kind": "FREE_SHIPPING", "channelId": CHANNEL, "value": "3"}]},
            "benefits",
            "free shipping takes no value",
        ),
        ({"benefits": [{"kind": "FREE_SHIPPING", "channelId": CHANNEL}] * 11}, "benefits", "at most 10 benefits"),
        (
            {"benefits": [{"kind": "FREE_SHIPPING", "channelId": "Q2hhbm5lbDo5OQ=="}]},
            "benefits",
            "benefit 1: the store has no channel Q2hhbm5lbDo5OQ==",
        ),
        (
            {"benefits": [{"kind": "FIXED_AMOUNT", "channelId": JP_CHANNEL, "value": "5"}]},
            "benefits",
            "benefit 1: Jp sells in JPY, and an amount off is in the plan's currency (USD): pick a USD channel",
        ),
    ],
)
def test_a_refused_field_is_named_and_nothing_is_created(store, tiers, given, field, message):
    answer = create(store, {**VIP, **given})
    assert answer["plan"] is None
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, "INVALID")]
    assert message in answer["errors"][0]["message"]
    assert not PaidPlan.objects.exists() and not SettingsChange.objects.filter(subject__startswith="paid_plan").exists()


def test_free_shipping_may_be_in_a_channel_of_another_currency(store, tiers):
    answer = create(store, {**VIP, "benefits": [{"kind": "FREE_SHIPPING", "channelId": JP_CHANNEL}]})
    assert answer["errors"] == [] and answer["plan"]["benefits"] == [
        {"kind": "FREE_SHIPPING", "channelId": JP_CHANNEL, "value": None}
    ]
    assert described(store)["Paid plan Gold monthly"]["Benefits per paid period"] == (None, "free shipping in Jp")


def test_benefits_are_saved_only_when_the_stores_channels_can_be_read(store, tiers):
    store.saleor.fail_next("channels", status=502)
    answer = create(store, VIP)
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("benefits", "INVALID")]
    assert "could not be read just now: nothing was saved, try again" in answer["errors"][0]["message"]
    assert not PaidPlan.objects.exists()

    plan_id = create(store, VIP)["plan"]["id"]  # asked again: the store answers
    asked = len(store.saleor.calls_to("channels"))
    cache.clear()  # the channels' cache gone: an edit that leaves benefits and currency alone does not ask the store
    assert update(store, plan_id, {"graceDays": 3})["errors"] == []
    assert len(store.saleor.calls_to("channels")) == asked


def test_a_currency_change_checks_the_fixed_amounts_again(store, tiers):
    plan_id = create(store, VIP)["plan"]["id"]
    answer = update(store, plan_id, {"currency": "JPY", "amount": "1000"})
    assert [e["field"] for e in answer["errors"]] == ["benefits"]
    assert "Default Channel sells in USD" in answer["errors"][0]["message"]
    assert PaidPlan.objects.get().currency == "USD"


def test_the_change_log_names_a_channel_by_id_when_the_store_cannot_be_asked(store, tiers):
    create(store, VIP)
    cache.clear()
    store.saleor.fail_next("channels", status=502)
    assert described(store)["Paid plan Gold monthly"]["Benefits per paid period"] == (
        None,
        f"free shipping in channel {CHANNEL}; 5 off in channel {CHANNEL}",
    )


@pytest.mark.parametrize(
    "input",
    [
        {**VIP, "amount": "abc"},
        {**VIP, "interval": "FORTNIGHT"},
        {**VIP, "intervalCount": 2**40},
        {**VIP, "benefits": [{"kind": "CASHBACK", "channelId": CHANNEL}]},
        {key: value for key, value in VIP.items() if key != "tier"},
        {**VIP, "name": None},
    ],
)
def test_input_graphql_cannot_take_is_refused_as_a_request_error_never_a_server_error(store, tiers, input):
    body = staff_call(CREATE, dashboard_token(store), {"input": input})  # staff_call asserts 200
    assert body["errors"] and body.get("data") is None
    assert not PaidPlan.objects.exists()


def test_a_second_plan_with_the_same_name_is_refused(store, tiers):
    create(store, VIP)
    answer = create(store, {**VIP, "tier": "Silver"})
    assert answer["errors"] == [
        {"field": "name", "code": "INVALID", "message": "a plan called 'Gold monthly' exists already"}
    ]
    assert PaidPlan.objects.get().tier.name == "Gold"


def test_an_update_changes_the_fields_given_and_logs_only_what_changed(store, tiers):
    plan_id = create(store, VIP)["plan"]["id"]
    answer = update(store, plan_id, {"amount": "12.50", "graceDays": 3, "name": "Gold club"})
    assert answer["errors"] == []
    assert (answer["plan"]["name"], answer["plan"]["price"]["amount"], answer["plan"]["graceDays"]) == (
        "Gold club",
        "12.50",
        3,
    )
    assert len(answer["plan"]["benefits"]) == 2 and answer["plan"]["stripePriceId"] == "price_1Q2w3E"  # kept
    change = SettingsChange.objects.get(subject="paid_plan:Gold club")
    assert change.before == {"name": "Gold monthly", "amount": "9.99", "grace_days": 7}
    assert change.after == {"name": "Gold club", "amount": "12.50", "grace_days": 3}

    same = update(store, plan_id, {"amount": "12.5"})  # the same price: nothing to log
    assert same["errors"] == [] and SettingsChange.objects.filter(subject__startswith="paid_plan").count() == 2
    cleared = update(store, plan_id, {"benefits": []})
    assert cleared["errors"] == [] and cleared["plan"]["benefits"] == []

    refused = update(store, plan_id, {"amount": "1.001", "graceDays": 9})  # all or nothing
    assert [e["field"] for e in refused["errors"]] == ["amount"]
    assert PaidPlan.objects.get().grace_days == 3


def test_a_plan_with_subscribers_keeps_its_tier_and_currency_and_archiving_keeps_their_memberships(store, tiers):
    plan_id = create(store, VIP)["plan"]["id"]
    plan = PaidPlan.objects.get()
    for user, status, held in (
        ("VXNlcjox", "active", True),
        ("VXNlcjoy", "past_due", True),
        ("VXNlcjoz", "canceled", False),
    ):
        Membership.objects.create(
            install=store.install,
            member=store.member(user),
            plan=plan,
            subscription_id=f"sub_{user}",
            status=status,
            tier_held=held,
        )
    Membership.objects.create(install=store.install, member=store.member("VXNlcjo0"), plan=plan)  # Checkout started
    listed = staff_call(LIST, dashboard_token(store))["data"]["paidPlans"][0]
    assert listed["members"] == {"active": 1, "pastDue": 1, "canceled": 1, "holdingTier": 2}

    refused = update(store, plan_id, {"tier": "Silver"})
    assert refused["errors"] == [
        {
            "field": "tier",
            "code": "INVALID",
            "message": "2 members subscribe to this plan: the tier it sells cannot change; archive it and create a "
            "new plan instead",
        }
    ]
    assert [e["field"] for e in update(store, plan_id, {"currency": "EUR"})["errors"]] == ["currency"]
    price = update(store, plan_id, {"stripePriceId": "price_New", "amount": "11"})  # new Checkouts only
    assert price["errors"] == [] and price["plan"]["price"]["amount"] == "11.00"

    archived = staff_call(ARCHIVE, dashboard_token(store), {"id": plan_id})["data"]["archivePaidPlan"]
    assert archived["errors"] == [] and archived["plan"]["isActive"] is False
    assert PaidPlan.objects.filter(pk=plan.pk, is_active=False).exists()  # never deleted
    assert Membership.objects.filter(plan=plan).count() == 4
    assert described(store)["Paid plan Gold monthly"]["On sale"] == ("yes", "no")
    again = staff_call(ARCHIVE, dashboard_token(store), {"id": plan_id})["data"]["archivePaidPlan"]
    assert again["errors"] == [] and SettingsChange.objects.filter(after__is_active=False).count() == 1
    sold_again = update(store, plan_id, {"isActive": True})
    assert sold_again["plan"]["isActive"] is True


def test_an_unknown_or_another_stores_plan_is_not_found(store, tiers):
    other = make_install()
    setup_tiers(other)
    theirs = set_paid_plan(
        other,
        name="Theirs",
        tier_name="Gold",
        amount="5",
        currency="USD",
        interval="month",
        stripe_price_id="price_X",
    )
    for plan_id in (global_id("PaidPlan", theirs.pk), global_id("PaidPlan", 99999)):
        assert update(store, plan_id, {"amount": "1"})["errors"][0]["code"] == "NOT_FOUND"
        body = staff_call(ARCHIVE, dashboard_token(store), {"id": plan_id})
        assert body["data"]["archivePaidPlan"]["errors"][0]["code"] == "NOT_FOUND"
    assert PaidPlan.objects.get(pk=theirs.pk).is_active
    body = staff_call(ARCHIVE, dashboard_token(store), {"id": global_id("RebateProgram", 1)})
    assert error_codes(body) == ["INVALID"]
    assert staff_call(LIST, dashboard_token(store))["data"]["paidPlans"] == []


def test_where_checkout_returns_is_set_checked_and_logged(store):
    body = staff_call(
        ORIGINS, dashboard_token(store), {"origins": ["https://shop.example.com/", "https://shop.example.com"]}
    )
    assert body["data"]["updateMembershipSettings"] == {
        "settings": {"returnOrigins": ["https://shop.example.com"]},
        "errors": [],
    }
    refused = staff_call(ORIGINS, dashboard_token(store), {"origins": ["http://shop.example.com"]})
    error = refused["data"]["updateMembershipSettings"]["errors"][0]
    assert (error["field"], error["code"]) == ("returnOrigins", "INVALID") and "https origin" in error["message"]
    too_long = staff_call(ORIGINS, dashboard_token(store), {"origins": ["https://" + "a" * 3000 + ".com"]})
    assert too_long["data"]["updateMembershipSettings"]["errors"][0]["field"] == "returnOrigins"
    shown = staff_call(LIST, dashboard_token(store))["data"]["membershipSettings"]
    assert shown == {"returnOrigins": ["https://shop.example.com"]}
    assert described(store)["Where Checkout returns shoppers"] == {
        "Checkout may return to": (None, "https://shop.example.com")
    }


@pytest.mark.parametrize(
    "document",
    [LIST, CREATE, UPDATE, ARCHIVE, ORIGINS],
)
def test_paid_plans_need_the_program_permission(store, tiers, document):
    variables = {"input": VIP, "id": global_id("PaidPlan", 1), "origins": ["https://shop.example.com"]}
    used = {k: v for k, v in variables.items() if f"${k}" in document}
    body = staff_call(document, dashboard_token(store, permissions=("MANAGE_USERS",)), used)
    assert error_codes(body) == ["PERMISSION_DENIED"]
    assert staff_call(document, None, used)["errors"]
    assert not PaidPlan.objects.exists()
    assert not SettingsChange.objects.filter(subject__regex="^(paid_plan|membership_settings)").exists()


@pytest.mark.parametrize("section", ["Paid plans", "Stripe"])
def test_the_documented_payment_operations_are_valid_against_the_schema(section):
    blocks = _graphql_blocks("staff-api.md", section)
    assert blocks
    for block in blocks:
        assert validate(staff_schema.graphql_schema, parse(block)) == [], block


def test_the_operator_command_writes_through_the_same_rules(store, tiers):
    values: dict[str, Any] = {
        "name": "Gold monthly",
        "tier_name": "Gold",
        "amount": "9.99",
        "currency": "USD",
        "interval": "month",
        "stripe_price_id": "price_1",
    }
    plan = set_paid_plan(store.install, **values)
    Membership.objects.create(
        install=store.install, member=store.member(), plan=plan, subscription_id="sub_1", status="active"
    )
    with pytest.raises(InvalidMembershipConfig) as refused:
        set_paid_plan(store.install, **{**values, "tier_name": "Silver"})
    assert refused.value.field == "tier" and PaidPlan.objects.get().tier.name == "Gold"
    set_paid_plan(store.install, **{**values, "amount": "10"})  # replaced by name: only the price changes
    change = SettingsChange.objects.filter(subject="paid_plan:Gold monthly").order_by("pk").last()
    assert change is not None and change.after == {"amount": "10.00"} and change.actor == "operator"
