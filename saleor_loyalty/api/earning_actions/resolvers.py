"""Listing earning actions and API keys."""

from typing import Any

from saleor_loyalty.program import queries
from saleor_loyalty.program.models import EarningAction, ServerApiKey

from . import PERMISSION


def resolve_earning_actions(root: Any, info: Any) -> list[EarningAction]:
    staff = info.context.require_staff(PERMISSION)
    return queries.earning_actions(staff.install)


def resolve_api_keys(root: Any, info: Any) -> list[ServerApiKey]:
    staff = info.context.require_staff(PERMISSION)
    return queries.api_keys(staff.install)
