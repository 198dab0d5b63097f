"""GraphQL types of the rewards catalog and campaigns as staff manage them."""

import graphene

from saleor_loyalty.program.models import Campaign as CampaignModel
from saleor_loyalty.redemption.models import Reward as RewardModel
from saleor_loyalty.redemption.models import RewardKind

from ..types import global_id

RewardKindEnum = graphene.Enum.from_enum(RewardKind, description="What a reward gives.")


class CatalogReward(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    kind = graphene.Field(RewardKindEnum, required=True)
    points_cost = graphene.Int(required=True)
    channel = graphene.String(required=True)
    value = graphene.Decimal(description="FIXED_AMOUNT: the amount off; PERCENTAGE: the percent off.")
    max_amount = graphene.Decimal(description="PERCENTAGE: at most this much off.")
    variant_id = graphene.ID(description="FREE_PRODUCT: the Saleor product variant given.")
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    per_shopper_limit = graphene.Int()
    is_active = graphene.Boolean(required=True)

    @staticmethod
    def resolve_id(root: RewardModel, info: object) -> str:
        return global_id("Reward", root.pk)

    @staticmethod
    def resolve_channel(root: RewardModel, info: object) -> str:
        return root.channel_slug

    @staticmethod
    def resolve_kind(root: RewardModel, info: object) -> str:
        return RewardKind(root.kind).value

    @staticmethod
    def resolve_variant_id(root: RewardModel, info: object) -> str | None:
        return root.variant_id or None


class CatalogCampaign(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    starts_at = graphene.DateTime(required=True)
    ends_at = graphene.DateTime(required=True)
    multiplier = graphene.Decimal(required=True)
    fixed_bonus = graphene.Int(required=True)
    channel = graphene.String(description="Null: every channel.")
    product_ids = graphene.List(graphene.NonNull(graphene.ID), required=True)
    category_ids = graphene.List(graphene.NonNull(graphene.ID), required=True)
    tiers = graphene.List(graphene.NonNull(graphene.String), required=True, description="Empty: everyone.")
    is_active = graphene.Boolean(required=True)

    @staticmethod
    def resolve_id(root: CampaignModel, info: object) -> str:
        return global_id("Campaign", root.pk)

    @staticmethod
    def resolve_channel(root: CampaignModel, info: object) -> str | None:
        return root.channel_slug or None


class RewardInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    description = graphene.String()
    kind = graphene.InputField(RewardKindEnum, required=True)
    points_cost = graphene.Int(required=True)
    channel = graphene.String(required=True)
    value = graphene.Decimal()
    max_amount = graphene.Decimal()
    variant_id = graphene.ID()
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    per_shopper_limit = graphene.Int()


class CampaignInput(graphene.InputObjectType):
    name = graphene.String(required=True)
    starts_at = graphene.DateTime(required=True)
    ends_at = graphene.DateTime(required=True)
    multiplier = graphene.Decimal(description="Default 1 (then a fixed bonus is needed).")
    fixed_bonus = graphene.Int(description="Points added to every order that has a targeted line.")
    channel = graphene.String(description="Empty: every channel.")
    product_ids = graphene.List(graphene.NonNull(graphene.ID))
    category_ids = graphene.List(graphene.NonNull(graphene.ID))
    tiers = graphene.List(graphene.NonNull(graphene.String))
