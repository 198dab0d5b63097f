"""``updateRebateProgram``: staff change a channel's rebates; periods and orders keep the terms they accrued under."""

from typing import Any

import graphene

from saleor_loyalty.program.settings_changes import SettingsInvalid
from saleor_loyalty.rebates import queries
from saleor_loyalty.rebates.configuration import update_rebate_program

from ...core.ids import from_global_id
from .. import PERMISSION
from ..types import RebateProgramInput
from .base import RebateProgramPayload, refused, settings_from


def resolve_update_rebate_program(root: Any, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    program = queries.rebate_program_by_id(staff.install, from_global_id(id, "RebateProgram"))
    if program is None:
        return {"program": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no such rebate program"}]}
    try:
        program = update_rebate_program(program, settings_from(input), actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        return refused(exc.errors)
    return {"program": program, "errors": []}


update_rebate_program_field = graphene.Field(
    RebateProgramPayload,
    required=True,
    id=graphene.ID(required=True, description="The program's id (rebatePrograms)."),
    input=graphene.Argument(RebateProgramInput, required=True),
    resolver=resolve_update_rebate_program,
    description=(
        "Change a rebate program (MANAGE_DISCOUNTS): the fields given, all or nothing (any invalid field changes "
        "nothing and is named in errors). Applies from now on: periods and orders keep the terms they accrued under. "
        "Recorded in settingsChanges."
    ),
)
