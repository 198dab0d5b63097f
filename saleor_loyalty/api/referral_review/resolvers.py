"""The review queue and the decision history."""

from typing import Any

from saleor_loyalty.referrals import queries
from saleor_loyalty.referrals.actions import referral_program
from saleor_loyalty.referrals.models import Referral, ReferralProgram, ReferralStatus

from . import PERMISSION, PROGRAM_PERMISSION

MAX_PAGE = 100


def _size(first: int | None) -> int:
    return max(0, min(50 if first is None else first, MAX_PAGE))


def resolve_referrals_to_review(root: Any, info: Any, first: int | None = 50) -> list[Referral]:
    staff = info.context.require_staff(PERMISSION)
    return queries.referrals_for_review(staff.install.pk, statuses=[ReferralStatus.HELD], limit=_size(first))


def resolve_referral_decisions(root: Any, info: Any, first: int | None = 50) -> list[Referral]:
    staff = info.context.require_staff(PERMISSION)
    return queries.referral_decisions(staff.install.pk, limit=_size(first))


def resolve_referral_program(root: Any, info: Any) -> ReferralProgram:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    return referral_program(staff.install)


def resolve_referral_funnel(root: Any, info: Any) -> queries.Funnel:
    staff = info.context.require_staff(PERMISSION)
    return queries.referral_funnel(staff.install.pk)


def resolve_top_referrers(root: Any, info: Any, first: int | None = 10) -> list[queries.TopReferrer]:
    staff = info.context.require_staff(PERMISSION)
    return queries.top_referrers(staff.install.pk, limit=max(0, min(10 if first is None else first, 50)))
