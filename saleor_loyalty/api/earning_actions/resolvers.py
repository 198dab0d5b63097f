"""Listing earning actions and API keys."""

from typing import Any

from saleor_loyalty.program.models import EarningAction, ServerApiKey

from . import PERMISSION


def resolve_earning_actions(root: Any, info: Any) -> list[EarningAction]:
    staff = info.context.require_staff(PERMISSION)
    return list(EarningAction.objects.filter(install=staff.install).order_by("-is_active", "code"))


def resolve_api_keys(root: Any, info: Any) -> list[ServerApiKey]:
    staff = info.context.require_staff(PERMISSION)
    return list(ServerApiKey.objects.filter(install=staff.install).order_by("revoked_at", "-created_at"))
