"""``applyReferralCode``: a new customer says who referred them."""

from typing import Any

import graphene

from saleor_loyalty.core.ratelimit import RateLimited, hit
from saleor_loyalty.members.models import Member
from saleor_loyalty.referrals import actions
from saleor_loyalty.referrals.queries import with_members

from ..types import ApplyReferralCodePayload, referral_view

APPLY_LIMIT_PER_MINUTE = 10


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
    referral = with_members(referral)
    return {"referral": referral_view(referral, referral.referee), "errors": []}


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
