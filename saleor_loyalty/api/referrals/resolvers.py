"""``myReferrals``: the signed-in shopper's code, link and how their referrals are doing."""

from typing import Any

from saleor_loyalty.members.models import Member
from saleor_loyalty.referrals import actions
from saleor_loyalty.referrals.queries import referral_link, referral_stats


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
