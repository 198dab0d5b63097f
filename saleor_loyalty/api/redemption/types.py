"""Rewards and redemptions as shoppers see them."""

from decimal import Decimal
from typing import Any

import graphene

from saleor_loyalty.core.money import quantum
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.redemption.models import Redemption, Reward

from ..core.ids import global_id
from ..core.types import Money


class RedemptionStatusEnum(graphene.Enum):
    PLACING = "placing"
    ACTIVE = "active"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"


class RewardType(graphene.ObjectType):
    class Meta:
        name = "Reward"

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    description = graphene.String(required=True)
    kind = graphene.String(required=True, description="FIXED_AMOUNT, PERCENTAGE, FREE_SHIPPING or FREE_PRODUCT")
    points_cost = graphene.Int(required=True)
    value = graphene.Decimal(description="Amount off (fixed) or percent off (percentage).")
    max_amount = graphene.Decimal()
    variant_id = graphene.ID()
    ends_at = graphene.DateTime()
    affordable = graphene.Boolean(required=True, description="Whether the shopper has enough available points.")

    @staticmethod
    def resolve_id(root: Reward, info: Any) -> str:
        return global_id("Reward", root.pk)

    @staticmethod
    def resolve_kind(root: Reward, info: Any) -> str:
        return str(root.kind).upper()

    @staticmethod
    def resolve_variant_id(root: Reward, info: Any) -> str | None:
        return root.variant_id or None

    @staticmethod
    def resolve_affordable(root: Reward, info: Any) -> bool:
        available = info.context.cache.get("available_points")
        if available is None:
            available = member_balances(info.context.member()).available
            info.context.cache["available_points"] = available
        return bool(root.points_cost <= available)


class RedemptionType(graphene.ObjectType):
    class Meta:
        name = "Redemption"

    id = graphene.ID(required=True)
    checkout_id = graphene.ID(required=True)
    points = graphene.Int(required=True)
    discount = graphene.Field(Money, required=True)
    status = graphene.Field(RedemptionStatusEnum, required=True)
    voucher_code = graphene.String()
    expires_at = graphene.DateTime()
    order_id = graphene.ID()
    points_returned = graphene.Int(required=True)
    reward = graphene.Field(RewardType)

    @staticmethod
    def resolve_id(root: Redemption, info: Any) -> str:
        return global_id("Redemption", root.pk)

    @staticmethod
    def resolve_status(root: Redemption, info: Any) -> Any:
        return RedemptionStatusEnum.get(str(getattr(root.status, "value", root.status)))

    @staticmethod
    def resolve_discount(root: Redemption, info: Any) -> dict[str, Any]:
        return {"amount": Decimal(root.amount).quantize(quantum(root.currency)), "currency": root.currency}
