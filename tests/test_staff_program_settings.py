"""The staff API's Program page (/dashboard/graphql/): read and change the program's settings, see the change log.

Callers are the dashboard extension's pages, with the token Saleor's dashboard hands them (``thirdparty``, for
this app, carrying the staff user's permissions); shopper tokens, other stores' tokens and tokens without
MANAGE_DISCOUNTS are refused and change nothing.
"""

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from saleor_loyalty.change_log.descriptions import describe_changes
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.notifications.configuration import update_notification_settings
from saleor_loyalty.program.configuration import create_campaign, deactivate_campaign
from saleor_loyalty.program.earning_actions import set_earning_action
from saleor_loyalty.program.models import EarningAction, ProgramSettings, SettingsChange
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.settings_changes import SettingsInvalid, update_program_settings
from saleor_loyalty.redemption.configuration import create_reward, deactivate_reward
from saleor_loyalty.tiers.configuration import configure_tiers
from tests.factories import order
from tests.saleor_harness import FakeSaleor
from tests.storefront import Store
from tests.test_tiers import setup_tiers

pytestmark = pytest.mark.django_db

SETTINGS = """
query { programSettings { isActive returnWindowDays expiryPolicy pointsExpireAfterDays clawbackPolicy
  guestOrders defaultPointsPerUnit signupBonusPoints birthdayMetadataKey } }
"""
UPDATE = """
mutation($input: ProgramSettingsInput!) {
  updateProgramSettings(input: $input) {
    settings { returnWindowDays expiryPolicy pointsExpireAfterDays defaultPointsPerUnit signupBonusPoints }
    errors { field code message }
  }
}
"""
CHANGES = "query { settingsChanges { id subject actor before after changedAt } }"


