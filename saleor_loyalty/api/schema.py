"""The storefront schema (``/graphql/``): the shopper's points, tier, referrals and redemptions, the program's terms,
and the server-to-server ``recordEvent``. Each field's resolver lives in its domain's package."""

import graphene

from .earning_actions.mutations.record_event import record_event_field
from .memberships.mutations.start_paid_membership import start_paid_membership
from .memberships.resolvers import resolve_my_membership, resolve_paid_plans
from .memberships.types import MyMembership, PaidPlanType
from .points.mutations.adjust_points import adjust_points_field
from .points.resolvers import resolve_estimate_points, resolve_me
from .points.types import LoyaltyMember, PointsEstimate
from .program.resolvers import resolve_program
from .program.types import LoyaltyProgram
from .rebates.resolvers import resolve_my_rebate_statements, resolve_my_rebates, resolve_rebate_program
from .rebates.types import RebateProgramTerms, RebateProgress, RebateStatement
from .redemption.mutations.cancel_redemption import cancel_redemption
from .redemption.mutations.redeem_points import redeem_points
from .redemption.mutations.redeem_reward import redeem_reward
from .redemption.resolvers import resolve_active_redemption, resolve_rewards
from .redemption.types import RedemptionType, RewardType
from .referrals.mutations.apply_referral_code import apply_referral_code
from .referrals.resolvers import resolve_my_referrals
from .referrals.types import MyReferrals
from .tiers.resolvers import resolve_my_tier
from .tiers.types import MyTier


class Query(graphene.ObjectType):
    my_referrals = graphene.Field(
        MyReferrals,
        required=True,
        resolver=resolve_my_referrals,
        description="Your referral code, link and stats (signed-in shoppers).",
    )
    my_tier = graphene.Field(
        MyTier,
        required=True,
        currency=graphene.String(description="Show spend progress in this currency (default: the closest one)."),
        resolver=resolve_my_tier,
        description="The signed-in shopper's tier, progress to the next one, and tier history.",
    )
    me = graphene.Field(
        LoyaltyMember, required=True, resolver=resolve_me, description="The signed-in shopper's loyalty account."
    )
    program = graphene.Field(
        LoyaltyProgram,
        required=True,
        channel=graphene.String(required=True),
        currency=graphene.String(required=True),
        resolver=resolve_program,
        description="The program's terms in a channel. Public: without a token, send the Saleor-Api-Url header.",
    )
    estimate_points = graphene.Field(
        PointsEstimate,
        required=True,
        checkout_id=graphene.ID(required=True),
        resolver=resolve_estimate_points,
        description="What your checkout would earn if paid now.",
    )
    rewards = graphene.List(
        graphene.NonNull(RewardType),
        required=True,
        channel=graphene.String(required=True),
        resolver=resolve_rewards,
        description="Rewards available in a channel, with whether you can afford each.",
    )
    paid_plans = graphene.List(
        graphene.NonNull(PaidPlanType),
        required=True,
        resolver=resolve_paid_plans,
        description="Memberships on sale. Public: without a token, send the Saleor-Api-Url header.",
    )
    my_membership = graphene.Field(
        MyMembership,
        resolver=resolve_my_membership,
        description="The signed-in shopper's paid membership, once they subscribed (null before).",
    )
    my_rebates = graphene.Field(
        RebateProgress,
        channel=graphene.String(required=True, description="The channel's slug."),
        currency=graphene.String(description="Needed only when the channel has rebates in several currencies."),
        resolver=resolve_my_rebates,
        description="The signed-in shopper's rebate this period: spend, rate, the next band, accrued and paid "
        "(null when the channel has no active rebates).",
    )
    my_rebate_statements = graphene.List(
        graphene.NonNull(RebateStatement),
        required=True,
        periods=graphene.List(
            graphene.NonNull(graphene.String), description='These periods ("2026-11", "2026-Q4"; at most 12).'
        ),
        first=graphene.Int(default_value=3, description="Without periods: the newest this many (at most 12)."),
        resolver=resolve_my_rebate_statements,
        description="The signed-in shopper's rebate statements, one per period and program: orders, payouts.",
    )
    rebate_program = graphene.Field(
        RebateProgramTerms,
        channel=graphene.String(required=True),
        currency=graphene.String(description="Needed only when the channel has rebates in several currencies."),
        resolver=resolve_rebate_program,
        description="A channel's rebate terms (null: none active). Public: without a token, send the "
        "Saleor-Api-Url header.",
    )
    active_redemption = graphene.Field(
        RedemptionType,
        checkout_id=graphene.ID(required=True),
        resolver=resolve_active_redemption,
        description="The points currently redeemed on your checkout, if any.",
    )


class Mutation(graphene.ObjectType):
    apply_referral_code = apply_referral_code
    redeem_points = redeem_points
    redeem_reward = redeem_reward
    cancel_redemption = cancel_redemption
    record_event = record_event_field
    start_paid_membership = start_paid_membership
    adjust_points = adjust_points_field("Use adjustPoints on the staff endpoint, /dashboard/graphql/.")


schema = graphene.Schema(query=Query, mutation=Mutation, auto_camelcase=True)
