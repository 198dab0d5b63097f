"""The email settings and previews."""

import enum
from typing import Any

from saleor_loyalty.notifications.configuration import notification_settings, preview
from saleor_loyalty.notifications.models import NotificationSettings
from saleor_loyalty.notifications.rendering import sender

from . import PERMISSION


def resolve_email_settings(root: Any, info: Any) -> NotificationSettings:
    staff = info.context.require_staff(PERMISSION)
    return notification_settings(staff.install)


def resolve_email_preview(root: Any, info: Any, kind: Any) -> dict[str, str]:
    staff = info.context.require_staff(PERMISSION)
    subject, text, html = preview(staff.install, kind.value if isinstance(kind, enum.Enum) else kind)
    return {"sender": sender(staff.install.pk), "subject": subject, "text": text, "html": html}