def staff_call(query: str, token: str | None, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = Client().post(
        "/dashboard/graphql/",
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def dashboard_token(store: Store, permissions: tuple[str, ...] = ("MANAGE_DISCOUNTS",), **kwargs: Any) -> str:
    return store.saleor.app_token_for_dashboard(list(permissions), email="merchant@example.com", **kwargs)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


# -- reading ---------------------------------------------------------------------------------------------------


def test_staff_read_the_programs_settings(store):
    body = staff_call(SETTINGS, dashboard_token(store))
    assert "errors" not in body, body
    settings = body["data"]["programSettings"]
    assert settings["isActive"] is True
    assert settings["returnWindowDays"] == 14
    assert settings["expiryPolicy"] == "NONE"
    assert settings["clawbackPolicy"] == "NEGATIVE_BALANCE"
    assert Decimal(settings["defaultPointsPerUnit"]) == 1


@pytest.mark.parametrize("query", [SETTINGS, CHANGES])
def test_without_manage_discounts_staff_are_refused(store, query):
    body = staff_call(query, dashboard_token(store, ("MANAGE_USERS", "MANAGE_ORDERS")))
    assert error_codes(body) == ["PERMISSION_DENIED"]
    assert body["data"] is None


def test_a_shopper_token_is_refused(store):
    body = staff_call(SETTINGS, store.token())
    assert error_codes(body) == ["INVALID_TOKEN"]


def test_no_token_is_refused(store):
    assert error_codes(staff_call(SETTINGS, None)) == ["UNAUTHENTICATED"]


def test_a_dashboard_token_of_another_store_or_another_app_is_refused(store):
    with FakeSaleor() as stranger:  # a store that never installed the app
        stranger_token = stranger.app_token_for_dashboard(["MANAGE_DISCOUNTS"])
        assert error_codes(staff_call(SETTINGS, stranger_token)) == ["INVALID_TOKEN"]
    other_app = store.saleor.keys.issue_app_token(store.saleor.api_url, "QXBwOjk5", permissions=["MANAGE_DISCOUNTS"])
    assert error_codes(staff_call(SETTINGS, other_app)) == ["INVALID_TOKEN"]


def test_the_staff_schema_is_not_reachable_from_the_storefront_endpoint(store):
    response = Client().post(
        "/graphql/",
        data=json.dumps({"query": SETTINGS}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {dashboard_token(store)}"},
    )
    assert response.status_code == 400  # programSettings is not a storefront field


# -- changing --------------------------------------------------------------------------------------------------


def test_staff_change_settings_and_the_change_is_logged_with_who_and_what(store):
    token = dashboard_token(store)
    body = staff_call(
        UPDATE,
        token,
        {"input": {"returnWindowDays": 30, "expiryPolicy": "AFTER_EARNING", "pointsExpireAfterDays": 365}},
    )

    payload = body["data"]["updateProgramSettings"]
    assert payload["errors"] == []
    assert payload["settings"]["returnWindowDays"] == 30
    assert payload["settings"]["expiryPolicy"] == "AFTER_EARNING"
    assert payload["settings"]["pointsExpireAfterDays"] == 365
    [change] = staff_call(CHANGES, token)["data"]["settingsChanges"]
    assert change["subject"] == "program"
    assert change["actor"] == "merchant@example.com"
    assert json.loads(change["before"]) == {
        "return_window_days": 14,
        "expiry_policy": "none",
        "points_expire_after_days": None,
    }
    assert json.loads(change["after"]) == {
        "return_window_days": 30,
        "expiry_policy": "after_earning",
        "points_expire_after_days": 365,
    }


def test_fields_left_out_keep_their_values_and_an_explicit_null_clears(store):
    token = dashboard_token(store)
    staff_call(UPDATE, token, {"input": {"expiryPolicy": "AFTER_INACTIVITY", "pointsExpireAfterDays": 90}})
    staff_call(UPDATE, token, {"input": {"signupBonusPoints": 50}})
    row = program_settings(store.install)
    assert (row.expiry_policy, row.points_expire_after_days, row.signup_bonus_points) == ("after_inactivity", 90, 50)
    staff_call(UPDATE, token, {"input": {"pointsExpireAfterDays": None}})
    assert program_settings(store.install).points_expire_after_days is None


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"returnWindowDays": -1}, "returnWindowDays"),
        ({"returnWindowDays": 10_000}, "returnWindowDays"),
        ({"defaultPointsPerUnit": "-1"}, "defaultPointsPerUnit"),
        ({"defaultPointsPerUnit": "0.00001"}, "defaultPointsPerUnit"),
        ({"defaultPointsPerUnit": "1e9"}, "defaultPointsPerUnit"),
        ({"expiryPolicy": "AFTER_EARNING", "pointsExpireAfterDays": None}, "pointsExpireAfterDays"),
        ({"redemptionHoldMinutes": 0}, "redemptionHoldMinutes"),
        ({"birthdayMetadataKey": ""}, "birthdayMetadataKey"),
        ({"expiryPolicy": "AFTER_INACTIVITY", "inactivityExpiryDays": 10, "expiryReminderDays": 14},
         "expiryReminderDays"),
    ],
)  # fmt: skip
def test_invalid_settings_change_nothing_and_name_the_field(store, given, field):
    program_settings(store.install)
    before = ProgramSettings.objects.filter(install=store.install).values().first()
    body = staff_call(UPDATE, dashboard_token(store), {"input": {**given, "signupBonusPoints": 10}})

    payload = body["data"]["updateProgramSettings"]
    assert [error["field"] for error in payload["errors"]] == [field], payload
    assert payload["errors"][0]["code"] == "INVALID"
    assert payload["settings"]["signupBonusPoints"] == 0  # nothing applied, not even the valid field
    assert ProgramSettings.objects.filter(install=store.install).values().first() == before
    assert not SettingsChange.objects.exists()


def test_a_change_to_the_same_values_logs_nothing(store):
    token = dashboard_token(store)
    staff_call(UPDATE, token, {"input": {"returnWindowDays": 14, "guestOrders": "EARN"}})
    assert not SettingsChange.objects.exists()


