"""Reads of the signed-in shopper's points: their account (``me``) and what a checkout would earn."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.members.models import Member
from saleor_loyalty.program.queries import Estimate, estimate_for_checkout
from saleor_loyalty.redemption import saleor_calls
from saleor_loyalty.saleor.budget import SaleorCallBudgetExceeded
from saleor_loyalty.saleor.client import SaleorError

from ..context import RequestContext


def resolve_me(root: Any, info: Any) -> Member:
    context: RequestContext = info.context
    return context.member()


def resolve_estimate_points(root: Any, info: Any, checkout_id: str) -> Estimate:
    shopper = info.context.require_shopper()
    try:
        checkout = saleor_calls.shopper_checkout(shopper, checkout_id)
    except SaleorCallBudgetExceeded as exc:
        raise GraphQLError(str(exc), extensions={"code": "TOO_MANY_SALEOR_CALLS"}) from exc
    except SaleorError as exc:
        raise GraphQLError(f"could not read the checkout: {exc}", extensions={"code": "SALEOR_ERROR"}) from exc
    if checkout is None or checkout.user_id != shopper.user_id:
        raise GraphQLError("no such checkout for this shopper", extensions={"code": "NOT_FOUND"})
    return estimate_for_checkout(
        shopper.install,
        channel_slug=checkout.channel_slug,
        currency=checkout.currency,
        lines=checkout.lines,
        total_gross=checkout.total_gross,
        total_net=checkout.total_net,
        shipping_gross=checkout.shipping_gross,
        shipping_net=checkout.shipping_net,
    )
