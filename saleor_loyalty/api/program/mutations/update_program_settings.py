"""``updateProgramSettings``: staff change the program's settings from the dashboard; every change is logged."""

import enum
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import Undefined

from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.settings_changes import SettingsInvalid, update_program_settings

from ...errors import LoyaltyError
from .. import PERMISSION
from ..types import ProgramSettings, ProgramSettingsInput


class UpdateProgramSettingsPayload(graphene.ObjectType):
    settings = graphene.Field(ProgramSettings, required=True, description="The settings after the mutation.")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def resolve_update_program_settings(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    changes = {name: _plain(value) for name, value in input.items() if value is not Undefined}
    try:
        settings = update_program_settings(staff.install, changes, actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        errors = [
            {"field": to_camel_case(field), "code": "INVALID", "message": f"{to_camel_case(field)} {message}"}
            for field, message in exc.errors.items()
        ]
        return {"settings": program_settings(staff.install), "errors": errors}
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