def test_without_manage_discounts_nothing_changes(store):
    body = staff_call(UPDATE, dashboard_token(store, ("MANAGE_USERS",)), {"input": {"returnWindowDays": 1}})
    assert error_codes(body) == ["PERMISSION_DENIED"]
    assert program_settings(store.install).return_window_days == 14


def test_changing_the_rate_never_rewrites_what_an_order_earned(store):
    """An order keeps the rule frozen on its award: a re-delivered order event after the change earns the same."""
    member = store.member()
    paid = order(user_id="VXNlcjox")
    reconcile_order(store.install, paid)
    earned = member_balances(member).pending
    assert earned > 0

    update_program_settings(store.install, {"default_points_per_unit": Decimal(5)}, actor="merchant@example.com")
    reconcile_order(store.install, paid)

    assert member_balances(member).pending == earned


def test_the_domain_action_refuses_unknown_settings(store):
    with pytest.raises(SettingsInvalid) as refused:
        update_program_settings(store.install, {"install_id": 2, "is_active": "yes"}, actor="x")
    assert set(refused.value.errors) == {"install_id", "is_active"}


# -- earn rules ------------------------------------------------------------------------------------------------

SET_RULE = """
mutation($input: EarnRuleInput!) {
  setEarnRule(input: $input) {
    rule { channel currency pointsPerUnit includesTax isActive multipliers { target saleorId multiplier } }
    errors { field code message }
  }
}
"""
RULES = "query { earnRules { channel currency pointsPerUnit isActive } }"
DEACTIVATE = """
mutation { deactivateEarnRule(channel: "default-channel", currency: "USD") { rule { isActive } errors { field } } }
"""


def test_staff_set_a_channels_earn_rule_list_it_and_switch_it_off_each_change_logged(store):
    token = dashboard_token(store)
    rule_input = {
        "channel": "default-channel",
        "currency": "usd",
        "pointsPerUnit": "2.5",
        "includesTax": True,
        "multipliers": [{"target": "CATEGORY", "saleorId": "Q2F0ZWdvcnk6MQ==", "multiplier": "2"}],
    }
    payload = staff_call(SET_RULE, token, {"input": rule_input})["data"]["setEarnRule"]
    assert payload["errors"] == []
    assert payload["rule"]["currency"] == "USD" and Decimal(payload["rule"]["pointsPerUnit"]) == Decimal("2.5")
    assert payload["rule"]["multipliers"] == [
        {"target": "CATEGORY", "saleorId": "Q2F0ZWdvcnk6MQ==", "multiplier": "2.0000"}
    ]
    assert staff_call(RULES, token)["data"]["earnRules"][0]["channel"] == "default-channel"

    assert staff_call(DEACTIVATE, token)["data"]["deactivateEarnRule"] == {"rule": {"isActive": False}, "errors": []}

    changes = staff_call(CHANGES, token)["data"]["settingsChanges"]
    assert [c["subject"] for c in changes] == ["earn_rule:default-channel/USD"] * 2
    assert json.loads(changes[0]["after"]) == {"is_active": False}
    created = json.loads(changes[1]["after"])
    assert created["points_per_unit"] == "2.5000" and created["multipliers"] == {"category:Q2F0ZWdvcnk6MQ==": "2.0000"}
    assert json.loads(changes[1]["before"])["points_per_unit"] is None  # a new rule: nothing before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXX1"}, "currency"),
        ({"pointsPerUnit": "-2"}, "pointsPerUnit"),
        ({"pointsPerUnit": "0.000001"}, "pointsPerUnit"),
        ({"channel": ""}, "channel"),
        ({"minOrderAmount": "-1"}, "minOrderAmount"),
        ({"multipliers": [{"target": "PRODUCT", "saleorId": "", "multiplier": "2"}]}, "multipliers"),
    ],
)
def test_an_invalid_earn_rule_is_refused_with_its_field_and_saves_nothing(store, change, field):
    rule_input = {"channel": "default-channel", "currency": "USD", "pointsPerUnit": "1", **change}
    payload = staff_call(SET_RULE, dashboard_token(store), {"input": rule_input})["data"]["setEarnRule"]
    assert payload["rule"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]
    assert staff_call(RULES, dashboard_token(store))["data"]["earnRules"] == []
    assert not SettingsChange.objects.exists()


