"""``pinTier`` / ``unpinTier``: staff keep a customer at a tier or above (a floor reviews never go below)."""

from typing import Any

import graphene

from saleor_loyalty.members.queries import MemberNotFound, find_member
from saleor_loyalty.tiers.configuration import InvalidTierConfig, pin_tier, unpin_tier
from saleor_loyalty.tiers.models import MemberTier

from ...errors import LoyaltyError
from .. import CUSTOMER_PERMISSION


class PinTierPayload(graphene.ObjectType):
    tier = graphene.String(description="The customer's tier after the mutation.")
    pinned_tier = graphene.String(description="The floor the customer is pinned at, if any.")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def _answer(state: MemberTier | None) -> dict[str, Any]:
    return {
        "tier": state.tier.name if state is not None and state.tier else None,
        "pinned_tier": state.pinned_tier.name if state is not None and state.pinned_tier else None,
        "errors": [],
    }


def _not_found(exc: Exception) -> dict[str, Any]:
    return {
        "tier": None,
        "pinned_tier": None,
        "errors": [{"field": "customerId", "code": "NOT_FOUND", "message": str(exc)}],
    }


def resolve_pin_tier(root: Any, info: Any, customer_id: str, tier: str, reason: str) -> dict[str, Any]:
    staff = info.context.require_staff(CUSTOMER_PERMISSION)
    try:
        member = find_member(staff.install, user_id=customer_id)
    except MemberNotFound as exc:
        return _not_found(exc)
    try:
        return _answer(pin_tier(member, tier, reason=reason, by=staff.email or staff.user_id))
    except InvalidTierConfig as exc:
        field = "reason" if "reason" in str(exc) else "tier"
        return {"tier": None, "pinned_tier": None, "errors": [{"field": field, "code": "INVALID", "message": str(exc)}]}


def resolve_unpin_tier(root: Any, info: Any, customer_id: str) -> dict[str, Any]:
    staff = info.context.require_staff(CUSTOMER_PERMISSION)
    try:
        member = find_member(staff.install, user_id=customer_id)
    except MemberNotFound as exc:
        return _not_found(exc)
    return _answer(unpin_tier(member))


pin_tier_field = graphene.Field(
    PinTierPayload,
    required=True,
    customer_id=graphene.ID(required=True),
    tier=graphene.String(required=True, description="The tier's name."),
    reason=graphene.String(required=True, description="Why; kept with the pin and its tier change."),
    resolver=resolve_pin_tier,
    description="Keep a customer at this tier or above; moves them up now if needed (MANAGE_USERS).",
)
unpin_tier_field = graphene.Field(
    PinTierPayload,
    required=True,
    customer_id=graphene.ID(required=True),
    resolver=resolve_unpin_tier,
    description="Remove a customer's pin; they keep their tier until a review finds them below it (MANAGE_USERS).",
)
