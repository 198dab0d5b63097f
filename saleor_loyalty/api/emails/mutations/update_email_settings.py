"""``updateEmailSettings``: staff switch kinds of shopper email on or off and set the sender (logged)."""

from typing import Any

import graphene

from saleor_loyalty.notifications.configuration import notification_settings, update_notification_settings
from saleor_loyalty.program.settings_changes import SettingsInvalid

from ...errors import LoyaltyError, given, invalid_fields
from .. import PERMISSION
from ..types import EmailSettings, EmailSettingsInput


class UpdateEmailSettingsPayload(graphene.ObjectType):
    settings = graphene.Field(EmailSettings, required=True)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_update_email_settings(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    changes = given(input)
    try:
        row = update_notification_settings(staff.install, changes, actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        return {"settings": notification_settings(staff.install), "errors": invalid_fields(exc.errors)}
    return {"settings": row, "errors": []}


update_email_settings_field = graphene.Field(
    UpdateEmailSettingsPayload,
    required=True,
    input=graphene.Argument(EmailSettingsInput, required=True),
    resolver=resolve_update_email_settings,
    description="Switch kinds of shopper email on or off and set the sender (MANAGE_DISCOUNTS); logged.",
)
