"""``redeemPoints``: spend points as a discount on the shopper's checkout."""

from decimal import Decimal
from typing import Any

import graphene

from saleor_loyalty.redemption import actions
from saleor_loyalty.redemption.models import Redemption

from .base import RedemptionPayload, run


def resolve_redeem_points(
    root: Any,
    info: Any,
    checkout_id: str,
    idempotency_key: str,
    points: int | None = None,
    amount: Decimal | None = None,
) -> dict[str, Any]:
    def action() -> Redemption:
        request = actions.RedeemRequest(
            checkout_id=checkout_id, idempotency_key=idempotency_key, points=points, amount=amount
        )
        return actions.redeem(info.context.require_shopper(), request)

    return run(info, action)


redeem_points = graphene.Field(
    RedemptionPayload,
    required=True,
    checkout_id=graphene.ID(required=True),
    points=graphene.Int(description="Points to spend. Give this or amount."),
    amount=graphene.Decimal(description="Discount wanted, in the checkout's currency. Give this or points."),
    idempotency_key=graphene.String(
        required=True, description="Unique per attempt; a retry with the same key returns the same result."
    ),
    resolver=resolve_redeem_points,
    description="Spend points as a discount on your checkout (replaces an earlier redemption on it).",
)
