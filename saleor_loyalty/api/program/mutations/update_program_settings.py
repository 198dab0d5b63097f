"""``updateProgramSettings``: staff change the program's settings from the dashboard; every change is logged."""

from typing import Any

import graphene

from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.settings_changes import SettingsInvalid, update_program_settings

from ...errors import LoyaltyError, given, invalid_fields
from .. import PERMISSION
from ..types import ProgramSettings, ProgramSettingsInput


class UpdateProgramSettingsPayload(graphene.ObjectType):
    settings = graphene.Field(ProgramSettings, required=True, description="The settings after the mutation.")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_update_program_settings(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    changes = given(input)
    try:
        settings = update_program_settings(staff.install, changes, actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        return {"settings": program_settings(staff.install), "errors": invalid_fields(exc.errors)}
    return {"settings": settings, "errors": []}


update_program_settings_field = graphene.Field(
    UpdateProgramSettingsPayload,
    required=True,
    input=graphene.Argument(ProgramSettingsInput, required=True),
    resolver=resolve_update_program_settings,
    description=(
        "Change the program's settings (staff with MANAGE_DISCOUNTS). All or nothing: any invalid field changes "
        "nothing and is named in errors. Each change is recorded in settingsChanges."
    ),
)
