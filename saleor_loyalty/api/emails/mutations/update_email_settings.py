"""``updateEmailSettings``: staff switch kinds of shopper email on or off and set the sender (logged)."""

import enum
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import Undefined

from saleor_loyalty.notifications.configuration import notification_settings, update_notification_settings
from saleor_loyalty.program.settings_changes import SettingsInvalid

from ...errors import LoyaltyError
from .. import PERMISSION
from ..types import EmailSettings, EmailSettingsInput


class UpdateEmailSettingsPayload(graphene.ObjectType):
    settings = graphene.Field(EmailSettings, required=True)
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [item.value if isinstance(item, enum.Enum) else item for item in value]
    return value


def resolve_update_email_settings(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    changes = {name: _plain(value) for name, value in input.items() if value is not Undefined}
    try:
        row = update_notification_settings(staff.install, changes, actor=staff.email or staff.user_id)
    except SettingsInvalid as exc:
        errors = [
            {"field": to_camel_case(field), "code": "INVALID", "message": f"{to_camel_case(field)} {message}"}
            for field, message in exc.errors.items()
        ]
        return {"settings": notification_settings(staff.install), "errors": errors}
    return {"settings": row, "errors": []}


update_email_settings_field = graphene.Field(
    UpdateEmailSettingsPayload,
    required=True,
    input=graphene.Argument(EmailSettingsInput, required=True),
    resolver=resolve_update_email_settings,
    description="Switch kinds of shopper email on or off and set the sender (MANAGE_DISCOUNTS); logged.",
)
