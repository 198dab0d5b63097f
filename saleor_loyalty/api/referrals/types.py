"""Referrals as a shopper sees them: their code, link, stats and referrals (``myReferrals``)."""

from typing import Any

import graphene

from saleor_loyalty.members.models import Member
from saleor_loyalty.referrals import actions
from saleor_loyalty.referrals.models import Referral
from saleor_loyalty.referrals.queries import effective_status, mask_email, referrals_made

from ..core.ids import global_id
from ..core.types import MAX_PAGE
from ..errors import LoyaltyError


class ReferralStatusEnum(graphene.Enum):
    class Meta:
        name = "ReferralStatus"

    PENDING = "pending"
    QUALIFIED = "qualified"
    REWARDED = "rewarded"
    HELD = "held"
    REJECTED = "rejected"

    @property
    def description(self) -> str:
        return {
            "PENDING": "Waiting for the referred shopper's first paid order.",
            "QUALIFIED": "First order paid; the points are pending through its return window.",
            "REWARDED": "The points are yours.",
            "HELD": "Under review by the store.",
            "REJECTED": "Not rewarded (declined, or the first order was refunded or cancelled).",
        }.get(str(self.name), "")


class ReferralType(graphene.ObjectType):
    class Meta:
        name = "Referral"
        description = "One referral, seen from your side (as the one who referred, or the one referred)."

    id = graphene.ID(required=True)
    status = graphene.Field(ReferralStatusEnum, required=True)
    friend = graphene.String(
        required=True, description="The other shopper's email, masked (j***@example.com); empty if unknown."
    )
    points = graphene.Int(required=True, description="Your reward for this referral (once it is paid).")
    created_at = graphene.DateTime(required=True)
    qualified_at = graphene.DateTime(description="When the referred shopper's first order was paid.")
    rewards_unlock_at = graphene.DateTime(description="When the pending points unlock (that order's return window).")


def referral_view(referral: Referral, viewer: Member) -> dict[str, Any]:
    as_referrer = referral.referrer_id == viewer.pk
    friend = referral.referee if as_referrer else referral.referrer
    return {
        "id": global_id("Referral", referral.pk),
        "status": effective_status(referral),
        "friend": mask_email(friend.email),
        "points": referral.referrer_points if as_referrer else referral.referee_points,
        "created_at": referral.created_at,
        "qualified_at": referral.qualified_at,
        "rewards_unlock_at": referral.rewards_unlock_at,
    }


class MyReferrals(graphene.ObjectType):
    class Meta:
        description = "Your referral code and how your referrals are doing."

    code = graphene.String(required=True, description="Your code to share; give it to applyReferralCode.")
    link = graphene.String(
        required=True, description="The store's referral link with your code ('<storefront>?ref=CODE')."
    )
    metadata_key = graphene.String(
        required=True, description="The order/customer metadata key a storefront may put a code under."
    )
    is_active = graphene.Boolean(required=True, description="Whether the store runs its referral program now.")
    referee_reward_points = graphene.Int(required=True, description="What a friend you refer gets.")
    referrer_reward_points = graphene.Int(required=True, description="What you get per friend's first order.")
    invited = graphene.Int(required=True, description="Friends who signed up or ordered with your code.")
    pending = graphene.Int(required=True, description="Waiting for a first paid order or its return window.")
    converted = graphene.Int(required=True, description="Rewarded referrals.")
    held = graphene.Int(required=True, description="Referrals the store is reviewing.")
    rejected = graphene.Int(required=True, description="Referrals not rewarded.")
    points_earned = graphene.Int(required=True, description="Referral points you have (unlocked).")
    points_pending = graphene.Int(required=True, description="Referral points still pending.")
    referrals = graphene.List(
        graphene.NonNull(ReferralType),
        required=True,
        first=graphene.Int(default_value=20, description=f"At most {MAX_PAGE}."),
        description="Your referrals, newest first.",
    )
    referred_by = graphene.Field(ReferralType, description="The referral that brought you here, if any.")

    @staticmethod
    def resolve_referrals(root: dict[str, Any], info: Any, first: int | None = 20) -> list[dict[str, Any]]:
        member: Member = root["member"]
        size = max(0, min(20 if first is None else first, MAX_PAGE))  # an explicit null means the default
        return [referral_view(referral, member) for referral in referrals_made(member, limit=size)]

    @staticmethod
    def resolve_referred_by(root: dict[str, Any], info: Any) -> dict[str, Any] | None:
        member: Member = root["member"]
        referral = actions.referral_of(member)
        return referral_view(referral, referral.referee) if referral is not None else None


class ApplyReferralCodePayload(graphene.ObjectType):
    referral = graphene.Field(ReferralType)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)
