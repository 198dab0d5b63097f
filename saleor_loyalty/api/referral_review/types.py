"""A referral as a reviewer sees it: who referred whom, why it was held, the order, the rewards, the decision."""

import graphene

from saleor_loyalty.referrals import queries
from saleor_loyalty.referrals.models import Referral, ReferralStatus

from ..core.ids import global_id
from ..referrals.types import ReferralStatusEnum


class ReviewedReferral(graphene.ObjectType):
    id = graphene.ID(required=True)
    status = graphene.Field(ReferralStatusEnum, required=True)
    flags = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Why it was held (fraud checks' flags)."
    )
    referrer_email = graphene.String()
    referrer_customer_id = graphene.ID()
    referee_email = graphene.String()
    referee_customer_id = graphene.ID()
    order_id = graphene.ID(description="The referee's first paid order.")
    order_number = graphene.String()
    referrer_points = graphene.Int(required=True)
    referee_points = graphene.Int(required=True)
    created_at = graphene.DateTime(required=True)
    reviewed_by = graphene.String()
    reviewed_at = graphene.DateTime()
    review_note = graphene.String()

    @staticmethod
    def resolve_id(root: Referral, info: object) -> str:
        return global_id("Referral", root.pk)

    @staticmethod
    def resolve_status(root: Referral, info: object) -> str:
        return ReferralStatus(root.status).value  # a model just saved holds the choice itself, not its value

    @staticmethod
    def resolve_flags(root: Referral, info: object) -> list[str]:
        return [flag for flag in root.reason.split(",") if flag]

    @staticmethod
    def resolve_referrer_email(root: Referral, info: object) -> str:
        return root.referrer.email

    @staticmethod
    def resolve_referrer_customer_id(root: Referral, info: object) -> str | None:
        return root.referrer.saleor_user_id

    @staticmethod
    def resolve_referee_email(root: Referral, info: object) -> str:
        return root.referee.email

    @staticmethod
    def resolve_referee_customer_id(root: Referral, info: object) -> str | None:
        return root.referee.saleor_user_id

    @staticmethod
    def resolve_order_id(root: Referral, info: object) -> str | None:
        return root.order_id or None

    @staticmethod
    def resolve_reviewed_by(root: Referral, info: object) -> str | None:
        return root.reviewed_by or None


class ReferralProgramSettings(graphene.ObjectType):
    """The referral program's terms (rewards are frozen on a referral when its friend is attached)."""

    is_active = graphene.Boolean(required=True)
    storefront_url = graphene.String(required=True, description="Links are <storefrontUrl>?ref=<code>.")
    referee_reward_points = graphene.Int(required=True, description="The friend's welcome reward.")
    referrer_reward_points = graphene.Int(required=True)
    max_rewarded_per_period = graphene.Int(description="Per referrer; more are held for review. Null: no cap.")
    cap_period_days = graphene.Int(required=True)
    max_rewarded_total = graphene.Int(description="Per referrer, ever. Null: no cap.")


class ReferralProgramInput(graphene.InputObjectType):
    """Only the fields given change."""

    is_active = graphene.Boolean()
    storefront_url = graphene.String()
    referee_reward_points = graphene.Int()
    referrer_reward_points = graphene.Int()
    max_rewarded_per_period = graphene.Int()
    cap_period_days = graphene.Int()
    max_rewarded_total = graphene.Int()


class ReferralFunnel(graphene.ObjectType):
    codes_shared = graphene.Int(required=True)
    sign_ups = graphene.Int(required=True)
    first_orders = graphene.Int(required=True)
    rewarded = graphene.Int(required=True)


class TopReferrer(graphene.ObjectType):
    customer_id = graphene.ID()
    email = graphene.String(required=True)
    referrals = graphene.Int(required=True)
    rewarded = graphene.Int(required=True)

    @staticmethod
    def resolve_customer_id(root: queries.TopReferrer, info: object) -> str | None:
        return root.member.saleor_user_id

    @staticmethod
    def resolve_email(root: queries.TopReferrer, info: object) -> str:
        return root.member.email
