"""``createReward`` / ``deactivateReward`` and ``createCampaign`` / ``deactivateCampaign`` (and the payloads and
errors ``updateReward`` / ``updateCampaign`` share)."""

import enum
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from saleor_loyalty.program.configuration import (
    InvalidRule,
    check_campaign_terms,
    create_campaign,
    deactivate_campaign,
)
from saleor_loyalty.program.queries import find_campaign
from saleor_loyalty.redemption.configuration import InvalidConfiguration, create_reward, deactivate_reward
from saleor_loyalty.redemption.rewards import find_reward

from ...core.ids import from_global_id
from ...errors import LoyaltyError
from .. import PERMISSION
from ..targets import unknown_target_errors
from ..types import CampaignInput, CatalogCampaign, CatalogReward, RewardInput

_FIELDS = {"channel_slug": "channel"}


def refusal(exc: InvalidRule | InvalidConfiguration) -> list[dict[str, Any]]:
    field = _FIELDS.get(exc.field or "", to_camel_case(exc.field)) if exc.field else None
    return [{"field": field, "code": "INVALID", "message": str(exc)}]


def not_found(what: str) -> list[dict[str, Any]]:
    return [{"field": "id", "code": "NOT_FOUND", "message": f"no such {what}"}]


class RewardPayload(graphene.ObjectType):
    reward = graphene.Field(CatalogReward)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


class CampaignPayload(graphene.ObjectType):
    campaign = graphene.Field(CatalogCampaign)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_create_reward(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    kind = input["kind"]
    try:
        reward = create_reward(
            staff.install,
            name=input["name"],
            description=input.get("description") or "",
            kind=kind.value if isinstance(kind, enum.Enum) else kind,
            points_cost=input["points_cost"],
            channel_slug=input["channel"],
            value=input.get("value"),
            max_amount=input.get("max_amount"),
            variant_id=input.get("variant_id") or "",
            starts_at=input.get("starts_at"),
            ends_at=input.get("ends_at"),
            per_shopper_limit=input.get("per_shopper_limit"),
            actor=staff.email or staff.user_id,
        )
    except InvalidConfiguration as exc:
        return {"reward": None, "errors": refusal(exc)}
    return {"reward": reward, "errors": []}


def resolve_deactivate_reward(root: Any, info: Any, id: str) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    reward = find_reward(staff.install, from_global_id(id, "Reward"))
    if reward is None:
        return {"reward": None, "errors": not_found("reward")}
    return {"reward": deactivate_reward(reward, actor=staff.email or staff.user_id), "errors": []}


def resolve_create_campaign(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    terms = {
        "name": input["name"],
        "starts_at": input["starts_at"],
        "ends_at": input["ends_at"],
        "multiplier": input.get("multiplier") or 1,
        "fixed_bonus": input.get("fixed_bonus") or 0,
        "channel_slug": input.get("channel") or "",
        "product_ids": input.get("product_ids") or [],
        "category_ids": input.get("category_ids") or [],
        "tiers": input.get("tiers") or [],
    }
    try:
        check_campaign_terms(**terms)  # the domain's own checks first: a refusal never costs a call to the store
    except InvalidRule as exc:
        return {"campaign": None, "errors": refusal(exc)}
    errors = unknown_target_errors(staff.install, terms["product_ids"], terms["category_ids"])
    if errors:
        return {"campaign": None, "errors": errors}
    try:
        campaign = create_campaign(staff.install, **terms, actor=staff.email or staff.user_id)
    except InvalidRule as exc:
        return {"campaign": None, "errors": refusal(exc)}
    return {"campaign": campaign, "errors": []}


def resolve_deactivate_campaign(root: Any, info: Any, id: str) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    campaign = find_campaign(staff.install, from_global_id(id, "Campaign"))
    if campaign is None:
        return {"campaign": None, "errors": not_found("campaign")}
    return {"campaign": deactivate_campaign(campaign, actor=staff.email or staff.user_id), "errors": []}


create_reward_field = graphene.Field(
    RewardPayload,
    required=True,
    input=graphene.Argument(RewardInput, required=True),
    resolver=resolve_create_reward,
    description="Add a reward to a channel's catalog (MANAGE_DISCOUNTS).",
)
deactivate_reward_field = graphene.Field(
    RewardPayload,
    required=True,
    id=graphene.ID(required=True),
    resolver=resolve_deactivate_reward,
    description="Stop offering a reward; redemptions on checkouts keep theirs (MANAGE_DISCOUNTS).",
)
create_campaign_field = graphene.Field(
    CampaignPayload,
    required=True,
    input=graphene.Argument(CampaignInput, required=True),
    resolver=resolve_create_campaign,
    description="A bonus campaign by window, channel, products or categories, and tiers (MANAGE_DISCOUNTS).",
)
deactivate_campaign_field = graphene.Field(
    CampaignPayload,
    required=True,
    id=graphene.ID(required=True),
    resolver=resolve_deactivate_campaign,
    description="Stop a campaign now; orders keep what they earned by it (MANAGE_DISCOUNTS).",
)
