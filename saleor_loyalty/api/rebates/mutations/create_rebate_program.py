"""``createRebateProgram``: staff start rebates in a channel and currency from the dashboard's Rebates page."""

from typing import Any

import graphene

from saleor_loyalty.program.settings_changes import SettingsInvalid
from saleor_loyalty.rebates.configuration import create_rebate_program

from .. import PERMISSION
from ..types import RebateProgramInput
from .base import RebateProgramPayload, refused, settings_from


def resolve_create_rebate_program(
    root: Any, info: Any, channel: str, currency: str, input: dict[str, Any]
) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        program = create_rebate_program(
            staff.install,
            channel_slug=channel,
            currency=currency,
            settings=settings_from(input),
            actor=staff.email or staff.user_id,
        )
    except SettingsInvalid as exc:
        return refused(exc.errors)
    return {"program": program, "errors": []}


create_rebate_program_field = graphene.Field(
    RebateProgramPayload,
    required=True,
    channel=graphene.String(required=True, description="The channel's slug."),
    currency=graphene.String(required=True, description="ISO 4217, e.g. USD."),
    input=graphene.Argument(RebateProgramInput, required=True),
    resolver=resolve_create_rebate_program,
    description=(
        "Start rebates in a channel and currency (MANAGE_DISCOUNTS); one program per channel and currency. All or "
        "nothing: any invalid field creates nothing and is named in errors. Recorded in settingsChanges."
    ),
)
