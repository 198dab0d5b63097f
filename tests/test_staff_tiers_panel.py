"""The tiers panel on the staff API: define tiers, see members per tier and movements, preview the next review
without changing anything, pin and unpin a customer."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_loyalty.program.models import OrderAward, SettingsChange
from saleor_loyalty.tiers.configuration import set_tier
from saleor_loyalty.tiers.models import MemberTier, TierChange
from tests.test_staff_program_settings import DESCRIBED, error_codes, staff_call
from tests.test_tiers import USER, pay, setup_tiers, tier_of

pytestmark = pytest.mark.django_db

TIERS = "query { tiers { name rank multiplier members thresholds { unit qualify retain } } }"
SET_TIER = """mutation($input: TierInput!) { setTier(input: $input) {
  tier { name rank multiplier bonusPoints perks members thresholds { unit qualify retain } }
  errors { field code message } } }"""
PREVIEW = "query { tierReviewPreview { upgrades downgrades moves { customerId fromTier toTier isUpgrade } } }"
SETTINGS = "query { tierSettings { isActive basis windowKind windowDays graceDays } }"
UPDATE_SETTINGS = """mutation($input: TierProgramSettingsInput!) { updateTierSettings(input: $input) {
  settings { basis graceDays } errors { field code } } }"""
PIN = """mutation($tier: String!) { pinTier(customerId: "VXNlcjox", tier: $tier, reason: "VIP guest") {
  tier pinnedTier errors { field code } } }"""
UNPIN = 'mutation { unpinTier(customerId: "VXNlcjox") { tier pinnedTier errors { field } } }'
MOVEMENTS = "query { tierMovements { week upgrades downgrades } }"
NOTHING = dict.fromkeys(("basis", "window_kind", "window_days", "grace_days", "is_active"))  # before the first save


def token(store, *permissions: str) -> str:
    granted = list(permissions or ("MANAGE_DISCOUNTS", "MANAGE_USERS"))
    return str(store.saleor.app_token_for_dashboard(granted, email="merchant@example.com"))


def test_staff_create_a_tier_and_see_it_with_its_members_and_the_change_logged(store):
    payload = staff_call(
        SET_TIER,
        token(store),
        {
            "input": {
                "name": "Gold",
                "rank": 2,
                "thresholds": [{"unit": "usd", "qualify": "1000", "retain": "800"}],
                "multiplier": "1.5",
                "bonusPoints": 500,
                "perks": ["Free shipping"],
            }
        },
    )["data"]["setTier"]

    assert payload["errors"] == []
    assert payload["tier"]["thresholds"] == [{"unit": "USD", "qualify": "1000.0000", "retain": "800.0000"}]
    assert (payload["tier"]["members"], payload["tier"]["bonusPoints"]) == (0, 500)
    # the first tier also started the tier program, with the default settings: both logged, as the merchant's
    started, change = SettingsChange.objects.order_by("pk")
    assert (started.subject, started.actor, started.before) == ("tier_settings", "merchant@example.com", NOTHING)
    assert started.after == {"basis": "spend", "window_kind": "rolling", "window_days": 365, "grace_days": 30,
                             "is_active": True}  # fmt: skip
    assert change.subject == "tier:Gold" and change.actor == "merchant@example.com"
    assert change.before == {"rank": None, "multiplier": None, "bonus_points": None, "perks": None,
                             "access": None, "is_active": None, "thresholds": None}  # fmt: skip
    assert change.after["thresholds"] == {"USD": ["1000.0000", "800.0000"]}


def test_members_per_tier_count_everyone_below_the_first_tier_in_the_base_tier(store):
    setup_tiers(store.install)
    pay(store.install, "o-1", "600.00")  # Silver at once
    pay(store.install, "o-2", "20.00", user_id="VXNlcjoy")  # below Bronze's 100: no tier
    tiers = {t["name"]: t["members"] for t in staff_call(TIERS, token(store))["data"]["tiers"]}
    assert tiers == {"Bronze": 0, "Silver": 1, "Gold": 0}


def test_the_panel_names_the_base_tier_which_a_paid_plan_cannot_sell(store):
    setup_tiers(store.install)
    query = "query { tiers { name isBase } }"
    assert {t["name"]: t["isBase"] for t in staff_call(query, token(store))["data"]["tiers"]} == {
        "Bronze": False,  # rank 1, but 100 to qualify: not everyone's
        "Silver": False,
        "Gold": False,
    }
    set_tier(store.install, name="Bronze", rank=1, thresholds={"USD": "0", "EUR": "0"})
    assert {t["name"]: t["isBase"] for t in staff_call(query, token(store))["data"]["tiers"]}["Bronze"] is True


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rank": 0}, "rank"),
        ({"thresholds": [{"unit": "US1", "qualify": "10"}]}, "thresholds"),
        ({"thresholds": [{"unit": "USD", "qualify": "10", "retain": "20"}]}, "thresholds"),
        ({"multiplier": "1000"}, "multiplier"),
        ({"name": " "}, "name"),
        ({"access": ["Not A Flag!"]}, "access"),
    ],
)
def test_an_invalid_tier_is_refused_with_its_field_and_nothing_saved(store, change, field):
    tier_input = {"name": "Gold", "rank": 2, "thresholds": [{"unit": "USD", "qualify": "1000"}], **change}
    payload = staff_call(SET_TIER, token(store), {"input": tier_input})["data"]["setTier"]
    assert payload["tier"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]
    assert staff_call(TIERS, token(store))["data"]["tiers"] == []
    assert not SettingsChange.objects.exists()


def test_the_preview_says_who_the_review_would_move_and_changes_nothing(store):
    setup_tiers(store.install, grace_days=0)
    paid = pay(store.install, "o-1", "600.00")  # Silver at once
    assert tier_of(store.install) == "Silver"
    long_ago = timezone.now() - timedelta(days=400)
    OrderAward.objects.filter(install=store.install, order_id=paid.id).update(first_paid_at=long_ago)
    changes_before = TierChange.objects.count()

    preview = staff_call(PREVIEW, token(store))["data"]["tierReviewPreview"]

    assert (preview["upgrades"], preview["downgrades"]) == (0, 1)
    assert preview["moves"] == [{"customerId": USER, "fromTier": "Silver", "toTier": None, "isUpgrade": False}]
    assert tier_of(store.install) == "Silver"  # nothing moved
    assert TierChange.objects.count() == changes_before
    assert MemberTier.objects.get().below_since is None  # not even the grace clock


def test_tier_settings_read_and_change_with_field_errors(store):
    settings = staff_call(SETTINGS, token(store))["data"]["tierSettings"]
    assert settings == {"isActive": True, "basis": "SPEND", "windowKind": "ROLLING", "windowDays": 365, "graceDays": 30}
    changed = staff_call(UPDATE_SETTINGS, token(store), {"input": {"basis": "POINTS", "graceDays": 7}})
    assert changed["data"]["updateTierSettings"] == {"settings": {"basis": "POINTS", "graceDays": 7}, "errors": []}
    refused = staff_call(UPDATE_SETTINGS, token(store), {"input": {"graceDays": -1}})["data"]["updateTierSettings"]
    assert refused["errors"] == [{"field": "graceDays", "code": "INVALID"}]
    # the first save created the settings: logged in full, each value from nothing
    first = SettingsChange.objects.get(subject="tier_settings")
    assert first.before == NOTHING and first.actor == "merchant@example.com"
    assert json.loads(json.dumps(first.after)) == {
        "basis": "points",
        "window_kind": "rolling",
        "window_days": 365,
        "grace_days": 7,
        "is_active": True,
    }
    staff_call(UPDATE_SETTINGS, token(store), {"input": {"graceDays": 8}})
    latest = SettingsChange.objects.filter(subject="tier_settings").latest("pk")
    assert (latest.before, latest.after) == ({"grace_days": 7}, {"grace_days": 8})  # later: only what changed


def test_the_first_save_of_the_default_tier_settings_is_logged_and_a_save_that_changes_nothing_is_not(store):
    """Found inside the real Dashboard (fifth run): saving the defaults created the settings, and so started the
    tier program, but the change log said nothing, as nothing differed from the defaults the page showed."""
    defaults = staff_call(SETTINGS, token(store))["data"]["tierSettings"]
    saved = staff_call(UPDATE_SETTINGS, token(store), {"input": defaults})["data"]["updateTierSettings"]
    assert saved["errors"] == []
    [change] = SettingsChange.objects.filter(subject="tier_settings")
    assert (change.before, change.actor) == (NOTHING, "merchant@example.com")
    assert change.after == {"basis": "spend", "window_kind": "rolling", "window_days": 365, "grace_days": 30,
                            "is_active": True}  # fmt: skip
    # the change log lists every value, from nothing
    [logged] = [
        c for c in staff_call(DESCRIBED, token(store))["data"]["settingsChanges"] if c["subject"] == "tier_settings"
    ]
    assert logged["title"] == "How tiers are reached"
    assert {value["field"]: (value["before"], value["after"]) for value in logged["values"]} == {
        "basis": (None, "Money paid, net of refunds, per currency"),
        "window_kind": (None, "The last N days"),
        "window_days": (None, "365"),
        "grace_days": (None, "30"),
        "is_active": (None, "yes"),
    }

    # the same values again: nothing changed, nothing logged; nor when a tier is defined afterwards
    staff_call(UPDATE_SETTINGS, token(store), {"input": defaults})
    tier_input = {"name": "Silver", "rank": 2, "thresholds": [{"unit": "USD", "qualify": "500"}]}
    assert staff_call(SET_TIER, token(store), {"input": tier_input})["data"]["setTier"]["errors"] == []
    assert SettingsChange.objects.filter(subject="tier_settings").count() == 1


def test_staff_pin_and_unpin_a_customer(store):
    setup_tiers(store.install)
    pay(store.install, "o-1", "150.00")  # Bronze
    pinned = staff_call(PIN, token(store), {"tier": "Gold"})["data"]["pinTier"]
    assert pinned == {"tier": "Gold", "pinnedTier": "Gold", "errors": []}
    assert TierChange.objects.filter(reason="pin").count() == 1
    assert staff_call(UNPIN, token(store))["data"]["unpinTier"] == {"tier": "Gold", "pinnedTier": None, "errors": []}
    unknown = staff_call(PIN, token(store), {"tier": "Platinum"})["data"]["pinTier"]["errors"]
    assert unknown == [{"field": "tier", "code": "INVALID"}]


def test_movements_count_upgrades_per_week(store):
    setup_tiers(store.install)
    pay(store.install, "o-1", "600.00")
    [week] = staff_call(MOVEMENTS, token(store))["data"]["tierMovements"]
    assert (week["upgrades"], week["downgrades"]) == (1, 0)


def test_the_panel_checks_permissions(store):
    only_users = token(store, "MANAGE_USERS")
    only_discounts = token(store, "MANAGE_DISCOUNTS")
    assert error_codes(staff_call(TIERS, only_users)) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(PREVIEW, only_discounts)) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(PIN, only_discounts, {"tier": "Gold"})) == ["PERMISSION_DENIED"]
    tier_input = {"name": "Gold", "rank": 2, "thresholds": [{"unit": "USD", "qualify": "1000"}]}
    assert error_codes(staff_call(SET_TIER, only_users, {"input": tier_input})) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(TIERS, store.token())) == ["INVALID_TOKEN"]
    assert not SettingsChange.objects.exists()


def test_a_first_tier_starts_the_tier_program_with_its_default_settings(store):
    """Found by the dashboard's flows: with no settings row saved, the review (and its preview) moved nobody."""
    pay(store.install, "o-1", "600.00")
    tier_input = {"name": "Silver", "rank": 2, "thresholds": [{"unit": "USD", "qualify": "500"}]}
    assert staff_call(SET_TIER, token(store), {"input": tier_input})["data"]["setTier"]["errors"] == []
    preview = staff_call(PREVIEW, token(store))["data"]["tierReviewPreview"]
    assert preview["upgrades"] == 1
    assert preview["moves"] == [{"customerId": USER, "fromTier": None, "toTier": "Silver", "isUpgrade": True}]
