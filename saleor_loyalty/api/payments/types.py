"""The store's Stripe connection as the staff API shows it."""

from typing import Any

import graphene

from saleor_loyalty.payments.actions import webhook_url
from saleor_loyalty.payments.models import StripeAccount


class StripeMode(graphene.Enum):
    TEST = "test"
    LIVE = "live"


class StripeConnection(graphene.ObjectType):
    mode = graphene.Field(StripeMode, required=True, description="Test or live keys.")
    publishable_key = graphene.String(required=True, description='"" when none was given.')
    secret_key_ending = graphene.String(required=True, description="The secret key's last four characters.")
    webhook_url = graphene.String(
        required=True,
        description="Enter it in Stripe's dashboard as a webhook endpoint (docs/stripe.md lists the events).",
    )
    connected_at = graphene.DateTime(required=True)
    updated_at = graphene.DateTime(required=True)


def connection(account: StripeAccount) -> dict[str, Any]:
    return {
        "mode": "live" if account.livemode else "test",
        "publishable_key": account.publishable_key,
        "secret_key_ending": account.secret_key[-4:],
        "webhook_url": webhook_url(account),
        "connected_at": account.created_at,
        "updated_at": account.updated_at,
    }


class StripeKeysInput(graphene.InputObjectType):
    secret_key = graphene.String(required=True, description="sk_test_…, sk_live_… or a restricted key rk_….")
    webhook_secret = graphene.String(required=True, description="The endpoint's signing secret, whsec_….")
    publishable_key = graphene.String(description="pk_test_… or pk_live_…, of the same mode (optional).")
