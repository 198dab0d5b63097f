"""``updateMembershipSettings``: where Stripe Checkout may send shoppers back to (the storefront's origins)."""

from typing import Any

import graphene

from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, set_return_origins

from .. import PERMISSION
from ..types import MembershipSettingsPayload
from .base import refusal

MAX_ORIGINS = 20


def resolve_update_membership_settings(root: Any, info: Any, return_origins: list[str]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    if len(return_origins) > MAX_ORIGINS:
        error = {"field": "returnOrigins", "code": "INVALID", "message": f"at most {MAX_ORIGINS} origins"}
        return {"settings": None, "errors": [error]}
    try:
        row = set_return_origins(staff.install, return_origins, actor=staff.email or staff.user_id)
    except InvalidMembershipConfig as exc:
        return {"settings": None, "errors": [refusal(exc, "return_origins")]}
    return {"settings": {"return_origins": row.return_origins}, "errors": []}


update_membership_settings_field = graphene.Field(
    MembershipSettingsPayload,
    required=True,
    return_origins=graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="https origins (https://shop.example.com), replacing the list.",
    ),
    resolver=resolve_update_membership_settings,
    description="Where Checkout may return shoppers (MANAGE_DISCOUNTS). Recorded in settingsChanges.",
)
