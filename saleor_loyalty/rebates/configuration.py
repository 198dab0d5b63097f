"""The merchant's writes to rebate programs (the dashboard's staff API, operator commands, tests).

A program is one channel's rebates in one currency. Every setting a merchant may change is declared once in
``EDITABLE`` with its parser and its label (the change log's words); the whole program is then checked by
``terms.program_terms``, so a program saved here is one the accrual can run on. Invalid input changes nothing and
names each bad field (``SettingsInvalid``). Every change is recorded in the change log as
``rebate_program:<channel>/<currency>``, with only what changed.

Changes apply from now on: a period keeps the bands, mode and frequency bonus frozen at its first accrual, an
order the rates, base and tier frozen at its own, so a change never rewrites what was accrued; a period keeps the
dates it opened with (a new time zone shapes the periods opened after it).
"""

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.settings_changes import (
    Editable,
    SettingsInvalid,
    as_json,
    changed_only,
    flag,
    parse_changes,
    record_change,
    whole,
)
from saleor_loyalty.tiers.models import Tier

from .models import PayoutMethod, PeriodKind, RebateProgram, RecoveryPolicy, ThresholdMode
from .periods import time_zone_names
from .terms import BONUS, OVERRIDE, InvalidTerms, program_terms

MAX_BANDS = 20
MAX_TIER_RATES = 50
MAX_LINE_RATES = 500
MAX_AMOUNT = Decimal(10**9)  # money fields hold 14 digits, 4 of them decimals
_PLACES = Decimal("1e-4")


def rebate_program_subject(channel_slug: str, currency: str) -> str:
    return f"rebate_program:{channel_slug}/{currency.upper()}"


def plain(number: Decimal) -> str:
    """A decimal as the program keeps it in JSON: "500", "2.5" (never "5E+2" or "2.5000")."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number(value: Any, maximum: Decimal, what: str = "", noun: str = "be") -> Decimal:
    """A decimal from 0 to ``maximum`` with at most 4 decimals; the error reads after the field's name: "must be a
    number", or with ``noun`` "must have rates ..." and ``what`` naming the entry, "(band 2)"."""
    where = f" ({what})" if what else ""
    try:
        number = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite() or not 0 <= number <= maximum or number != number.quantize(_PLACES):
        raise ValueError(f"must {noun} between 0 and {plain(maximum)} with at most 4 decimals{where}")
    return number


def _percent(value: Any) -> Decimal:
    return _number(value, Decimal(100))


def _amount(value: Any) -> Decimal:
    return _number(value, MAX_AMOUNT)