def test_earn_rules_need_manage_discounts(store):
    token = dashboard_token(store, ("MANAGE_USERS",))
    assert error_codes(staff_call(RULES, token)) == ["PERMISSION_DENIED"]
    rule_input = {"channel": "default-channel", "currency": "USD", "pointsPerUnit": "9"}
    assert error_codes(staff_call(SET_RULE, token, {"input": rule_input})) == ["PERMISSION_DENIED"]


# -- the change log as merchants read it ------------------------------------------------------------------------

DESCRIBED = "query { settingsChanges { subject title values { field label before after isDateTime } } }"


def described(token: str) -> dict[str, dict[str, Any]]:
    """The newest change of each subject: its title and its values by field."""
    found: dict[str, dict[str, Any]] = {}
    for change in staff_call(DESCRIBED, token)["data"]["settingsChanges"]:
        values = {value["field"]: value for value in change["values"]}
        found.setdefault(change["subject"], {"title": change["title"], "values": values})
    return found


def test_the_change_log_names_what_changed_and_labels_each_value(store):
    token = dashboard_token(store)
    staff_call(UPDATE, token, {"input": {"expiryPolicy": "AFTER_EARNING", "pointsExpireAfterDays": 365}})
    starts = timezone.now()
    campaign = create_campaign(
        store.install, name="Double week", starts_at=starts, ends_at=starts + timedelta(days=7), multiplier="2"
    )
    deactivate_campaign(campaign, actor="merchant@example.com")
    sneakers = create_campaign(  # products and categories are Saleor ids: the log shows the store's names
        store.install,
        name="Sneaker days",
        starts_at=starts,
        ends_at=starts + timedelta(days=3),
        multiplier="3",
        product_ids=["UHJvZHVjdDoy", "UHJvZHVjdDo5OTk="],  # Product:2, and one the store does not have
        category_ids=["Q2F0ZWdvcnk6Mjk="],  # Category:29
    )
    reward = create_reward(
        store.install, name="$5 off", kind="FIXED_AMOUNT", points_cost=100, channel_slug="default-channel", value="5"
    )
    update_notification_settings(store.install, {"disabled_kinds": ["expiry_reminder", "tier_down"]}, actor="m")
    setup_tiers(store.install)

    log = described(token)
    program = log["program"]
    assert program["title"] == "Program settings"
    assert program["values"]["expiry_policy"] == {
        "field": "expiry_policy",
        "label": "Points expiry policy",
        "before": "Points never expire",
        "after": "Points expire a set number of days after they were earned",
        "isDateTime": False,
    }
    assert program["values"]["points_expire_after_days"]["before"] is None
    assert program["values"]["points_expire_after_days"]["after"] == "365"

    # a campaign by its name, also for the change that only switched it off; dates marked for the reader's locale
    stopped = log[f"campaign:{campaign.pk}"]
    assert stopped["title"] == "Campaign Double week"
    assert stopped["values"]["is_active"] | {"field": ""} == {
        "field": "",
        "label": "Switched on",
        "before": "yes",
        "after": "no",
        "isDateTime": False,
    }
    [created] = [
        c
        for c in staff_call(DESCRIBED, token)["data"]["settingsChanges"]
        if c["values"][0]["field"] == "name" and c["subject"] == f"campaign:{campaign.pk}"
    ]
    values = {value["field"]: value for value in created["values"]}
    assert values["ends_at"]["isDateTime"] is True and values["ends_at"]["before"] is None
    assert values["ends_at"]["after"] == (starts + timedelta(days=7)).isoformat()
    assert values["multiplier"]["after"] == "×2"
    assert values["channel_slug"]["after"] == "every channel"
    assert "product_ids" not in values  # empty before and after: nothing to say

    targets = log[f"campaign:{sneakers.pk}"]["values"]
    assert targets["product_ids"]["after"] == "Dash Force sneakers, UHJvZHVjdDo5OTk="
    assert targets["category_ids"]["after"] == "Sneakers"
    assert list(targets)[:3] == ["name", "starts_at", "ends_at"]  # in the order of the page's form

    new_reward = log[f"reward:{reward.pk}"]
    assert new_reward["title"] == "Reward $5 off"
    assert new_reward["values"]["kind"]["after"] == "An amount off"  # as the Rewards tab offers it
    assert new_reward["values"]["value"]["after"] == "5"
    assert {"max_amount", "variant_id"}.isdisjoint(new_reward["values"])  # fields a fixed amount does not use

    assert log["emails"]["values"]["disabled_kinds"]["after"] == "Points about to expire, Moved down a tier"
    silver = log["tier:Silver"]
    assert silver["title"] == "Tier Silver"
    assert silver["values"]["thresholds"]["after"] == "450 EUR; 500 USD (keep at 400)"
    assert silver["values"]["multiplier"]["after"] == "×1.25"
    configure_tiers(store.install, window_kind="calendar_year", actor="m")
    assert described(token)["tier_settings"]["values"]["window_kind"]["after"].startswith("The calendar year")


