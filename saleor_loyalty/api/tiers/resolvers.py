"""``myTier``: the signed-in shopper's tier and progress."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.tiers.queries import TierStatus, tier_status

from ..context import RequestContext


def resolve_my_tier(root: Any, info: Any, currency: str | None = None) -> TierStatus:
    context: RequestContext = info.context
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        raise GraphQLError("currency must be an ISO 4217 code", extensions={"code": "INVALID"})
    return tier_status(context.member(), currency=currency)
