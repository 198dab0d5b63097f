"""The merchant's email settings (which kinds go out, the sender) and previews of each email with sample data."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.settings_changes import Editable, parse_changes, save_changes

from .models import Notification, NotificationKind, NotificationSettings
from .rendering import render


def notification_settings(install: Install) -> NotificationSettings:
    """The install's email settings, created with defaults (every kind on) on first use."""
    row = NotificationSettings.objects.filter(install=install).first()
    if row is None:
        NotificationSettings.objects.bulk_create([NotificationSettings(install=install)], ignore_conflicts=True)
        row = NotificationSettings.objects.get(install=install)
    return row


def _kinds(value: Any) -> list[str]:
    if not isinstance(value, list) or any(kind not in NotificationKind.values for kind in value):
        raise ValueError(f"must list kinds among {', '.join(NotificationKind.values)}")
    return sorted(set(value))


def _email(value: Any) -> str:
    if value in (None, ""):
        return ""
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValueError("must be an email address") from exc
    return str(value)


def _name(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255 or any(c in value for c in "\r\n<>"):
        raise ValueError("must be at most 255 characters, on one line")
    return value.strip()


EDITABLE: dict[str, Editable] = {
    "disabled_kinds": Editable(_kinds, "Emails switched off"),
    "from_email": Editable(_email, "Sender address"),
    "from_name": Editable(_name, "Sender name"),
}


def update_notification_settings(install: Install, changes: Mapping[str, Any], *, actor: str) -> NotificationSettings:
    """Change the email settings all or nothing (``SettingsInvalid`` names every bad field); logged."""
    parsed = parse_changes(changes, EDITABLE)
    notification_settings(install)
    with transaction.atomic():
        row = NotificationSettings.objects.select_for_update().get(install=install)
        save_changes(install, row, parsed, subject="emails", actor=actor)
    return row


def _sample_context(install: Install, kind: str) -> dict[str, Any]:
    now = timezone.now()
    return {
        "shop_name": install.saleor_domain or "your store",
        "first_name": "Ada",
        "email": "ada@example.com",
        "balance": 1250,
        "available_points": 1250,
        "pending_points": 120,
        "points": {"expiry_reminder": 300, "referral_reward": 200, "welcome": 100}.get(kind, 120),
        "order_number": "1042",
        "unlocks_at": (now + timedelta(days=14)).isoformat(),
        "expires_at": (now + timedelta(days=14)).isoformat(),
        "tier_name": "Gold" if kind != "tier_down" else "Silver",
        "previous_tier_name": "Silver" if kind != "tier_down" else "Gold",
        "friend_name": "Grace",
        "amount": "14.00",
        "currency": "USD",
        "period": now.strftime("%Y-%m"),
        "card_refund": "9.00",
        "store_credit": "5.00",
        "store_credit_last4": "AB12",
        "voucher_code": "",
    }


def preview(install: Install, kind: str) -> tuple[str, str, str]:
    """(subject, text, html) of one kind of email, rendered with the install's templates and sample data."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown kind {kind!r}")
    return render(Notification(install=install, kind=kind, context=_sample_context(install, kind)))
