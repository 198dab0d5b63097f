"""Paid plans and the shopper's membership as the storefront API shows them; the merchant's plans as the staff API
does."""

from decimal import Decimal
from typing import Any

import graphene

from saleor_loyalty.core.money import quantum
from saleor_loyalty.memberships.models import BenefitKind, Interval, Membership, MembershipBenefit, PaidPlan
from saleor_loyalty.memberships.queries import PlanMembers, latest_benefits, plan_members

from ..core.ids import global_id
from ..core.types import Money
from ..errors import LoyaltyError


# What the shopper's and the merchant's views of a plan answer alike.
def resolve_plan_id(root: PaidPlan, info: Any) -> str:
    return global_id("PaidPlan", root.pk)


def resolve_plan_tier(root: PaidPlan, info: Any) -> str:
    return root.tier.name


def resolve_plan_price(root: PaidPlan, info: Any) -> dict[str, Any]:
    return {"amount": root.amount.quantize(quantum(root.currency)), "currency": root.currency}


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

    resolve_id = staticmethod(resolve_plan_id)
    resolve_tier = staticmethod(resolve_plan_tier)
    resolve_price = staticmethod(resolve_plan_price)

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


# -- staff: the merchant's plans ---------------------------------------------------------------------------------

PaidPlanInterval = graphene.Enum.from_enum(Interval, name="PaidPlanInterval", description="How often Stripe bills.")
PaidPlanBenefitKind = graphene.Enum.from_enum(
    BenefitKind, name="PaidPlanBenefitKind", description="A voucher issued once per paid period."
)


class PaidPlanBenefit(graphene.ObjectType):
    kind = graphene.Field(PaidPlanBenefitKind, required=True)
    channel_id = graphene.ID(required=True, description="The Saleor channel the voucher is valid in.")
    value = graphene.Field(Money, description="FIXED_AMOUNT: the amount off, in the plan's currency.")


class PaidPlanMembers(graphene.ObjectType):
    """A plan's memberships (a Checkout completed), by status."""

    active = graphene.Int(required=True, description="Paid up.")
    past_due = graphene.Int(required=True, description="A payment failed: in grace.")
    canceled = graphene.Int(required=True, description="Ended (some still hold the tier to their period's end).")
    holding_tier = graphene.Int(required=True, description="Members the plan holds at its tier now.")


class PaidPlanSettings(graphene.ObjectType):
    """A paid plan as the dashboard edits it: what it sells, for how much, and its members."""

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    tier = graphene.String(required=True, description="The tier's name.")
    price = graphene.Field(Money, required=True, description="What shoppers are shown; Stripe's Price charges.")
    interval = graphene.Field(PaidPlanInterval, required=True)
    interval_count = graphene.Int(required=True, description="Billed every intervalCount intervals.")
    stripe_price_id = graphene.String(required=True, description="The Stripe Price Checkout sells (price_…).")
    grace_days = graphene.Int(required=True, description="Days the tier is kept after a failed payment.")
    benefits = graphene.List(graphene.NonNull(PaidPlanBenefit), required=True)
    is_active = graphene.Boolean(required=True, description="On sale. Archived: not sold; members keep theirs.")
    members = graphene.Field(PaidPlanMembers, required=True)
    created_at = graphene.DateTime(required=True)
    updated_at = graphene.DateTime(required=True)

    resolve_id = staticmethod(resolve_plan_id)
    resolve_tier = staticmethod(resolve_plan_tier)
    resolve_price = staticmethod(resolve_plan_price)

    @staticmethod
    def resolve_benefits(root: PaidPlan, info: Any) -> list[dict[str, Any]]:
        found = []
        for benefit in root.benefits:
            value = benefit.get("value")
            amount = None if value in (None, "") else {"amount": Decimal(value), "currency": root.currency}
            found.append({"kind": benefit["kind"], "channel_id": benefit["channel_id"], "value": amount})
        return found

    @staticmethod
    def resolve_members(root: PaidPlan, info: Any) -> PlanMembers:
        cache = info.context.cache  # one query for every plan listed
        if "plan_members" not in cache:
            cache["plan_members"] = plan_members(root.install)
        counts: dict[int, PlanMembers] = cache["plan_members"]
        return counts.get(root.pk) or PlanMembers()


class PaidPlanBenefitInput(graphene.InputObjectType):
    kind = graphene.InputField(PaidPlanBenefitKind, required=True)
    channel_id = graphene.ID(required=True, description="The Saleor channel's id.")
    value = graphene.Decimal(
        description="FIXED_AMOUNT: the amount off, in the plan's currency; none for FREE_SHIPPING."
    )


def _plan_fields(required: bool) -> dict[str, Any]:
    """The plan's input fields: all required to create one; to update, any (the fields given change)."""
    return {
        "name": graphene.String(required=required, description="Unique in the store, 1 to 64 characters."),
        "tier": graphene.String(required=required, description="An active tier's name (not the base tier)."),
        "amount": graphene.Decimal(
            required=required, description="The price shown, in `currency` (its precision: 9.99 USD, 1000 JPY)."
        ),
        "currency": graphene.String(required=required, description="ISO 4217; the Stripe Price's currency."),
        "interval": graphene.InputField(PaidPlanInterval, required=required),
        "stripe_price_id": graphene.String(
            required=required, description="The recurring Stripe Price (price_…) made in Stripe for this plan."
        ),
        "interval_count": graphene.Int(description="Every N intervals, 1–12 (default 1)."),
        "grace_days": graphene.Int(description="0–60 (default 7)."),
        "benefits": graphene.List(graphene.NonNull(PaidPlanBenefitInput), description="Replaces the whole list."),
        "is_active": graphene.Boolean(description="false: not on sale (default true)."),
    }


PaidPlanInput = type(
    "PaidPlanInput",
    (graphene.InputObjectType,),
    {"__doc__": "A new plan: what it sells, the Stripe Price, how it is shown.", **_plan_fields(required=True)},
)
PaidPlanUpdateInput = type(
    "PaidPlanUpdateInput",
    (graphene.InputObjectType,),
    {"__doc__": "Only the fields given change (checked with the rest as a whole).", **_plan_fields(required=False)},
)


class PaidPlanPayload(graphene.ObjectType):
    plan = graphene.Field(PaidPlanSettings, description="The plan after the mutation (null if refused).")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


class MembershipSettingsType(graphene.ObjectType):
    class Meta:
        name = "MembershipSettings"

    return_origins = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The https origins a Checkout's successUrl / cancelUrl may point at (empty: Checkout refused).",
    )


class MembershipSettingsPayload(graphene.ObjectType):
    settings = graphene.Field(MembershipSettingsType)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)
