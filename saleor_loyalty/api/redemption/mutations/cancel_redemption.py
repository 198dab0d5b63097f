"""``cancelRedemption``: take the points off the checkout and give them back."""

from typing import Any

import graphene

from saleor_loyalty.redemption import actions
from saleor_loyalty.redemption.models import Redemption

from .base import RedemptionPayload, run


def resolve_cancel_redemption(root: Any, info: Any, checkout_id: str) -> dict[str, Any]:
    def action() -> Redemption:
        return actions.cancel(info.context.require_shopper(), checkout_id)

    return run(info, action)


cancel_redemption = graphene.Field(
    RedemptionPayload,
    required=True,
    checkout_id=graphene.ID(required=True),
    resolver=resolve_cancel_redemption,
    description="Remove the points discount from your checkout; the points become available again.",
)
