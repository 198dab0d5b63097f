"""GraphQL types of the tiers panel."""

import graphene

from saleor_loyalty.tiers import models
from saleor_loyalty.tiers.queries import TierMembers

BasisEnum = graphene.Enum.from_enum(models.Basis, description="What qualifies for a tier.")
WindowKindEnum = graphene.Enum.from_enum(models.WindowKind, description="Over which period it is counted.")


class TierThreshold(graphene.ObjectType):
    unit = graphene.String(required=True, description="A currency code, or PTS on the points basis.")
    qualify = graphene.Decimal(required=True, description="Reaching this (in the window) qualifies.")
    retain = graphene.Decimal(description="Staying above this keeps the tier (null: the qualify amount).")


class PanelTier(graphene.ObjectType):
    """A tier as the merchant defines it, with how many members it holds now."""

    name = graphene.String(required=True)
    rank = graphene.Int(required=True, description="1 is the lowest; a rank-1 tier with every threshold 0 is the base.")
    multiplier = graphene.Decimal(required=True, description="Earn multiplier of its members.")
    bonus_points = graphene.Int(required=True, description="Given once per qualification period on reaching it.")
    perks = graphene.List(graphene.NonNull(graphene.String), required=True)
    access = graphene.List(graphene.NonNull(graphene.String), required=True, description="Flags in customer metadata.")
    is_active = graphene.Boolean(required=True)
    is_base = graphene.Boolean(
        required=True, description="The base tier: everyone starts in it (so it cannot be sold as a paid plan)."
    )
    thresholds = graphene.List(graphene.NonNull(TierThreshold), required=True)
    members = graphene.Int(required=True, description="Members in the tier now.")

    @staticmethod
    def resolve_name(root: TierMembers, info: object) -> str:
        return root.tier.name

    @staticmethod
    def resolve_rank(root: TierMembers, info: object) -> int:
        return root.tier.rank

    @staticmethod
    def resolve_multiplier(root: TierMembers, info: object) -> object:
        return root.tier.multiplier

    @staticmethod
    def resolve_bonus_points(root: TierMembers, info: object) -> int:
        return root.tier.bonus_points

    @staticmethod
    def resolve_perks(root: TierMembers, info: object) -> list[str]:
        return list(root.tier.perks)

    @staticmethod
    def resolve_access(root: TierMembers, info: object) -> list[str]:
        return list(root.tier.access)

    @staticmethod
    def resolve_is_active(root: TierMembers, info: object) -> bool:
        return root.tier.is_active

    @staticmethod
    def resolve_is_base(root: TierMembers, info: object) -> bool:
        return root.is_base

    @staticmethod
    def resolve_thresholds(root: TierMembers, info: object) -> list[models.TierThreshold]:
        return sorted(root.tier.thresholds.all(), key=lambda t: t.unit)


class TierProgramSettings(graphene.ObjectType):
    is_active = graphene.Boolean(required=True)
    basis = graphene.Field(BasisEnum, required=True)
    window_kind = graphene.Field(WindowKindEnum, required=True)
    window_days = graphene.Int(required=True, description="Rolling windows: counted over this many days.")
    grace_days = graphene.Int(required=True, description="Days below a tier before a review moves a member down.")


class TierMovement(graphene.ObjectType):
    week = graphene.DateTime(required=True)
    upgrades = graphene.Int(required=True)
    downgrades = graphene.Int(required=True)


class TierMove(graphene.ObjectType):
    customer_id = graphene.ID()
    email = graphene.String(required=True)
    from_tier = graphene.String()
    to_tier = graphene.String()
    is_upgrade = graphene.Boolean(required=True)


class TierReviewPreview(graphene.ObjectType):
    """What the next review would change if it ran now (nothing is changed by asking)."""

    at = graphene.DateTime(required=True)
    upgrades = graphene.Int(required=True)
    downgrades = graphene.Int(required=True)
    moves = graphene.List(graphene.NonNull(TierMove), required=True, description="The first 100, upgrades first.")


class TierThresholdInput(graphene.InputObjectType):
    unit = graphene.String(required=True)
    qualify = graphene.Decimal(required=True)
    retain = graphene.Decimal()


class TierInput(graphene.InputObjectType):
    """A whole tier: saving replaces the tier of that name (its thresholds too)."""

    name = graphene.String(required=True)
    rank = graphene.Int(required=True)
    thresholds = graphene.List(graphene.NonNull(TierThresholdInput), required=True)
    multiplier = graphene.Decimal(description="Default 1.")
    bonus_points = graphene.Int(description="Default 0.")
    perks = graphene.List(graphene.NonNull(graphene.String))
    access = graphene.List(graphene.NonNull(graphene.String))
    is_active = graphene.Boolean(description="Default true.")


class TierProgramSettingsInput(graphene.InputObjectType):
    is_active = graphene.Boolean()
    basis = graphene.InputField(BasisEnum)
    window_kind = graphene.InputField(WindowKindEnum)
    window_days = graphene.Int()
    grace_days = graphene.Int()
