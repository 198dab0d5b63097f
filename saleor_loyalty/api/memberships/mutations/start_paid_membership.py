"""``startPaidMembership``: a Stripe Checkout Session URL for the signed-in shopper to subscribe to a plan."""

from typing import Any

import graphene

from saleor_loyalty.core.ratelimit import RateLimited, hit
from saleor_loyalty.memberships.checkout import MembershipError, start_membership

from ...core.ids import from_global_id
from ..types import StartPaidMembershipPayload

START_LIMIT_PER_MINUTE = 10
_CODES = {"INVALID_URL": "INVALID", "STRIPE_UNAVAILABLE": "STRIPE_ERROR", "STRIPE_REFUSED": "STRIPE_ERROR"}


def resolve_start_paid_membership(
    root: Any, info: Any, plan: str, success_url: str, cancel_url: str, idempotency_key: str | None = None
) -> dict[str, Any]:
    shopper = info.context.require_shopper()
    try:
        hit(f"membership-start:{shopper.install.pk}:{shopper.user_id}", START_LIMIT_PER_MINUTE, 60)
    except RateLimited:
        error = {"field": None, "code": "RATE_LIMITED", "message": "too many attempts; try again in a minute"}
        return {"url": None, "session_id": None, "errors": [error]}
    try:
        started = start_membership(
            info.context.member(),  # always the caller: nothing in the request names a member
            from_global_id(plan, "PaidPlan"),
            success_url=success_url,
            cancel_url=cancel_url,
            email=shopper.email,
            idempotency_key=idempotency_key,
        )
    except MembershipError as exc:
        error = {"field": exc.field, "code": _CODES.get(exc.code, exc.code), "message": exc.message}
        return {"url": None, "session_id": None, "errors": [error]}
    return {"url": started.url, "session_id": started.session_id, "errors": []}


start_paid_membership = graphene.Field(
    StartPaidMembershipPayload,
    required=True,
    plan=graphene.ID(required=True, description="A PaidPlan id (paidPlans)."),
    success_url=graphene.String(
        required=True, description="Where Stripe sends the shopper after paying: https, on the store's storefront."
    ),
    cancel_url=graphene.String(required=True, description="Where Stripe sends the shopper if they go back."),
    idempotency_key=graphene.String(description="The same key for a retried request gives the same Checkout."),
    resolver=resolve_start_paid_membership,
    description=(
        "Subscribe to a paid plan: returns a Stripe Checkout URL. The tier is granted when Stripe confirms the "
        "payment (by webhook), not by this call."
    ),
)
