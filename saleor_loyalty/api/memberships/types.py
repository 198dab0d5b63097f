"""Paid plans and the shopper's membership as the storefront API shows them."""

from typing import Any

import graphene

from saleor_loyalty.core.money import quantum
from saleor_loyalty.memberships.models import Membership, MembershipBenefit, PaidPlan
from saleor_loyalty.memberships.queries import latest_benefits

from ..core.ids import global_id
from ..core.types import Money
from ..errors import LoyaltyError


class PaidPlanType(graphene.ObjectType):
    class Meta:
        name = "PaidPlan"

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    tier = graphene.String(required=True, description="The tier the plan holds its members at (or above).")
    price = graphene.Field(Money, required=True)
    interval = graphene.String(required=True, description="DAY, WEEK, MONTH or YEAR.")
    interval_count = graphene.Int(required=True, description="Billed every intervalCount intervals.")
    grace_days = graphene.Int(required=True, description="Days the tier is kept after a failed payment.")
    benefits = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Issued once per paid period: FREE_SHIPPING, FIXED_AMOUNT.",
    )

    @staticmethod
    def resolve_id(root: PaidPlan, info: Any) -> str:
        return global_id("PaidPlan", root.pk)

    @staticmethod
    def resolve_tier(root: PaidPlan, info: Any) -> str:
        return root.tier.name

    @staticmethod
    def resolve_price(root: PaidPlan, info: Any) -> dict[str, Any]:
        return {"amount": root.amount.quantize(quantum(root.currency)), "currency": root.currency}

    @staticmethod
    def resolve_interval(root: PaidPlan, info: Any) -> str:
        return root.interval.upper()

    @staticmethod
    def resolve_benefits(root: PaidPlan, info: Any) -> list[str]:
        return [str(b["kind"]).upper() for b in root.benefits]


class MembershipBenefitType(graphene.ObjectType):
    class Meta:
        name = "MembershipBenefit"

    kind = graphene.String(required=True, description="FREE_SHIPPING or FIXED_AMOUNT.")
    code = graphene.String(description="The voucher code, once the voucher exists in the store.")
    value = graphene.Decimal(required=True, description="FIXED_AMOUNT: the amount off; FREE_SHIPPING: 100 (%).")
    period_start = graphene.DateTime(required=True)
    valid_until = graphene.DateTime(required=True)

    @staticmethod
    def resolve_kind(root: MembershipBenefit, info: Any) -> str:
        return root.kind.upper()

    @staticmethod
    def resolve_code(root: MembershipBenefit, info: Any) -> str | None:
        return root.code if root.status == "issued" else None

    @staticmethod
    def resolve_valid_until(root: MembershipBenefit, info: Any) -> Any:
        return root.period_end


class MyMembership(graphene.ObjectType):
    plan = graphene.Field(PaidPlanType, required=True)
    status = graphene.String(required=True, description="INCOMPLETE, ACTIVE, PAST_DUE or CANCELED.")
    current_period_end = graphene.DateTime()
    cancel_at_period_end = graphene.Boolean(required=True)
    grace_until = graphene.DateTime(description="PAST_DUE: the tier goes then unless the payment succeeds.")
    access_ends_at = graphene.DateTime(description="CANCELED: the tier goes then (the end of the paid period).")
    tier_held = graphene.Boolean(required=True, description="The membership holds the shopper's tier now.")
    benefits = graphene.List(graphene.NonNull(MembershipBenefitType), required=True, description="Newest first.")

    @staticmethod
    def resolve_status(root: Membership, info: Any) -> str:
        return root.status.upper()

    @staticmethod
    def resolve_benefits(root: Membership, info: Any) -> list[MembershipBenefit]:
        return latest_benefits(root)


class StartPaidMembershipPayload(graphene.ObjectType):
    url = graphene.String(description="Stripe Checkout: send the shopper there.")
    session_id = graphene.String()
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)
