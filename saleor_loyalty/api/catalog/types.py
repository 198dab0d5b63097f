"""GraphQL types of the rewards catalog and campaigns as staff manage them."""

from typing import Any

import graphene

from saleor_loyalty.program.configuration import campaign_status
from saleor_loyalty.program.models import Campaign as CampaignModel
from saleor_loyalty.program.queries import channel_currencies
from saleor_loyalty.redemption.models import Reward as RewardModel
from saleor_loyalty.redemption.models import RewardKind

from ..core.ids import global_id
from .targets import target_items

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
    currency = graphene.String(
        description="The channel's currency (ISO 4217), in which `value` (FIXED_AMOUNT) and `maxAmount` are; null "
        "while the app knows of no earn rule, redemption rule or order of that channel."
    )
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
    def resolve_currency(root: RewardModel, info: Any) -> str | None:
        cache = info.context.cache  # once per request, for every reward listed
        if "channel_currencies" not in cache:
            cache["channel_currencies"] = channel_currencies(root.install)
        currencies: dict[str, str] = cache["channel_currencies"]
        return currencies.get(root.channel_slug)

    @staticmethod
    def resolve_kind(root: RewardModel, info: object) -> str:
        return RewardKind(root.kind).value

    @staticmethod
    def resolve_variant_id(root: RewardModel, info: object) -> str | None:
        return root.variant_id or None


class StoreItem(graphene.ObjectType):
    """A product or category of the store, as Saleor names it now."""

    id = graphene.ID(required=True, description="Its Saleor id.")
    name = graphene.String(description="Null: the store has no such item (deleted?), or could not be asked now.")
    detail = graphene.String(
        required=True, description="Where it sits: a product's category, a category's parent (empty: none)."
    )


class StoreChannel(graphene.ObjectType):
    """A channel of the store, as Saleor has it now."""

    id = graphene.ID(required=True, description="Its Saleor id.")
    slug = graphene.String(required=True)
    name = graphene.String(required=True)
    currency = graphene.String(required=True, description="ISO 4217 code of the channel's currency.")
    is_active = graphene.Boolean(required=True)


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
    products = graphene.List(
        graphene.NonNull(StoreItem),
        required=True,
        description="The products it targets, named as in the store now (empty: every product).",
    )
    categories = graphene.List(
        graphene.NonNull(StoreItem),
        required=True,
        description="The categories it targets, named as in the store now (empty: every category).",
    )
    tiers = graphene.List(graphene.NonNull(graphene.String), required=True, description="Empty: everyone.")
    is_active = graphene.Boolean(required=True)
    status = graphene.String(
        required=True, description="SCHEDULED, RUNNING, ENDED or STOPPED (switched off): what can still be edited."
    )

    @staticmethod
    def resolve_id(root: CampaignModel, info: object) -> str:
        return global_id("Campaign", root.pk)

    @staticmethod
    def resolve_products(root: CampaignModel, info: Any) -> list[Any]:
        return target_items(info, root, root.product_ids)

    @staticmethod
    def resolve_categories(root: CampaignModel, info: Any) -> list[Any]:
        return target_items(info, root, root.category_ids)

    @staticmethod
    def resolve_status(root: CampaignModel, info: object) -> str:
        return campaign_status(root)

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


class RewardUpdateInput(graphene.InputObjectType):
    """What may change in a reward: fields left out stay, null clears an optional one. Its kind and channel
    never change (switch it off and add a new reward); a switched-off reward takes a new name or description only."""

    name = graphene.String()
    description = graphene.String()
    points_cost = graphene.Int()
    value = graphene.Decimal()
    max_amount = graphene.Decimal()
    variant_id = graphene.ID()
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    per_shopper_limit = graphene.Int()


class CampaignUpdateInput(graphene.InputObjectType):
    """What may change in a campaign: fields left out stay, null clears an optional one (channel, products,
    categories, tiers). Scheduled: everything (not a start in the past); running: all but the start (not an end in
    the past); ended or switched off: the name only."""

    name = graphene.String()
    starts_at = graphene.DateTime()
    ends_at = graphene.DateTime()
    multiplier = graphene.Decimal()
    fixed_bonus = graphene.Int()
    channel = graphene.String(description="Empty or null: every channel.")
    product_ids = graphene.List(graphene.NonNull(graphene.ID))
    category_ids = graphene.List(graphene.NonNull(graphene.ID))
    tiers = graphene.List(graphene.NonNull(graphene.String))