def _choice(choices: type[Any]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in choices.values:
            raise ValueError(f"must be one of {', '.join(choices.values)}")
        return str(value)

    return parse


def _time_zone(value: Any) -> str:
    if not isinstance(value, str) or value not in time_zone_names():
        raise ValueError('must be an IANA time zone, such as "Europe/Warsaw" or "UTC"')
    return value


def _optional_nth(value: Any) -> int | None:
    return None if value is None else whole(1, 1000)(value)


def _bands(value: Any) -> list[dict[str, str]]:
    """``[{"threshold": "500", "rate": "2"}, ...]``, by strictly rising threshold."""
    if not isinstance(value, list) or len(value) > MAX_BANDS:
        raise ValueError(f"must be a list of at most {MAX_BANDS} bands, each a threshold and a rate")
    bands: list[dict[str, str]] = []
    for number, band in enumerate(value, start=1):
        if not isinstance(band, Mapping) or band.get("threshold") is None or band.get("rate") is None:
            raise ValueError(f"must each have a threshold and a rate (band {number})")
        threshold = _number(band["threshold"], MAX_AMOUNT, f"band {number}", "have thresholds")
        rate = _number(band["rate"], Decimal(100), f"band {number}", "have rates (%)")
        if bands and threshold <= Decimal(bands[-1]["threshold"]):
            raise ValueError(
                f"must have rising thresholds (band {number}: {plain(threshold)} is not above {bands[-1]['threshold']})"
            )
        bands.append({"threshold": plain(threshold), "rate": plain(rate)})
    return bands


def _tier_rates(value: Any) -> dict[str, dict[str, str]]:
    """``{"Gold": {"rate": "4", "mode": "override" | "bonus"}}``."""
    if not isinstance(value, Mapping) or len(value) > MAX_TIER_RATES:
        raise ValueError(f"must give at most {MAX_TIER_RATES} tiers a rate and a mode")
    rates = {}
    for name, entry in value.items():
        if not isinstance(name, str) or not 0 < len(name) <= 64:
            raise ValueError("must each name a tier")
        if not isinstance(entry, Mapping) or entry.get("rate") is None:
            raise ValueError(f"must each have a rate (tier {name})")
        mode = entry.get("mode") or BONUS
        if mode not in (OVERRIDE, BONUS):
            raise ValueError(f"must each be an {OVERRIDE} or a {BONUS} (tier {name})")
        rate = _number(entry["rate"], Decimal(100), f"tier {name}", "have rates (%)")
        rates[name] = {"rate": plain(rate), "mode": mode}
    return rates


def _line_rates(value: Any) -> dict[str, str]:
    """``{"product:<id>": "5", "category:<id>": "0"}``."""
    if not isinstance(value, Mapping) or len(value) > MAX_LINE_RATES:
        raise ValueError(f"must give at most {MAX_LINE_RATES} products or categories a rate")
    rates = {}
    for key, rate in value.items():
        kind, _, saleor_id = str(key).partition(":")
        if kind not in ("product", "category") or not 0 < len(saleor_id) <= 255:
            raise ValueError(f"must each be for a product or a category (not {key!r})")
        rates[f"{kind}:{saleor_id}"] = plain(_number(rate, Decimal(100), f"{kind} {saleor_id}", "have rates (%)"))
    return rates


EDITABLE: dict[str, Editable] = {
    "is_active": Editable(flag, "Rebates active"),
    "include_tax": Editable(flag, "Tax counts towards spend"),
    "include_shipping": Editable(flag, "Shipping counts towards spend"),
    "period": Editable(_choice(PeriodKind), "Period"),
    "time_zone": Editable(_time_zone, "Periods' time zone"),
    "threshold_mode": Editable(_choice(ThresholdMode), "A rate reached applies to"),
    "bands": Editable(_bands, "Rates by spend in the period"),
    "tier_rates": Editable(_tier_rates, "Tier rates"),
    "line_rates": Editable(_line_rates, "Product and category rates"),
    "frequency_nth": Editable(_optional_nth, "Bonus on every Nth order"),
    "frequency_bonus_amount": Editable(_amount, "Bonus per Nth order (amount)"),
    "frequency_bonus_rate": Editable(_percent, "Bonus per Nth order (rate, %)"),
    "minimum_payout": Editable(_amount, "Pay out before the period ends from"),
    "return_window_days": Editable(whole(0, 365), "Return window (days)"),
    "recovery_policy": Editable(_choice(RecoveryPolicy), "Money reversed after payout"),
    "payout_method": Editable(_choice(PayoutMethod), "Paid as"),
}


def program_state(program: RebateProgram) -> dict[str, Any]:
    """A program's settings as the change log keeps them (decimals as text, as stored)."""
    return {name: as_json(getattr(program, name)) for name in EDITABLE}


def _consistency_errors(program: RebateProgram) -> dict[str, str]:
    """The program as a whole: its terms as the accrual reads them, and a frequency bonus that is complete."""
    errors: dict[str, str] = {}
    bonus = program.frequency_bonus_amount > 0 or program.frequency_bonus_rate > 0
    if program.frequency_nth is not None and not bonus:
        errors["frequency_bonus_amount"] = "or frequencyBonusRate must be above 0 for a bonus on every Nth order"
    elif program.frequency_nth is None and bonus:
        errors["frequency_nth"] = "is required for a bonus on every Nth order"
    unknown = sorted(set(program.tier_rates) - set(_tier_names(program.install)))
    if unknown:
        errors["tier_rates"] = f"must name tiers the store has (not {', '.join(unknown)})"
    try:
        program_terms(program)
    except InvalidTerms as exc:
        errors.setdefault(exc.field or "bands", f"is not valid: {exc}")
    return errors


def _tier_names(install: Install) -> list[str]:
    return list(Tier.objects.filter(install=install).values_list("name", flat=True))


def _apply(program: RebateProgram, parsed: Mapping[str, Any]) -> list[str]:
    """Set ``parsed`` on ``program`` and check it (``SettingsInvalid``); the fields whose value changed."""
    before = program_state(program)
    for name, value in parsed.items():
        setattr(program, name, value)
    problems = _consistency_errors(program)
    if problems:
        raise SettingsInvalid(problems)
    after = program_state(program)
    return [name for name in parsed if before[name] != after[name]]


def check_channel_and_currency(channel_slug: Any, currency: Any) -> tuple[str, str]:
    """A channel's slug and an ISO 4217 code, as a program is keyed (``SettingsInvalid`` otherwise)."""
    errors = {}
    if not isinstance(channel_slug, str) or not 0 < len(channel_slug.strip()) <= 255:
        errors["channel_slug"] = "must be a channel's slug (1 to 255 characters)"
    try:
        if not isinstance(currency, str):
            raise InvalidAmount("not a currency code")
        currency_exponent(currency)
    except InvalidAmount:
        errors["currency"] = "must be an ISO 4217 code, e.g. USD"
    if errors:
        raise SettingsInvalid(errors)
    return str(channel_slug).strip(), str(currency).upper()


def create_rebate_program(
    install: Install, *, channel_slug: str, currency: str, settings: Mapping[str, Any], actor: str
) -> RebateProgram:
    """A new program for a channel and currency with ``settings`` (setting name → value; the rest take their
    defaults). All or nothing: ``SettingsInvalid`` names every bad field; one program per channel and currency."""
    channel_slug, currency = check_channel_and_currency(channel_slug, currency)
    parsed = parse_changes(settings, EDITABLE)
    duplicate = {"currency": f"{currency} already has a rebate program in {channel_slug}: change that one"}
    if RebateProgram.objects.filter(install=install, channel_slug=channel_slug, currency=currency).exists():
        raise SettingsInvalid(duplicate)
    program = RebateProgram(install=install, channel_slug=channel_slug, currency=currency)
    _apply(program, parsed)
    try:
        with transaction.atomic():
            program.save()
            program.refresh_from_db()
            record_change(install, rebate_program_subject(channel_slug, currency), {}, program_state(program), actor)
    except IntegrityError as exc:  # created meanwhile by a concurrent request
        raise SettingsInvalid(duplicate) from exc
    return program


def update_rebate_program(program: RebateProgram, changes: Mapping[str, Any], *, actor: str) -> RebateProgram:
    """Change ``changes`` (setting name → new value; what is left out stays) all or nothing, and log what really
    changed. The channel and currency are the program's identity and never change."""
    parsed = parse_changes(changes, EDITABLE)
    with transaction.atomic():
        locked = RebateProgram.objects.select_for_update().get(pk=program.pk)
        before = program_state(locked)
        changed = _apply(locked, parsed)
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
            locked.refresh_from_db()
            record_change(
                locked.install,
                rebate_program_subject(locked.channel_slug, locked.currency),
                *changed_only(before, program_state(locked)),
                actor,
            )
    return locked
