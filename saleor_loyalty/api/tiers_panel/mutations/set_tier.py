"""``setTier`` and ``updateTierSettings``: staff define tiers and how they qualify from the tiers panel."""

from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import Undefined

from saleor_loyalty.tiers.configuration import InvalidTierConfig, configure_tiers, set_tier
from saleor_loyalty.tiers.models import TierSettings
from saleor_loyalty.tiers.queries import tiers_with_members

from ...errors import LoyaltyError, given
from .. import PROGRAM_PERMISSION
from ..types import PanelTier, TierInput, TierProgramSettings, TierProgramSettingsInput


def _error(exc: InvalidTierConfig) -> dict[str, Any]:
    return {"field": to_camel_case(exc.field) if exc.field else None, "code": "INVALID", "message": str(exc)}


class SetTierPayload(graphene.ObjectType):
    tier = graphene.Field(PanelTier, description="The tier after the mutation (null when refused).")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_set_tier(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    thresholds = {t["unit"]: t["qualify"] for t in input["thresholds"]}
    retain = {t["unit"]: t["retain"] for t in input["thresholds"] if t.get("retain") not in (None, Undefined)}
    optional = {name: input.get(name) for name in ("multiplier", "bonus_points", "perks", "access", "is_active")}
    try:
        tier = set_tier(
            staff.install,
            name=input["name"],
            rank=input["rank"],
            thresholds=thresholds,
            retain=retain or None,
            multiplier=1 if optional["multiplier"] is None else optional["multiplier"],
            bonus_points=optional["bonus_points"] or 0,
            perks=optional["perks"] or (),
            access=optional["access"] or (),
            is_active=True if optional["is_active"] is None else optional["is_active"],
            actor=staff.email or staff.user_id,
        )
    except InvalidTierConfig as exc:
        return {"tier": None, "errors": [_error(exc)]}
    counted = next(entry for entry in tiers_with_members(staff.install.pk) if entry.tier.pk == tier.pk)
    return {"tier": counted, "errors": []}


class TierSettingsPayload(graphene.ObjectType):
    settings = graphene.Field(TierProgramSettings)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_update_tier_settings(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    changes = {name: value for name, value in given(input).items() if value is not None}
    try:
        settings_row: TierSettings = configure_tiers(staff.install, actor=staff.email or staff.user_id, **changes)
    except InvalidTierConfig as exc:
        return {"settings": None, "errors": [_error(exc)]}
    return {"settings": settings_row, "errors": []}


set_tier_field = graphene.Field(
    SetTierPayload,
    required=True,
    input=graphene.Argument(TierInput, required=True),
    resolver=resolve_set_tier,
    description="Create or replace a tier (MANAGE_DISCOUNTS). Members move by their next order or the review.",
)
update_tier_settings_field = graphene.Field(
    TierSettingsPayload,
    required=True,
    input=graphene.Argument(TierProgramSettingsInput, required=True),
    resolver=resolve_update_tier_settings,
    description="Change how tiers qualify: basis, window, grace (MANAGE_DISCOUNTS). Fields left out stay.",
)
