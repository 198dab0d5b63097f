"""``redeemReward``: take a reward from the catalog onto the shopper's checkout."""

from typing import Any

import graphene

from saleor_loyalty.redemption import actions
from saleor_loyalty.redemption.models import Redemption

from ...core.ids import from_global_id
from .base import RedemptionPayload, run


def resolve_redeem_reward(
    root: Any, info: Any, checkout_id: str, reward_id: str, idempotency_key: str
) -> dict[str, Any]:
    def action() -> Redemption:
        request = actions.RedeemRequest(
            checkout_id=checkout_id, idempotency_key=idempotency_key, reward_id=from_global_id(reward_id, "Reward")
        )
        return actions.redeem(info.context.require_shopper(), request)

    return run(info, action)


redeem_reward = graphene.Field(
    RedemptionPayload,
    required=True,
    checkout_id=graphene.ID(required=True),
    reward_id=graphene.ID(required=True),
    idempotency_key=graphene.String(required=True),
    resolver=resolve_redeem_reward,
    description="Spend points on a reward (amount or percent off, free shipping, a free product).",
)
