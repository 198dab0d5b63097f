"""``connectStripe`` and ``disconnectStripe``: the merchant connects the store's Stripe account from the dashboard."""

import logging
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from saleor_loyalty.memberships.configuration import connect_stripe_account, disconnect_stripe_account
from saleor_loyalty.payments.actions import InvalidStripeKeys

from ...errors import LoyaltyError
from .. import PERMISSION
from ..types import StripeConnection, StripeKeysInput, connection

logger = logging.getLogger(__name__)


class StripeConnectionPayload(graphene.ObjectType):
    connection = graphene.Field(StripeConnection, description="The connection after the mutation (null: none).")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_connect_stripe(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        account = connect_stripe_account(
            staff.install,
            secret_key=input["secret_key"],
            webhook_secret=input["webhook_secret"],
            publishable_key=input.get("publishable_key") or "",
            actor=staff.email or staff.user_id,
        )
    except InvalidStripeKeys as exc:
        errors = [
            {"field": to_camel_case(field), "code": "INVALID", "message": why} for field, why in exc.errors.items()
        ]
        return {"connection": None, "errors": errors}
    logger.info(
        "stripe connected",
        extra={"data": {"by": staff.email or staff.user_id, "livemode": account.livemode}},
    )
    return {"connection": connection(account), "errors": []}


def resolve_disconnect_stripe(root: Any, info: Any) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    if disconnect_stripe_account(staff.install, actor=staff.email or staff.user_id):
        logger.info("stripe disconnected", extra={"data": {"by": staff.email or staff.user_id}})
    return {"connection": None, "errors": []}


connect_stripe_field = graphene.Field(
    StripeConnectionPayload,
    required=True,
    input=graphene.Argument(StripeKeysInput, required=True),
    resolver=resolve_connect_stripe,
    description="Connect (or replace) the store's Stripe keys, stored encrypted (MANAGE_DISCOUNTS). The webhook URL "
    "stays the same across replacements.",
)
disconnect_stripe_field = graphene.Field(
    StripeConnectionPayload,
    required=True,
    resolver=resolve_disconnect_stripe,
    description="Forget the store's Stripe keys (MANAGE_DISCOUNTS); Stripe payouts wait until it is connected again.",
)
