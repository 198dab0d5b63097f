"""The merchant's writes to the referral program's terms (the dashboard's referrals panel and commands)."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.settings_changes import Editable, flag, parse_changes, save_changes, whole

from .actions import referral_program
from .models import ReferralProgram

MAX_REWARD = 10_000_000


def _storefront_url(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 2048:
        raise ValueError("must be an http(s) URL of at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ord(c) < 33 for c in value):
        raise ValueError("must be an http(s) URL, e.g. https://shop.example.com/join")
    return value


def _optional_cap(value: Any) -> int | None:
    return None if value is None else whole(1, 100_000)(value)


EDITABLE: dict[str, Editable] = {
    "is_active": Editable(flag, "Referral program active"),
    "storefront_url": Editable(_storefront_url, "Storefront page of referral links"),
    "referee_reward_points": Editable(whole(0, MAX_REWARD), "Friend's reward (points)"),
    "referrer_reward_points": Editable(whole(0, MAX_REWARD), "Referrer's reward (points)"),
    "max_rewarded_per_period": Editable(_optional_cap, "Rewarded referrals per referrer per period"),
    "cap_period_days": Editable(whole(1, 3650), "Cap period (days)"),
    "max_rewarded_total": Editable(_optional_cap, "Rewarded referrals per referrer, ever"),
}


def update_referral_program(install: Install, changes: Mapping[str, Any], *, actor: str) -> ReferralProgram:
    """Change the referral terms all or nothing (``SettingsInvalid`` names every bad field); logged. New terms
    apply to referees attached from now on: rewards are frozen on a referral when its referee is attached."""
    parsed = parse_changes(changes, EDITABLE)
    referral_program(install)  # exists before it is locked
    with transaction.atomic():
        row = ReferralProgram.objects.select_for_update().get(install=install)
        save_changes(install, row, parsed, subject="referral_program", actor=actor)
    return row
