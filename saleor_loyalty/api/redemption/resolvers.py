"""Reads of redemption for the signed-in shopper: the rewards they can take, and their checkout's redemption."""

from typing import Any

from saleor_loyalty.redemption.models import Redemption, Reward
from saleor_loyalty.redemption.rewards import available_rewards, open_redemption


def resolve_rewards(root: Any, info: Any, channel: str) -> list[Reward]:
    shopper = info.context.require_shopper()
    return list(available_rewards(shopper.install, channel))


def resolve_active_redemption(root: Any, info: Any, checkout_id: str) -> Redemption | None:
    return open_redemption(info.context.member(), checkout_id)
