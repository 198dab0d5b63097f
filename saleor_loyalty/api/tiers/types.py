"""A shopper's tier as the APIs show it (``myTier``, and the tier part of the customer widget)."""

from decimal import Decimal
from typing import Any

import graphene

from saleor_loyalty.core.money import quantum
from saleor_loyalty.tiers.models import POINTS_UNIT, TierChange
from saleor_loyalty.tiers.queries import TierStatus

from ..core.types import Money


def _plain(number: Decimal) -> Decimal:
    """1.5000 -> 1.5 and 2.0000 -> 2 (never 2E+0)."""
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


def _in_unit(amount: Decimal, unit: str | None) -> Decimal:
    """Money at its currency's precision; points as whole numbers."""
    if unit is None or unit == POINTS_UNIT:
        return amount.quantize(Decimal(1))
    return amount.quantize(quantum(unit))


class TierBasis(graphene.Enum):
    SPEND = "spend"
    POINTS = "points"


class LoyaltyTier(graphene.ObjectType):
    name = graphene.String(required=True)
    rank = graphene.Int(required=True, description="1 is the lowest tier.")
    perks = graphene.List(graphene.NonNull(graphene.String), required=True)
    multiplier = graphene.Decimal(required=True, description="Points earned are multiplied by this.")


class CurrentTier(LoyaltyTier):
    since = graphene.DateTime(description="When the shopper reached this tier.")
    pinned = graphene.Boolean(required=True, description="The store set this tier as the shopper's floor.")
    paid = graphene.Boolean(required=True, description="A paid membership holds the shopper at this tier.")
    grace_ends_at = graphene.DateTime(
        description="Set when qualifying activity fell below what keeps this tier: the tier is reviewed after it."
    )


class NextTier(graphene.ObjectType):
    name = graphene.String(required=True)
    rank = graphene.Int(required=True)
    threshold = graphene.Decimal(
        description="What qualifies, in the currency of `progress` (points on the points basis)."
    )
    thresholds = graphene.List(
        graphene.NonNull(Money),
        required=True,
        description="What qualifies, per currency: reaching any one of them is enough (empty on the points basis).",
    )


class TierProgress(graphene.ObjectType):
    basis = graphene.Field(TierBasis, required=True)
    amount = graphene.Decimal(required=True, description="Qualifying spend (or points) in the window so far.")
    amount_to_go = graphene.Decimal(description="Spend still needed for the next tier (spend basis).")
    currency = graphene.String(description="Currency of amount and amountToGo (spend basis).")
    points_to_go = graphene.Int(description="Points still needed for the next tier (points basis).")
    window_starts_at = graphene.DateTime(required=True)
    window_ends_at = graphene.DateTime(description="End of the calendar year; null for a rolling window.")


class TierHistoryEntry(graphene.ObjectType):
    from_tier = graphene.String()
    to_tier = graphene.String()
    reason = graphene.String(required=True, description="ORDER, REVIEW, PIN or PAID (a paid membership).")
    at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_from_tier(root: TierChange, info: Any) -> str | None:
        return root.from_tier.name if root.from_tier else None

    @staticmethod
    def resolve_to_tier(root: TierChange, info: Any) -> str | None:
        return root.to_tier.name if root.to_tier else None

    @staticmethod
    def resolve_reason(root: TierChange, info: Any) -> str:
        return root.reason.upper()


class MyTier(graphene.ObjectType):
    current = graphene.Field(CurrentTier, description="Null without a tier.")
    next = graphene.Field(NextTier, description="Null at the top tier.")
    progress = graphene.Field(TierProgress, description="Null when the store runs no tiers.")
    history = graphene.List(graphene.NonNull(TierHistoryEntry), required=True, description="Newest first.")

    @staticmethod
    def resolve_current(root: TierStatus, info: Any) -> dict[str, Any] | None:
        if root.tier is None:
            return None
        state = root.state
        return {
            "name": root.tier.name,
            "rank": root.tier.rank,
            "perks": list(root.tier.perks),
            "multiplier": _plain(root.tier.multiplier),
            "since": state.tier_since if state else None,
            "pinned": bool(state and state.pinned_tier_id and state.pinned_tier_id == root.tier.pk),
            "paid": bool(state and state.paid_tier_id and state.paid_tier_id == root.tier.pk),
            "grace_ends_at": root.grace_ends_at,
        }

    @staticmethod
    def resolve_next(root: TierStatus, info: Any) -> dict[str, Any] | None:
        if root.next_tier is None:
            return None
        progress = root.progress
        unit = progress.unit if progress and progress.unit else POINTS_UNIT
        return {
            "name": root.next_tier.name,
            "rank": root.next_tier.rank,
            "threshold": next((_in_unit(t.qualify, unit) for t in root.next_thresholds if t.unit == unit), None),
            "thresholds": [
                {"amount": _in_unit(t.qualify, t.unit), "currency": t.unit}
                for t in root.next_thresholds
                if t.unit != POINTS_UNIT
            ],
        }

    @staticmethod
    def resolve_progress(root: TierStatus, info: Any) -> dict[str, Any] | None:
        progress = root.progress
        if progress is None:
            return None
        points = progress.basis == "points"
        to_go = progress.amount_to_go
        return {
            "basis": progress.basis,
            "amount": _in_unit(progress.amount, progress.unit),
            "amount_to_go": None if points or to_go is None else _in_unit(to_go, progress.unit),
            "currency": progress.unit,
            "points_to_go": int(to_go) if points and to_go is not None else None,
            "window_starts_at": progress.window.starts_at,
            "window_ends_at": progress.window.ends_at,
        }

    @staticmethod
    def resolve_history(root: TierStatus, info: Any) -> list[TierChange]:
        return root.history