def test_the_change_log_names_a_reward_by_its_current_name_in_two_queries(store, django_assert_max_num_queries):
    rewards = [
        create_reward(store.install, name=f"R{n}", kind="FREE_SHIPPING", points_cost=10, channel_slug="c")
        for n in range(5)
    ]
    for reward in rewards:
        deactivate_reward(reward)
    changes = list(SettingsChange.objects.filter(install=store.install))
    with django_assert_max_num_queries(1):  # the rewards' names, all at once
        titles = {change.title for change in describe_changes(store.install, changes)}
    assert titles == {f"Reward R{n}" for n in range(5)}


def test_the_change_log_names_an_earning_action_by_its_current_name_with_one_query_per_kind(
    store, django_assert_max_num_queries
):
    for n in range(3):
        set_earning_action(store.install, code=f"action-{n}", name=f"Action {n}", points=10)
        set_earning_action(store.install, code=f"action-{n}", name=f"Action {n}", points=20)  # a change, not named
    set_earning_action(store.install, code="product_review", name="Product review", points=10)
    set_earning_action(store.install, code="product_review", name="Review a product", points=10)  # renamed
    reward = create_reward(store.install, name="R", kind="FREE_SHIPPING", points_cost=10, channel_slug="c")
    deactivate_reward(reward)
    starts = timezone.now()
    campaign = create_campaign(
        store.install, name="C", starts_at=starts, ends_at=starts + timedelta(days=1), multiplier="2"
    )
    deactivate_campaign(campaign, actor="m")
    changes = list(SettingsChange.objects.filter(install=store.install).order_by("pk"))

    with django_assert_max_num_queries(3):  # the names of the actions, the rewards and the campaigns, each at once
        titles = [change.title for change in describe_changes(store.install, changes)]

    assert titles[:6] == ["Earning action Action 0", "Earning action Action 0", "Earning action Action 1",
                          "Earning action Action 1", "Earning action Action 2", "Earning action Action 2"]  # fmt: skip
    # by the name it has now, like rewards and campaigns; one no longer there by the name it was created with
    assert titles[6:8] == ["Earning action Review a product"] * 2
    assert titles[8:] == ["Reward R", "Reward R", "Campaign C", "Campaign C"]
    EarningAction.objects.filter(code="action-0").delete()
    assert describe_changes(store.install, changes[:2])[0].title == "Earning action Action 0"
    other = SettingsChange(install=store.install, subject="earning_action:gone", before={"points": 1}, after={})
    assert describe_changes(store.install, [other])[0].title == "Earning action gone"  # no name anywhere: its code
