"""A reward's currency on the staff API: the Rewards tab shows "5 USD off", not "5 off" (real-Saleor run 5, finding 7).

The app does not store a channel's currency with a reward; a Saleor channel has exactly one, which the app knows
from the channel's earn or redemption rule, or from an order of the channel it saw.
"""

import pytest

from saleor_loyalty.program.configuration import set_earn_rule
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.queries import channel_currencies
from saleor_loyalty.redemption.configuration import create_reward, set_redemption_rule
from tests.factories import order
from tests.test_staff_program_settings import staff_call

pytestmark = pytest.mark.django_db

REWARDS = "query { catalogRewards { name channel value currency } }"


def token(store) -> str:
    return str(store.saleor.app_token_for_dashboard(["MANAGE_DISCOUNTS"], email="m@shop.example"))


def test_a_rewards_currency_is_its_channels(store):
    set_earn_rule(store.install, channel_slug="default-channel", currency="usd", points_per_unit="1")
    set_redemption_rule(store.install, channel_slug="eu", currency="EUR", points_per_unit=100)
    for channel, name in (("default-channel", "$5 off"), ("eu", "€5 off"), ("nowhere", "5 off"), ("eu", "€10 off")):
        create_reward(store.install, name=name, kind="FIXED_AMOUNT", points_cost=100, channel_slug=channel, value="5")

    rewards = staff_call(REWARDS, token(store))["data"]["catalogRewards"]

    assert {reward["name"]: reward["currency"] for reward in rewards} == {
        "$5 off": "USD",
        "€5 off": "EUR",
        "€10 off": "EUR",
        "5 off": None,  # no rule and no order of that channel yet: unknown, said as null
    }


def test_a_channel_known_only_from_its_orders(store):
    reconcile_order(store.install, order("T3JkZXI6MQ==", user_id="VXNlcjox"))
    assert channel_currencies(store.install) == {"default-channel": "USD"}
