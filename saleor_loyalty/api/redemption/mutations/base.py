"""What every redemption mutation shares: the payload shape and turning domain errors into ``errors``."""

from collections.abc import Callable
from typing import Any

import graphene

from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.redemption.errors import RedemptionError
from saleor_loyalty.redemption.models import Redemption

from ...errors import LoyaltyError
from ...points.types import PointsBalance
from ..types import RedemptionType


class RedemptionPayload(graphene.ObjectType):
    redemption = graphene.Field(RedemptionType)
    balance = graphene.Field(PointsBalance, description="The shopper's balance after the mutation.")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def run(info: Any, action: Callable[[], Redemption]) -> dict[str, Any]:
    """Run a redemption action for the signed-in shopper; domain refusals come back as ``errors``."""
    info.context.require_shopper()
    try:
        redemption = action()
    except RedemptionError as exc:
        return {
            "redemption": None,
            "balance": member_balances(info.context.member()),
            "errors": [{"field": exc.field, "code": exc.code, "message": exc.message}],
        }
    return {"redemption": redemption, "balance": member_balances(info.context.member()), "errors": []}
