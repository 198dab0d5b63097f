"""Rebate periods: calendar months or quarters in the program's time zone, named by a key ("2026-11", "2026-Q4").
Pure functions.

An order belongs to the period in which it was placed (Saleor's ``created``), whenever it is paid: a key that
never changes, so every delivery of an order finds the same period. A Tokyo store's November starts at midnight
in Tokyo (15:00 UTC the day before); boundaries are kept in UTC.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MONTHLY = "monthly"
QUARTERLY = "quarterly"
DEFAULT_TIME_ZONE = "UTC"


@dataclass(frozen=True)
class Period:
    key: str
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC, exclusive


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """The IANA time zones this machine knows ("Europe/Warsaw", "UTC", ...)."""
    return frozenset(available_timezones() | {DEFAULT_TIME_ZONE})


@lru_cache(maxsize=256)
def _zone(name: str) -> tzinfo:
    """The zone by name, loaded once per process (every accrual asks: no listing of every zone here)."""
    if name == DEFAULT_TIME_ZONE:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _month_start(year: int, month: int, zone: tzinfo) -> datetime:
    """Midnight of the month's first day in ``zone``, in UTC."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=zone).astimezone(UTC)


def period_of(at: datetime, kind: str, time_zone: str = DEFAULT_TIME_ZONE) -> Period:
    """The period of ``kind`` (monthly or quarterly) in ``time_zone``'s calendar that contains ``at``."""
    zone = _zone(time_zone)
    local = at.astimezone(zone)
    if kind == MONTHLY:
        return Period(
            f"{local.year}-{local.month:02d}",
            _month_start(local.year, local.month, zone),
            _month_start(local.year, local.month + 1, zone),
        )
    if kind == QUARTERLY:
        quarter = (local.month - 1) // 3 + 1
        first = 3 * quarter - 2
        return Period(
            f"{local.year}-Q{quarter}", _month_start(local.year, first, zone), _month_start(local.year, first + 3, zone)
        )
    raise ValueError(f"unknown rebate period kind {kind!r}")


def period_by_key(key: str, time_zone: str = DEFAULT_TIME_ZONE) -> Period:
    """The period a key names ("2026-11" or "2026-Q4") in ``time_zone``'s calendar; ValueError for anything else."""
    year_text, _, rest = key.partition("-")
    year = int(year_text)
    zone = _zone(time_zone)
    if rest.startswith("Q") and rest[1:] in ("1", "2", "3", "4"):
        return period_of(_month_start(year, 3 * int(rest[1:]) - 2, zone), QUARTERLY, time_zone)
    month = int(rest)
    if not 1 <= month <= 12 or len(rest) != 2:
        raise ValueError(f"not a rebate period: {key!r}")
    return period_of(_month_start(year, month, zone), MONTHLY, time_zone)
