"""``approveReferral`` / ``rejectReferral``: a reviewer decides on a held referral from the referrals panel."""

from collections.abc import Callable
from typing import Any

import graphene
from graphql import GraphQLError

from saleor_loyalty.referrals.actions import ReferralError, approve_referral, reject_referral
from saleor_loyalty.referrals.models import Referral
from saleor_loyalty.referrals.queries import find_referral

from ...core.ids import from_global_id
from ...errors import LoyaltyError
from .. import PERMISSION
from ..types import ReviewedReferral

MAX_NOTE = 2000


class ReviewReferralPayload(graphene.ObjectType):
    referral = graphene.Field(ReviewedReferral)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def _decide(info: Any, id: str, note: str, decide: Callable[..., Referral]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    referral = find_referral(staff.install.pk, from_global_id(id, "Referral"))
    if referral is None:
        return {"referral": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no such referral"}]}
    if len(note) > MAX_NOTE:
        raise GraphQLError(f"note is longer than {MAX_NOTE} characters", extensions={"code": "INVALID"})
    try:
        decided = decide(referral, reviewer=staff.email or staff.user_id, note=note)
    except ReferralError as exc:
        return {"referral": referral, "errors": [{"field": exc.field, "code": exc.code, "message": exc.message}]}
    return {"referral": decided, "errors": []}


def resolve_approve_referral(root: Any, info: Any, id: str, note: str = "") -> dict[str, Any]:
    return _decide(info, id, note, approve_referral)


def resolve_reject_referral(root: Any, info: Any, id: str, note: str = "") -> dict[str, Any]:
    return _decide(info, id, note, reject_referral)


def _field(resolver: Callable[..., dict[str, Any]], description: str) -> graphene.Field:
    return graphene.Field(
        ReviewReferralPayload,
        required=True,
        id=graphene.ID(required=True),
        note=graphene.String(default_value="", description="Why; kept with the referral."),
        resolver=resolver,
        description=description,
    )


approve_referral_field = _field(
    resolve_approve_referral, "Pay a held referral (the reviewer found it genuine). Needs MANAGE_USERS."
)
reject_referral_field = _field(
    resolve_reject_referral, "Refuse a referral; rewards still pending are taken back. Needs MANAGE_USERS."
)
