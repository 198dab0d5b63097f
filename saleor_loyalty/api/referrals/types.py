"""GraphQL for referrals: queries and mutations mixed into the schema's Query and Mutation (see schema.py)."""

from typing import Any

import graphene

from saleor_loyalty.core.ratelimit import RateLimited, hit
from saleor_loyalty.members.models import Member
from saleor_loyalty.referrals import actions
from saleor_loyalty.referrals.models import Referral
from saleor_loyalty.referrals.queries import effective_status, mask_email, referral_link, referral_stats

from .errors import LoyaltyError
from .types import MAX_PAGE, global_id

APPLY_LIMIT_PER_MINUTE = 10


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


def _view(referral: Referral, viewer: Member) -> dict[str, Any]:
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
        rows = Referral.objects.filter(referrer=member).select_related("referee", "referrer").order_by("-pk")[:size]
        return [_view(referral, member) for referral in rows]

    @staticmethod
    def resolve_referred_by(root: dict[str, Any], info: Any) -> dict[str, Any] | None:
        member: Member = root["member"]
        referral = actions.referral_of(member)
        return _view(referral, referral.referee) if referral is not None else None


class ReferralQueries(graphene.ObjectType):
    my_referrals = graphene.Field(
        MyReferrals, required=True, description="Your referral code, link and stats (signed-in shoppers)."
    )

    @staticmethod
    def resolve_my_referrals(root: Any, info: Any) -> dict[str, Any]:
        member: Member = info.context.member()
        program = actions.referral_program(member.install)
        code = actions.code_for(member).code
        stats = referral_stats(member)
        return {
            "member": member,
            "code": code,
            "link": referral_link(program, code),
            "metadata_key": actions.METADATA_KEY,
            "is_active": program.is_active,
            "referee_reward_points": program.referee_reward_points,
            "referrer_reward_points": program.referrer_reward_points,
            "invited": stats.invited,
            "pending": stats.pending,
            "converted": stats.converted,
            "held": stats.held,
            "rejected": stats.rejected,
            "points_earned": stats.points_earned,
            "points_pending": stats.points_pending,
        }


class ApplyReferralCodePayload(graphene.ObjectType):
    referral = graphene.Field(ReferralType)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_apply_referral_code(root: Any, info: Any, code: str) -> dict[str, Any]:
    shopper = info.context.require_shopper()
    try:
        hit(f"referral-apply:{shopper.install.pk}:{shopper.user_id}", APPLY_LIMIT_PER_MINUTE, 60)
    except RateLimited:
        error = {"field": "code", "code": "RATE_LIMITED", "message": "too many attempts; try again in a minute"}
        return {"referral": None, "errors": [error]}
    member: Member = info.context.member()
    try:
        referral = actions.apply_code(member, code)
    except actions.ReferralError as exc:
        return {"referral": None, "errors": [{"field": exc.field, "code": exc.code, "message": exc.message}]}
    referral = Referral.objects.select_related("referrer", "referee").get(pk=referral.pk)
    return {"referral": _view(referral, referral.referee), "errors": []}


class ReferralMutations(graphene.ObjectType):
    apply_referral_code = graphene.Field(
        ApplyReferralCodePayload,
        required=True,
        code=graphene.String(required=True),
        resolver=resolve_apply_referral_code,
        description=(
            "Say who referred you (new customers, before their first paid order). Your welcome reward and your "
            "friend's are earned with your first paid order, pending through its return window."
        ),
    )
