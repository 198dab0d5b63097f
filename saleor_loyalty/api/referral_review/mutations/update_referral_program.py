"""``updateReferralProgram``: staff change the referral terms from the referrals panel (logged)."""

from typing import Any

import graphene

from saleor_loyalty.program.settings_changes import SettingsInvalid
from saleor_loyalty.referrals.actions import referral_program
from saleor_loyalty.referrals.configuration import update_referral_program

from ...errors import LoyaltyError, given, invalid_fields
from .. import PROGRAM_PERMISSION
from ..types import ReferralProgramInput, ReferralProgramSettings


class UpdateReferralProgramPayload(graphene.ObjectType):
    program = graphene.Field(ReferralProgramSettings, required=True)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_update_referral_program(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    changes = given(input)
    try:
        program = update_referral_program(staff.install, changes, actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        return {"program": referral_program(staff.install), "errors": invalid_fields(exc.errors)}
    return {"program": program, "errors": []}


update_referral_program_field = graphene.Field(
    UpdateReferralProgramPayload,
    required=True,
    input=graphene.Argument(ReferralProgramInput, required=True),
    resolver=resolve_update_referral_program,
    description="Change the referral terms (MANAGE_DISCOUNTS); all or nothing, logged.",
)
