"""The Rewards and Campaigns tabs on the staff API: list, create (field errors), switch off; each change logged."""

from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_loyalty.program.models import Campaign, SettingsChange
from saleor_loyalty.redemption.models import Reward
from tests.test_staff_program_settings import error_codes, staff_call

pytestmark = pytest.mark.django_db

CREATE_REWARD = """mutation($input: RewardInput!) { createReward(input: $input) {
  reward { id name kind pointsCost channel value maxAmount isActive } errors { field code message } } }"""
DEACTIVATE_REWARD = "mutation($id: ID!) { deactivateReward(id: $id) { reward { isActive } errors { field code } } }"
CREATE_CAMPAIGN = """mutation($input: CampaignInput!) { createCampaign(input: $input) {
  campaign { id name multiplier fixedBonus channel categoryIds tiers isActive } errors { field code message } } }"""
DEACTIVATE_CAMPAIGN = "mutation($id: ID!) { deactivateCampaign(id: $id) { campaign { isActive } errors { field } } }"
LIST = "query { catalogRewards { name isActive } campaigns { name isActive } }"


def token(store, *permissions: str) -> str:
    return str(store.saleor.app_token_for_dashboard(list(permissions or ("MANAGE_DISCOUNTS",)), email="m@shop.example"))


def test_staff_add_a_reward_list_it_and_switch_it_off(store):
    reward_input = {"name": "10% off", "kind": "PERCENTAGE", "pointsCost": 500, "channel": "default-channel",
                    "value": "10", "maxAmount": "25"}  # fmt: skip
    created = staff_call(CREATE_REWARD, token(store), {"input": reward_input})["data"]["createReward"]
    assert created["errors"] == []
    assert (created["reward"]["kind"], created["reward"]["pointsCost"], created["reward"]["isActive"]) == (
        "PERCENTAGE",
        500,
        True,
    )
    off = staff_call(DEACTIVATE_REWARD, token(store), {"id": created["reward"]["id"]})["data"]["deactivateReward"]
    assert off == {"reward": {"isActive": False}, "errors": []}
    assert staff_call(LIST, token(store))["data"]["catalogRewards"] == [{"name": "10% off", "isActive": False}]
    subject = f"reward:{Reward.objects.get().pk}"
    assert list(SettingsChange.objects.order_by("pk").values_list("subject", flat=True)) == [subject, subject]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pointsCost": 0}, "pointsCost"),
        ({"value": None}, "value"),
        ({"value": "150"}, "value"),
        ({"channel": ""}, "channel"),
        ({"name": " "}, "name"),
    ],
)
def test_an_invalid_reward_names_its_field_and_is_not_created(store, change, field):
    reward_input = {"name": "10% off", "kind": "PERCENTAGE", "pointsCost": 500, "channel": "default-channel",
                    "value": "10", **change}  # fmt: skip
    payload = staff_call(CREATE_REWARD, token(store), {"input": reward_input})["data"]["createReward"]
    assert payload["reward"] is None and [e["field"] for e in payload["errors"]] == [field], payload
    assert not Reward.objects.exists() and not SettingsChange.objects.exists()


def test_staff_run_a_campaign_and_stop_it(store):
    now = timezone.now()
    campaign_input = {"name": "Double shoes", "startsAt": now.isoformat(),
                      "endsAt": (now + timedelta(days=7)).isoformat(), "multiplier": "2",
                      "categoryIds": ["Q2F0ZWdvcnk6Mjg="], "tiers": ["Gold"]}  # fmt: skip
    created = staff_call(CREATE_CAMPAIGN, token(store), {"input": campaign_input})["data"]["createCampaign"]
    assert created["errors"] == []
    assert created["campaign"]["categoryIds"] == ["Q2F0ZWdvcnk6Mjg="] and created["campaign"]["channel"] is None
    stopped = staff_call(DEACTIVATE_CAMPAIGN, token(store), {"id": created["campaign"]["id"]})
    assert stopped["data"]["deactivateCampaign"] == {"campaign": {"isActive": False}, "errors": []}
    assert not Campaign.objects.get().is_active


def test_an_invalid_campaign_names_its_field(store):
    now = timezone.now()
    campaign_input = {"name": "Nothing", "startsAt": now.isoformat(), "endsAt": (now - timedelta(days=1)).isoformat(),
                      "multiplier": "2"}  # fmt: skip
    payload = staff_call(CREATE_CAMPAIGN, token(store), {"input": campaign_input})["data"]["createCampaign"]
    assert [e["field"] for e in payload["errors"]] == ["endsAt"] and not Campaign.objects.exists()


def test_the_catalog_needs_manage_discounts_and_ids_of_this_store(store):
    assert error_codes(staff_call(LIST, token(store, "MANAGE_USERS"))) == ["PERMISSION_DENIED"]
    other = staff_call(DEACTIVATE_REWARD, token(store), {"id": "UmV3YXJkOjk5OTk5"})["data"]["deactivateReward"]
    assert other["errors"] == [{"field": "id", "code": "NOT_FOUND"}]
