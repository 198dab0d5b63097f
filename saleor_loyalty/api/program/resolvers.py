"""Reads of the program's settings and change log for staff; the queries themselves live in the domain."""

from typing import Any

from saleor_loyalty.program import queries
from saleor_loyalty.program.models import EarnRule, ProgramSettings, SettingsChange
from saleor_loyalty.program.rules import program_settings

from . import PERMISSION

MAX_CHANGES = 100


def resolve_program_settings(root: Any, info: Any) -> ProgramSettings:
    staff = info.context.require_staff(PERMISSION)
    return program_settings(staff.install)


def resolve_settings_changes(root: Any, info: Any, first: int | None = 50) -> list[SettingsChange]:
    staff = info.context.require_staff(PERMISSION)
    size = max(0, min(50 if first is None else first, MAX_CHANGES))
    return queries.settings_changes(staff.install, limit=size)


def resolve_earn_rules(root: Any, info: Any) -> list[EarnRule]:
    staff = info.context.require_staff(PERMISSION)
    return queries.earn_rules(staff.install)
