"""Rebate periods: calendar months or quarters in UTC, named by a key ("2026-11", "2026-Q4"). Pure functions.

An order belongs to the period in which it was placed (Saleor's ``created``), whenever it is paid: a key that
never changes, so every delivery of an order finds the same period.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

MONTHLY = "monthly"
QUARTERLY = "quarterly"


@dataclass(frozen=True)
class Period:
    key: str
    starts_at: datetime
    ends_at: datetime  # exclusive


def _month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def period_of(at: datetime, kind: str) -> Period:
    """The period of ``kind`` (monthly or quarterly) that contains ``at``."""
    at = at.astimezone(UTC)
    if kind == MONTHLY:
        return Period(f"{at.year}-{at.month:02d}", _month_start(at.year, at.month), _month_start(at.year, at.month + 1))
    if kind == QUARTERLY:
        quarter = (at.month - 1) // 3 + 1
        first = 3 * quarter - 2
        return Period(f"{at.year}-Q{quarter}", _month_start(at.year, first), _month_start(at.year, first + 3))
    raise ValueError(f"unknown rebate period kind {kind!r}")


def period_by_key(key: str) -> Period:
    """The period a key names ("2026-11" or "2026-Q4"); ValueError for anything else."""
    year_text, _, rest = key.partition("-")
    year = int(year_text)
    if rest.startswith("Q") and rest[1:] in ("1", "2", "3", "4"):
        return period_of(_month_start(year, 3 * int(rest[1:]) - 2), QUARTERLY)
    month = int(rest)
    if not 1 <= month <= 12 or len(rest) != 2:
        raise ValueError(f"not a rebate period: {key!r}")
    return period_of(_month_start(year, month), MONTHLY)
