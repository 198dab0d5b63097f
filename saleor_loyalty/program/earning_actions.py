"""The merchant's custom earning actions (a review, a newsletter sign-up) and the server keys that report them.

The writes behind the dashboard's "Earning actions and API keys" page and the operator commands, each logged in
the change log (a key by its prefix and name: the key itself is shown once, when issued, and never stored).
"""

import re

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install

from .custom_events import IssuedKey, issue_api_key
from .models import EarningAction, ServerApiKey
from .settings_changes import SettingsInvalid, changed_only, record_change

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_POINTS = 10_000_000
MAX_PERIOD_DAYS = 3650


def _action_state(action: EarningAction | None) -> dict[str, object]:
    if action is None:
        return {}
    return {
        "name": action.name,
        "points": action.points,
        "max_per_period": action.max_per_period,
        "period_days": action.period_days,
        "is_active": action.is_active,
    }


def set_earning_action(
    install: Install,
    *,
    code: str,
    name: str,
    points: int,
    max_per_period: int | None = None,
    period_days: int = 30,
    is_active: bool = True,
    actor: str = "operator",
) -> EarningAction:
    """Create or change the action ``code``; raises ``SettingsInvalid`` naming every bad field."""
    errors = {}
    if not isinstance(code, str) or not CODE.match(code):
        errors["code"] = "must be 1 to 64 lower-case letters, digits, - or _"
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 255:
        errors["name"] = "must be 1 to 255 characters"
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        errors["points"] = f"must be between 1 and {MAX_POINTS:,}"
    if max_per_period is not None and (isinstance(max_per_period, bool) or not 1 <= max_per_period <= 10_000):
        errors["max_per_period"] = "must be between 1 and 10,000, or empty for no cap"
    if isinstance(period_days, bool) or not isinstance(period_days, int) or not 1 <= period_days <= MAX_PERIOD_DAYS:
        errors["period_days"] = f"must be between 1 and {MAX_PERIOD_DAYS}"
    if errors:
        raise SettingsInvalid(errors)
    with transaction.atomic():
        existing = EarningAction.objects.select_for_update().filter(install=install, code=code).first()
        before = _action_state(existing)
        action, _ = EarningAction.objects.update_or_create(
            install=install,
            code=code,
            defaults={
                "name": name.strip(),
                "points": points,
                "max_per_period": max_per_period,
                "period_days": period_days,
                "is_active": is_active,
            },
        )
        record_change(install, f"earning_action:{code}", *changed_only(before, _action_state(action)), actor)
    return action


def create_api_key(install: Install, name: str, *, actor: str = "operator") -> IssuedKey:
    """A new server key for ``recordEvent``; the returned key is the only time it can be seen."""
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 255:
        raise SettingsInvalid({"name": "must be 1 to 255 characters"})
    with transaction.atomic():
        issued = issue_api_key(install, name.strip())
        record_change(install, f"api_key:{issued.record.prefix}", {}, {"name": issued.record.name}, actor)
    return issued


def revoke_api_key(install: Install, key_id: int, *, actor: str = "operator") -> ServerApiKey:
    """Revoke a key at once (requests with it are refused from now on); revoking twice changes nothing."""
    with transaction.atomic():
        record = ServerApiKey.objects.select_for_update().filter(install=install, pk=key_id).first()
        if record is None:
            raise SettingsInvalid({"id": "no such API key"})
        if record.revoked_at is None:
            record.revoked_at = timezone.now()
            record.save(update_fields=["revoked_at"])
            record_change(install, f"api_key:{record.prefix}", {"revoked": False}, {"revoked": True}, actor)
    return record
