"""The Rewards and Campaigns tabs on the staff API: list, create (field errors), switch off; each change logged."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from saleor_loyalty.api.limits import SALEOR_CALLS
from saleor_loyalty.program import configuration
from saleor_loyalty.program.models import Campaign, SettingsChange
from saleor_loyalty.redemption.models import Reward
from saleor_loyalty.saleor import catalog
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


# -- editing in place -------------------------------------------------------------------------------------------

UPDATE_REWARD = """mutation($id: ID!, $input: RewardUpdateInput!) { updateReward(id: $id, input: $input) {
  reward { id name description kind pointsCost channel value maxAmount endsAt perShopperLimit isActive }
  errors { field code message } } }"""
UPDATE_CAMPAIGN = """mutation($id: ID!, $input: CampaignUpdateInput!) { updateCampaign(id: $id, input: $input) {
  campaign { id name startsAt endsAt multiplier fixedBonus channel productIds categoryIds tiers status
             products { id name detail } categories { id name detail } }
  errors { field code message } } }"""
SEARCH = """query($search: String!, $first: Int) {
  searchProducts(search: $search, first: $first) { id name detail }
  searchCategories(search: $search, first: $first) { id name detail } }"""
CAMPAIGN_LIST = "query { campaigns { name status products { id name } categories { id name detail } } }"

TEE, SNEAKERS, SHOES_PRODUCT = "UHJvZHVjdDox", "UHJvZHVjdDoy", "UHJvZHVjdDoz"  # Product:1, 2, 3
SHOES, SNEAKER_CATEGORY = "Q2F0ZWdvcnk6Mjg=", "Q2F0ZWdvcnk6Mjk="  # Category:28, 29


def _reward(store, **terms):
    from saleor_loyalty.redemption.configuration import create_reward

    defaults = {"name": "10% off", "kind": "percentage", "points_cost": 500, "channel_slug": "default-channel",
                "value": "10"}  # fmt: skip
    return create_reward(store.install, **{**defaults, **terms}, actor="m@shop.example")


def _campaign(store, *, starts_in=timedelta(days=1), lasts=timedelta(days=7), **terms):
    from saleor_loyalty.program.configuration import create_campaign

    start = timezone.now() + starts_in
    defaults = {"name": "Double shoes", "starts_at": start, "ends_at": start + lasts, "multiplier": "2"}
    return create_campaign(store.install, **{**defaults, **terms}, actor="m@shop.example")


def _gid(kind: str, pk: int) -> str:
    from saleor_loyalty.api.core.ids import global_id

    return global_id(kind, pk)


def test_staff_edit_a_reward_in_place_and_the_change_log_keeps_before_and_after(store):
    reward = _reward(store)
    changes = {"name": "15% off", "value": "15", "maxAmount": "30", "perShopperLimit": 2, "description": "Spring"}
    payload = staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", reward.pk), "input": changes})
    edited = payload["data"]["updateReward"]
    assert edited["errors"] == [], edited
    assert (edited["reward"]["name"], edited["reward"]["value"], edited["reward"]["maxAmount"]) == (
        "15% off",
        "15.0000",
        "30.0000",
    )
    assert (edited["reward"]["pointsCost"], edited["reward"]["kind"], edited["reward"]["isActive"]) == (
        500,
        "PERCENTAGE",
        True,
    )
    change = SettingsChange.objects.order_by("pk").reverse()[0]
    assert change.subject == f"reward:{reward.pk}" and change.actor == "m@shop.example"
    assert change.before == {"name": "10% off", "value": "10.0000", "max_amount": None, "per_shopper_limit": None,
                             "description": ""}  # fmt: skip
    assert change.after == {"name": "15% off", "value": "15.0000", "max_amount": "30.0000", "per_shopper_limit": 2,
                            "description": "Spring"}  # fmt: skip
    again = staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", reward.pk), "input": changes})
    assert again["data"]["updateReward"]["errors"] == []
    assert SettingsChange.objects.count() == 2  # the same values again: nothing to log


def test_a_rewards_redemptions_keep_the_price_they_were_taken_at_after_an_edit(store):
    from saleor_loyalty.redemption.models import Redemption

    reward = _reward(store, kind="fixed_amount", value="5", points_cost=500)
    member = store.give_points(2000)
    Redemption.objects.create(install=store.install, member=member, reward=reward, idempotency_key="k",
                              checkout_id="c", channel_slug="default-channel", currency="USD", points=500,
                              amount="5")  # fmt: skip
    staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", reward.pk), "input": {"pointsCost": 800}})
    reward.refresh_from_db()
    redemption = Redemption.objects.get()
    assert (reward.points_cost, redemption.points, redemption.amount) == (800, 500, Decimal(5))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pointsCost": 0}, "pointsCost"),
        ({"value": "150"}, "value"),
        ({"value": None}, "value"),
        ({"variantId": "UHJvZHVjdFZhcmlhbnQ6MQ=="}, "value"),  # a percentage reward gives no product
        ({"name": "  "}, "name"),
        ({"endsAt": "2020-01-01T00:00:00+00:00"}, "endsAt"),
        ({"perShopperLimit": -1}, "perShopperLimit"),
    ],
)
def test_an_invalid_reward_edit_names_its_field_and_changes_nothing(store, change, field):
    reward = _reward(store)
    payload = staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", reward.pk), "input": change})
    edit = payload["data"]["updateReward"]
    assert edit["reward"] is None and [e["field"] for e in edit["errors"]] == [field], edit
    assert Reward.objects.get().points_cost == 500 and SettingsChange.objects.count() == 1


def test_a_rewards_kind_and_channel_are_not_editable(store):
    body = staff_call(
        UPDATE_REWARD, token(store), {"id": _gid("Reward", _reward(store).pk), "input": {"kind": "FREE_SHIPPING"}}
    )
    assert "kind" in body["errors"][0]["message"]  # the input has no such field: the schema refuses it
    body = staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", 1), "input": {"channel": "eu"}})
    assert "channel" in body["errors"][0]["message"]


def test_a_switched_off_reward_takes_a_new_name_only(store):
    from saleor_loyalty.redemption.configuration import deactivate_reward

    reward = deactivate_reward(_reward(store))
    refused = staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", reward.pk), "input": {"pointsCost": 9}})
    assert refused["data"]["updateReward"]["errors"][0]["field"] == "pointsCost"
    renamed = staff_call(UPDATE_REWARD, token(store), {"id": _gid("Reward", reward.pk), "input": {"name": "Old 10%"}})
    assert renamed["data"]["updateReward"]["reward"]["name"] == "Old 10%"


def test_staff_reschedule_and_retarget_a_campaign_that_has_not_started(store):
    campaign = _campaign(store, category_ids=[SHOES])
    soon = timezone.now() + timedelta(hours=3)
    changes = {"name": "Sneaker week", "startsAt": soon.isoformat(), "endsAt": (soon + timedelta(days=3)).isoformat(),
               "multiplier": "3", "fixedBonus": 25, "channel": "default-channel", "productIds": [SNEAKERS, TEE],
               "categoryIds": [SNEAKER_CATEGORY], "tiers": ["Gold"]}  # fmt: skip
    payload = staff_call(UPDATE_CAMPAIGN, token(store), {"id": _gid("Campaign", campaign.pk), "input": changes})
    edited = payload["data"]["updateCampaign"]
    assert edited["errors"] == [], edited
    assert edited["campaign"]["products"] == [
        {"id": SNEAKERS, "name": "Dash Force sneakers", "detail": "Sneakers"},
        {"id": TEE, "name": "Monospace Tee", "detail": "T-shirts"},
    ]
    assert edited["campaign"]["categories"] == [{"id": SNEAKER_CATEGORY, "name": "Sneakers", "detail": "Shoes"}]
    assert edited["campaign"]["status"] == "SCHEDULED"
    campaign.refresh_from_db()
    assert (campaign.multiplier, campaign.fixed_bonus, campaign.channel_slug, campaign.tiers) == (
        3,
        25,
        "default-channel",
        ["Gold"],
    )
    change = SettingsChange.objects.order_by("pk").reverse()[0]
    assert change.subject == f"campaign:{campaign.pk}"
    assert change.before["multiplier"] == "2.0000" and change.after["multiplier"] == "3.0000"
    assert change.before["category_ids"] == [SHOES] and change.after["product_ids"] == [SNEAKERS, TEE]
    assert "is_active" not in change.after  # only what changed
    cleared = staff_call(UPDATE_CAMPAIGN, token(store), {"id": _gid("Campaign", campaign.pk),
                                                         "input": {"channel": None, "productIds": None}})  # fmt: skip
    assert cleared["data"]["updateCampaign"]["campaign"]["channel"] is None
    assert cleared["data"]["updateCampaign"]["campaign"]["productIds"] == []


def test_a_running_campaign_keeps_its_start_and_its_end_cannot_move_into_the_past(store):
    campaign = _campaign(store, starts_in=-timedelta(days=1))
    variables = {"id": _gid("Campaign", campaign.pk)}
    earlier = (campaign.starts_at - timedelta(days=1)).isoformat()
    moved = staff_call(UPDATE_CAMPAIGN, token(store), {**variables, "input": {"startsAt": earlier}})
    assert moved["data"]["updateCampaign"]["errors"][0]["field"] == "startsAt"
    ended = staff_call(UPDATE_CAMPAIGN, token(store), {**variables, "input": {"endsAt": timezone.now().isoformat()}})
    assert ended["data"]["updateCampaign"]["errors"][0]["field"] == "endsAt"
    assert "switch it off" in ended["data"]["updateCampaign"]["errors"][0]["message"]
    longer = (campaign.ends_at + timedelta(days=7)).isoformat()
    extended = staff_call(UPDATE_CAMPAIGN, token(store), {**variables, "input": {"endsAt": longer, "multiplier": "3"}})
    assert extended["data"]["updateCampaign"]["errors"] == []
    assert extended["data"]["updateCampaign"]["campaign"]["status"] == "RUNNING"


@pytest.mark.parametrize("stopped", [False, True])
def test_an_ended_or_stopped_campaign_takes_a_new_name_only(store, stopped):
    from saleor_loyalty.program.configuration import deactivate_campaign

    campaign = _campaign(store, starts_in=-timedelta(days=10), lasts=timedelta(days=3))
    if stopped:
        campaign = deactivate_campaign(_campaign(store))
    variables = {"id": _gid("Campaign", campaign.pk)}
    refused = staff_call(UPDATE_CAMPAIGN, token(store), {**variables, "input": {"name": "Renamed", "multiplier": "5"}})
    error = refused["data"]["updateCampaign"]["errors"][0]
    assert error["field"] == "multiplier" and "only its name" in error["message"]
    renamed = staff_call(UPDATE_CAMPAIGN, token(store), {**variables, "input": {"name": "Renamed"}})
    assert renamed["data"]["updateCampaign"]["campaign"]["name"] == "Renamed"
    assert renamed["data"]["updateCampaign"]["campaign"]["status"] == ("STOPPED" if stopped else "ENDED")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"multiplier": "0.5"}, "multiplier"),
        ({"multiplier": "1", "fixedBonus": 0}, "multiplier"),
        ({"fixedBonus": -5}, "fixedBonus"),
        ({"name": ""}, "name"),
        ({"startsAt": None}, "startsAt"),
        ({"startsAt": "2020-01-01T00:00:00+00:00"}, "startsAt"),
        ({"tiers": ["x" * 256]}, "tiers"),
        ({"productIds": ["UHJvZHVjdDo5OTk="]}, "productIds"),  # Product:999: not in the store
        ({"productIds": [SHOES]}, "productIds"),  # a category's id
        ({"categoryIds": ["not an id"]}, "categoryIds"),
    ],
)
def test_an_invalid_campaign_edit_names_its_field_and_changes_nothing(store, change, field):
    campaign = _campaign(store)
    payload = staff_call(UPDATE_CAMPAIGN, token(store), {"id": _gid("Campaign", campaign.pk), "input": change})
    edit = payload["data"]["updateCampaign"]
    assert edit["campaign"] is None and [e["field"] for e in edit["errors"]] == [field], edit
    assert SettingsChange.objects.count() == 1 and Campaign.objects.get().multiplier == 2


def test_creating_a_campaign_for_products_the_store_does_not_have_is_refused(store):
    now = timezone.now()
    campaign_input = {"name": "Ghost", "startsAt": now.isoformat(), "endsAt": (now + timedelta(days=1)).isoformat(),
                      "multiplier": "2", "productIds": [TEE, "UHJvZHVjdDo5OTk="]}  # fmt: skip
    payload = staff_call(CREATE_CAMPAIGN, token(store), {"input": campaign_input})["data"]["createCampaign"]
    assert payload["errors"] == [
        {"field": "productIds", "code": "NOT_FOUND", "message": "your store has no such product: UHJvZHVjdDo5OTk="}
    ]
    assert not Campaign.objects.exists()


def test_when_the_store_cannot_be_asked_a_new_target_is_refused_clearly_and_a_rename_still_works(store):
    campaign = _campaign(store)
    store.saleor.fail_next("products", status=503)
    payload = staff_call(UPDATE_CAMPAIGN, token(store), {"id": _gid("Campaign", campaign.pk),
                                                         "input": {"productIds": [TEE]}})  # fmt: skip
    assert payload["data"]["updateCampaign"]["errors"][0]["code"] == "SALEOR_ERROR"
    renamed = staff_call(UPDATE_CAMPAIGN, token(store), {"id": _gid("Campaign", campaign.pk),
                                                         "input": {"name": "Renamed"}})  # fmt: skip
    assert renamed["data"]["updateCampaign"]["errors"] == []
    assert not store.saleor.calls_to("products")[1:]  # a rename asks the store nothing


def test_the_campaign_list_names_products_and_categories_with_one_call_to_the_store(store):
    _campaign(store, product_ids=[TEE], category_ids=[SHOES])
    _campaign(store, name="Sneakers", product_ids=[SNEAKERS], category_ids=[SNEAKER_CATEGORY])
    store.shop.products.pop(SNEAKERS)  # deleted in Saleor since
    calls = len(store.saleor.calls)
    listed = staff_call(CAMPAIGN_LIST, token(store))["data"]["campaigns"]
    assert {c["name"]: c["products"] for c in listed} == {
        "Double shoes": [{"id": TEE, "name": "Monospace Tee"}],
        "Sneakers": [{"id": SNEAKERS, "name": None}],
    }
    assert {c["name"]: c["categories"][0]["detail"] for c in listed} == {"Double shoes": "", "Sneakers": "Shoes"}
    assert len(store.saleor.calls) - calls == 1
    staff_call(CAMPAIGN_LIST, token(store))
    assert len(store.saleor.calls) - calls == 1  # names are cached


def test_the_campaign_list_still_loads_when_the_store_cannot_be_reached(store):
    _campaign(store, name="Offline", product_ids=[SHOES_PRODUCT])
    store.saleor.fail_next("products", status=500)
    listed = staff_call(CAMPAIGN_LIST, token(store))
    assert "errors" not in listed
    assert listed["data"]["campaigns"][0]["products"] == [{"id": SHOES_PRODUCT, "name": None}]


def test_staff_search_the_stores_products_and_categories(store):
    found = staff_call(SEARCH, token(store), {"search": "SNEAK", "first": 5})["data"]
    assert found["searchProducts"] == [{"id": SNEAKERS, "name": "Dash Force sneakers", "detail": "Sneakers"}]
    assert found["searchCategories"] == [{"id": SNEAKER_CATEGORY, "name": "Sneakers", "detail": "Shoes"}]
    everything = staff_call(SEARCH, token(store), {"search": ""})["data"]
    assert [p["name"] for p in everything["searchProducts"]][:2] == ["Apple Juice", "Canvas tote bag"]
    call = store.saleor.calls_to("products")[-1]
    assert call.app_authenticated and "channel:" not in call.query  # the app sees every product, in no channel


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"search": "x" * 101}, "at most 100 characters"),
        ({"search": "tee", "first": 51}, "between 1 and 50"),
        ({"search": "tee", "first": 0}, "between 1 and 50"),
    ],
)
def test_a_search_the_app_refuses_says_why_and_asks_the_store_nothing(store, variables, message):
    body = staff_call("query($search: String!, $first: Int) { searchProducts(search: $search, first: $first) { id } }",
                      token(store), variables)  # fmt: skip
    assert error_codes(body) == ["INVALID"] and message in body["errors"][0]["message"]
    assert not store.saleor.calls_to("products")


def test_staff_read_the_stores_channels_once_in_a_while(store):
    query = "query { storeChannels { id slug name currency isActive } }"
    channels = staff_call(query, token(store))["data"]["storeChannels"]
    assert channels == [
        {
            "id": "Q2hhbm5lbDox",
            "slug": "default-channel",
            "name": "Default Channel",
            "currency": "USD",
            "isActive": True,
        },
        {"id": "Q2hhbm5lbDoy", "slug": "jp", "name": "Jp", "currency": "JPY", "isActive": True},
    ]
    assert store.saleor.calls_to("channels")[-1].app_authenticated  # asked with the app's token
    staff_call(query, token(store))
    assert len(store.saleor.calls_to("channels")) == 1  # kept a few minutes


def test_channels_the_store_cannot_give_are_a_clear_error(store):
    store.saleor.fail_next("channels", status=502)
    body = staff_call("query { storeChannels { id } }", token(store))
    assert error_codes(body) == ["SALEOR_ERROR"] and "could not be read" in body["errors"][0]["message"]
    assert error_codes(staff_call("query { storeChannels { id } }", token(store, "MANAGE_USERS"))) == [
        "PERMISSION_DENIED"
    ]


def test_a_search_when_the_store_fails_is_a_clear_error_not_a_crash(store):
    store.saleor.fail_next("categories", errors=[{"message": "boom"}])
    body = staff_call('query { searchCategories(search: "s") { id } }', token(store))
    assert error_codes(body) == ["SALEOR_ERROR"] and "could not be searched" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        'query { searchProducts(search: "tee") { id } }',
        'mutation { updateReward(id: "UmV3YXJkOjE=", input: {name: "x"}) { errors { field } } }',
        'mutation { updateCampaign(id: "Q2FtcGFpZ246MQ==", input: {name: "x"}) { errors { field } } }',
    ],
)
def test_editing_and_searching_need_manage_discounts_and_a_dashboard_token(store, query):
    assert error_codes(staff_call(query, token(store, "MANAGE_USERS"))) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(query, store.token())) == ["INVALID_TOKEN"]  # a shopper's token
    assert error_codes(staff_call(query, None)) == ["UNAUTHENTICATED"]
    assert not store.saleor.calls_to("products")


def test_rewards_and_campaigns_of_another_store_or_unknown_ids_are_not_found(store):
    from tests.factories import make_install

    other = make_install(api_url="https://other.example/graphql/")
    from saleor_loyalty.program.configuration import create_campaign
    from saleor_loyalty.redemption.configuration import create_reward

    theirs = create_reward(other, name="Theirs", kind="free_shipping", points_cost=1, channel_slug="c")
    start = timezone.now() + timedelta(days=1)
    their_campaign = create_campaign(
        other, name="Theirs", starts_at=start, ends_at=start + timedelta(days=1), multiplier=2
    )
    for query, variables, name in (
        (UPDATE_REWARD, {"id": _gid("Reward", theirs.pk), "input": {"name": "Mine"}}, "updateReward"),
        (UPDATE_REWARD, {"id": _gid("Reward", 10**9), "input": {"name": "Mine"}}, "updateReward"),
        (UPDATE_CAMPAIGN, {"id": _gid("Campaign", their_campaign.pk), "input": {"name": "Mine"}}, "updateCampaign"),
    ):
        payload = staff_call(query, token(store), variables)["data"][name]
        assert payload["errors"] == [{"field": "id", "code": "NOT_FOUND", "message": f"no such {name[6:].lower()}"}]
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    malformed = staff_call(UPDATE_CAMPAIGN, token(store), {"id": _gid("Reward", theirs.pk), "input": {"name": "x"}})
    assert error_codes(malformed) == ["INVALID"]


def test_a_document_that_would_call_the_store_too_often_is_refused_before_any_call(store):
    aliases = " ".join(f'p{n}: searchProducts(search: "a") {{ id }}' for n in range(9))
    calls_before = len(store.saleor.calls)

    response = Client().post(
        "/dashboard/graphql/",
        data=json.dumps({"query": f"{{ {aliases} }}"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token(store)}"},
    )

    assert response.status_code == 400
    assert error_codes(response.json()) == ["TOO_MANY_SALEOR_CALLS"]
    assert len(store.saleor.calls) == calls_before  # refused up front, not after eight searches


def test_the_call_limits_of_the_catalog_fields_match_what_they_can_make():
    assert SALEOR_CALLS[("StaffQuery", "campaigns")] == catalog.MAX_NAME_CALLS
    most_ids = -(-configuration.MAX_TARGETS // catalog.PER_CALL)
    assert (
        SALEOR_CALLS[("StaffMutation", "createCampaign")]
        == SALEOR_CALLS[("StaffMutation", "updateCampaign")]
        == most_ids
    )
