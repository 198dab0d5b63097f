"""``setEarningAction``, ``createApiKey`` (the key shown once) and ``revokeApiKey``."""

from typing import Any

import graphene

from saleor_loyalty.program.earning_actions import create_api_key, revoke_api_key, set_earning_action
from saleor_loyalty.program.settings_changes import SettingsInvalid

from ...core.ids import from_global_id
from ...errors import LoyaltyError, invalid_fields
from .. import PERMISSION
from ..types import ApiKey, EarningAction


class EarningActionPayload(graphene.ObjectType):
    action = graphene.Field(EarningAction)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_set_earning_action(root: Any, info: Any, **fields: Any) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        action = set_earning_action(staff.install, actor=staff.email or staff.user_id, **fields)
    except SettingsInvalid as exc:
        return {"action": None, "errors": invalid_fields(exc.errors)}
    return {"action": action, "errors": []}


class CreateApiKeyPayload(graphene.ObjectType):
    api_key = graphene.Field(ApiKey)
    key = graphene.String(description="The key itself: shown this once, never again. Store it now.")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_create_api_key(root: Any, info: Any, name: str) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        issued = create_api_key(staff.install, name, actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        return {"api_key": None, "key": None, "errors": invalid_fields(exc.errors)}
    return {"api_key": issued.record, "key": issued.key, "errors": []}


class RevokeApiKeyPayload(graphene.ObjectType):
    api_key = graphene.Field(ApiKey)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_revoke_api_key(root: Any, info: Any, id: str) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        record = revoke_api_key(staff.install, from_global_id(id, "ApiKey"), actor=staff.email or staff.user_id)
    except SettingsInvalid:
        return {"api_key": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no such API key"}]}
    return {"api_key": record, "errors": []}


set_earning_action_field = graphene.Field(
    EarningActionPayload,
    required=True,
    code=graphene.String(required=True),
    name=graphene.String(required=True),
    points=graphene.Int(required=True),
    max_per_period=graphene.Int(),
    period_days=graphene.Int(default_value=30),
    is_active=graphene.Boolean(default_value=True),
    resolver=resolve_set_earning_action,
    description="Create or change a custom earning action; switch it off with isActive: false (MANAGE_DISCOUNTS).",
)
create_api_key_field = graphene.Field(
    CreateApiKeyPayload,
    required=True,
    name=graphene.String(required=True, description="What uses it, e.g. 'reviews service'."),
    resolver=resolve_create_api_key,
    description="A server key for recordEvent; the answer is the only time the key is shown (MANAGE_DISCOUNTS).",
)
revoke_api_key_field = graphene.Field(
    RevokeApiKeyPayload,
    required=True,
    id=graphene.ID(required=True),
    resolver=resolve_revoke_api_key,
    description="Revoke a key at once (MANAGE_DISCOUNTS).",
)
