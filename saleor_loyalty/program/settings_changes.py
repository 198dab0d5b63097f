"""The merchant's writes to the program's settings, each recorded as a change (who, when, before and after).

Every setting a merchant may change is declared once in ``EDITABLE``, with its bounds: the dashboard's staff
API, operator commands and tests all go through ``update_program_settings``, so a value that passes here is
one the rest of the program can run on. Invalid input changes nothing and says, per field, what is wrong.
Changes apply from now on: orders keep the rule frozen on their award, points keep the expiry stamped on them.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from django.db import transaction

from saleor_loyalty.installs.models import Install

from .models import ClawbackPolicy, ExpiryPolicy, GuestOrderPolicy, ProgramSettings, SettingsChange
from .rules import program_settings


class _InstallRow(Protocol):
    install: Install

    def save(self, *, update_fields: list[str]) -> None: ...

    def refresh_from_db(self) -> None: ...


Row = TypeVar("Row", bound=_InstallRow)

SUBJECT = "program"
MAX_DAYS = 3650
MAX_BONUS_POINTS = 10_000_000
MAX_POINTS_PER_UNIT = Decimal(10_000)


class SettingsInvalid(Exception):
    """Input the program cannot run on; ``errors`` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high:,}")
        return value

    return parse


def _choice(choices: type[Any]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices.values:
            raise ValueError(f"must be one of {', '.join(choices.values)}")
        return str(value)

    return parse


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _rate(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("must be a number") from exc
    if not number.is_finite() or not 0 <= number <= MAX_POINTS_PER_UNIT or number != number.quantize(Decimal("1e-4")):
        raise ValueError(f"must be between 0 and {MAX_POINTS_PER_UNIT:,} with at most 4 decimals")
    return number


def _optional_days(value: Any) -> int | None:
    return None if value is None else whole(1, MAX_DAYS)(value)


def _metadata_key(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not value.isprintable():
        raise ValueError("must be 1 to 64 printable characters")
    return value


@dataclass(frozen=True)
class Editable:
    parse: Callable[[Any], Any]
    label: str  # what the dashboard calls it (the Program tab's form and the change log)


EDITABLE: dict[str, Editable] = {
    "is_active": Editable(flag, "Program active"),
    "return_window_days": Editable(whole(0, 365), "Return window (days)"),
    "expiry_policy": Editable(_choice(ExpiryPolicy), "Points expiry policy"),
    "points_expire_after_days": Editable(_optional_days, "Points expire after (days)"),
    "inactivity_expiry_days": Editable(whole(1, MAX_DAYS), "Inactivity before expiry (days)"),
    "expiry_reminder_days": Editable(whole(0, 365), "Reminder before expiry (days)"),
    "expiry_grace_days": Editable(whole(0, 365), "Grace after expiry (days)"),
    "clawback_policy": Editable(_choice(ClawbackPolicy), "When spent points are refunded"),
    "registered_email_guest_orders": Editable(_choice(GuestOrderPolicy), "Guest orders with a customer's email"),
    "guest_orders": Editable(_choice(GuestOrderPolicy), "Guest orders"),
    "default_points_per_unit": Editable(_rate, "Points per currency unit (default)"),
    "redemption_hold_minutes": Editable(whole(5, 7 * 24 * 60), "Redemption hold (minutes)"),
    "return_points_on_refund": Editable(flag, "Give redeemed points back on refund"),
    "earn_on_redeemed_value": Editable(flag, "The part paid with points earns too"),
    "redemption_rate_limit_per_minute": Editable(whole(1, 1000), "Redemptions per shopper per minute"),
    "signup_bonus_points": Editable(whole(0, MAX_BONUS_POINTS), "Sign-up bonus (points)"),
    "first_order_bonus_points": Editable(whole(0, MAX_BONUS_POINTS), "First-order bonus (points)"),
    "birthday_bonus_points": Editable(whole(0, MAX_BONUS_POINTS), "Birthday bonus (points)"),
    "birthday_metadata_key": Editable(_metadata_key, "Birthday metadata key"),
}


def as_json(value: Any) -> Any:
    """A setting's value as the change log keeps it (decimals as strings: exact, and JSON has no decimal)."""
    return str(value) if isinstance(value, Decimal) else value


def _consistency_errors(row: ProgramSettings) -> dict[str, str]:
    errors = {}
    if row.expiry_policy == ExpiryPolicy.AFTER_EARNING and row.points_expire_after_days is None:
        errors["points_expire_after_days"] = "is required when points expire after earning"
    elif row.expiry_policy != ExpiryPolicy.NONE and row.expiry_reminder_days >= _expiry_days(row):
        errors["expiry_reminder_days"] = "must be shorter than the time points take to expire"
    return errors


def _expiry_days(row: ProgramSettings) -> int:
    if row.expiry_policy == ExpiryPolicy.AFTER_EARNING:
        return row.points_expire_after_days or 0
    return row.inactivity_expiry_days


def changed_only(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys whose values differ (a key only on one side counts), as (before, after) for ``record_change``."""
    keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def record_change(install: Install, subject: str, before: dict[str, Any], after: dict[str, Any], actor: str) -> None:
    """Append a change to the log, when anything changed (call inside the write's transaction)."""
    if before != after:
        SettingsChange.objects.create(install=install, subject=subject, actor=actor[:255], before=before, after=after)


def save_fields(
    row: Row,
    values: Mapping[str, Any],
    fields: list[str],
    *,
    subject: str,
    state: Callable[[Row], dict[str, Any]],
    actor: str,
) -> None:
    """Write ``fields`` of a locked ``row`` (a reward, a campaign) from ``values`` and log them as one change, with
    ``state`` describing the row before and after (read back as stored: decimals at their places)."""
    before = state(row)
    for field in fields:
        setattr(row, field, values[field])
    row.save(update_fields=fields)
    row.refresh_from_db()
    record_change(row.install, subject, *changed_only(before, state(row)), actor)


def parse_changes(changes: Mapping[str, Any], editable: Mapping[str, Editable]) -> dict[str, Any]:
    """Every change parsed by its field's rule, or ``SettingsInvalid`` naming every bad or unknown field."""
    errors = {name: "is not a setting that can be changed" for name in changes if name not in editable}
    parsed: dict[str, Any] = {}
    for name, value in changes.items():
        if name in editable:
            try:
                parsed[name] = editable[name].parse(value)
            except ValueError as exc:
                errors[name] = str(exc)
    if errors:
        raise SettingsInvalid(errors)
    return parsed


def save_changes(
    install: Install,
    row: Any,
    parsed: Mapping[str, Any],
    *,
    subject: str,
    actor: str,
    consistency: Callable[[Any], dict[str, str]] | None = None,
) -> None:
    """Set ``parsed`` on the locked settings ``row``, check it still makes sense, and save and log what really
    changed (nothing, when every value is already the same). Call inside the transaction that locked the row."""
    before = {name: as_json(getattr(row, name)) for name in parsed}
    for name, value in parsed.items():
        setattr(row, name, value)
    if consistency is not None and (problems := consistency(row)):
        raise SettingsInvalid(problems)
    after = {name: as_json(getattr(row, name)) for name in parsed}
    changed = [name for name in parsed if before[name] != after[name]]
    if changed:
        row.save(update_fields=[*changed, "updated_at"])
        record_change(
            install, subject, {name: before[name] for name in changed}, {name: after[name] for name in changed}, actor
        )


def update_program_settings(install: Install, changes: Mapping[str, Any], *, actor: str) -> ProgramSettings:
    """Apply ``changes`` (setting name → new value) all or nothing; raise ``SettingsInvalid`` with every bad
    field. Only what really changes is saved and logged."""
    parsed = parse_changes(changes, EDITABLE)
    program_settings(install)  # exists before it is locked
    with transaction.atomic():
        row = ProgramSettings.objects.select_for_update().get(install=install)
        save_changes(install, row, parsed, subject=SUBJECT, actor=actor, consistency=_consistency_errors)
    return row
