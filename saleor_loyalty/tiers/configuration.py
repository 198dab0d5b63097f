"""The merchant's tier writes, validated: program settings, tiers, pins (used by commands now, the dashboard later)."""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.core.refusals import FieldRefusal, about
from saleor_loyalty.installs.models import Install
from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.settings_changes import as_json, changed_only, record_change

from . import effects
from .models import (
    POINTS_UNIT,
    Basis,
    ChangeReason,
    MemberTier,
    Tier,
    TierChange,
    TierSettings,
    TierThreshold,
    WindowKind,
)
from .queries import base_tier

MAX_THRESHOLD = Decimal(10**10)
MAX_MULTIPLIER = Decimal(100)
MAX_BONUS = 10**9
MAX_WINDOW_DAYS = 3660
MAX_GRACE_DAYS = 3660
FLAG = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
SETTINGS_SUBJECT = "tier_settings"  # the change log's subject of the tier program's settings
_SETTINGS = ("basis", "window_kind", "window_days", "grace_days", "is_active")


class InvalidTierConfig(FieldRefusal):
    """A refusal of the merchant's input (``field``: the argument it is about, when known)."""


def _tier_state(tier: Tier | None) -> dict[str, Any]:
    """A tier as the change log keeps it."""
    if tier is None:
        return {}
    return {
        "rank": tier.rank,
        "multiplier": as_json(tier.multiplier),
        "bonus_points": tier.bonus_points,
        "perks": list(tier.perks),
        "access": list(tier.access),
        "is_active": tier.is_active,
        "thresholds": {t.unit: [as_json(t.qualify), as_json(t.retain)] for t in tier.thresholds.order_by("unit")},
    }


def configure_tiers(
    install: Install,
    *,
    basis: str | None = None,
    window_kind: str | None = None,
    window_days: int | None = None,
    grace_days: int | None = None,
    is_active: bool | None = None,
    actor: str = "operator",
) -> TierSettings:
    """Create or change the install's tier program settings; only the arguments given change (logged)."""
    if basis is not None and basis not in Basis.values:
        raise InvalidTierConfig(f"basis must be one of {', '.join(Basis.values)}", "basis")
    if window_kind is not None and window_kind not in WindowKind.values:
        raise InvalidTierConfig(f"window must be one of {', '.join(WindowKind.values)}", "window_kind")
    if window_days is not None and not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise InvalidTierConfig(f"window_days must be between 1 and {MAX_WINDOW_DAYS}", "window_days")
    if grace_days is not None and not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidTierConfig(f"grace_days must be between 0 and {MAX_GRACE_DAYS}", "grace_days")
    with transaction.atomic():
        settings_row, before = _locked_settings(install)
        for name, value in (
            ("basis", basis),
            ("window_kind", window_kind),
            ("window_days", window_days),
            ("grace_days", grace_days),
            ("is_active", is_active),
        ):
            if value is not None:
                setattr(settings_row, name, value)
        settings_row.save()
        record_change(install, SETTINGS_SUBJECT, *changed_only(before, _settings_state(settings_row)), actor)
    return settings_row


def _settings_state(settings_row: TierSettings) -> dict[str, Any]:
    """The tier program's settings as the change log keeps them."""
    return {name: getattr(settings_row, name) for name in _SETTINGS}


def _locked_settings(install: Install) -> tuple[TierSettings, dict[str, Any]]:
    """The install's tier settings row, locked, and its state before this write: empty when the row did not exist.

    Without a row the tier program does not run (no review, no order-time move), whatever the defaults say; the
    write that creates it starts the program, a real change even with every value at its default, so it is
    logged in full (each value from nothing), unlike a later save that changes nothing. Call inside a transaction.
    """
    settings_row, created = TierSettings.objects.get_or_create(install=install)
    if not created:
        settings_row = TierSettings.objects.select_for_update().get(install=install)
    return settings_row, {} if created else _settings_state(settings_row)


def start_tier_program(install: Install, *, actor: str) -> TierSettings:
    """The install's tier settings row, created with the defaults (and the creation logged) if there is none yet.
    Call inside a transaction."""
    settings_row, before = _locked_settings(install)
    if not before:
        record_change(install, SETTINGS_SUBJECT, *changed_only(before, _settings_state(settings_row)), actor)
    return settings_row


def _unit(key: str) -> str:
    unit = key.strip().upper()
    if unit in (POINTS_UNIT, "POINTS"):
        return POINTS_UNIT
    try:
        currency_exponent(unit)
    except InvalidAmount as exc:
        raise InvalidTierConfig(f"{key!r} is neither a currency code nor PTS") from exc
    return unit


def _amount(value: object, name: str, unit: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTierConfig(f"{name} must be a number") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_THRESHOLD:
        raise InvalidTierConfig(f"{name} must be between 0 and {MAX_THRESHOLD}")
    exponent = 0 if unit == POINTS_UNIT else currency_exponent(unit)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise InvalidTierConfig(f"{name} has more decimals than {unit} allows")
    return amount


def parse_thresholds(
    thresholds: Mapping[str, object], retain: Mapping[str, object] | None = None, *, base: bool = False
) -> dict[str, tuple[Decimal, Decimal | None]]:
    """Parse ``{"USD": "500", "EUR": "450"}`` (or ``{"PTS": 1000}``) and retain amounts: unit -> (qualify, retain).

    ``base``: the tier is rank 1, which may be the program's base tier — thresholds all 0, nothing to retain.
    """
    if not thresholds:
        raise InvalidTierConfig("a tier needs at least one threshold")
    parsed: dict[str, tuple[Decimal, Decimal | None]] = {}
    for key, value in thresholds.items():
        unit = _unit(key)
        if unit in parsed:
            raise InvalidTierConfig(f"threshold for {unit} given twice")
        qualify = _amount(value, f"threshold {unit}", unit)
        if qualify <= 0 and not base:
            raise InvalidTierConfig(f"threshold {unit} must be positive (only the rank-1 base tier starts at 0)")
        parsed[unit] = (qualify, None)
    zero = [unit for unit, (qualify, _) in parsed.items() if qualify == 0]
    if zero and (len(zero) != len(parsed) or retain):
        raise InvalidTierConfig("a base tier has every threshold at 0 and no retain amounts")
    for key, value in (retain or {}).items():
        unit = _unit(key)
        if unit not in parsed:
            raise InvalidTierConfig(f"retain threshold for {unit} has no qualifying threshold")
        amount = _amount(value, f"retain {unit}", unit)
        if amount > parsed[unit][0]:
            raise InvalidTierConfig(f"retain {unit} must not exceed the qualifying threshold")
        parsed[unit] = (parsed[unit][0], amount)
    return parsed


def _texts(values: Iterable[object], name: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    result: list[str] = []
    for value in values:
        text = str(value).strip()
        if not text or len(text) > 200 or (pattern is not None and not pattern.match(text)):
            raise InvalidTierConfig(f"invalid {name}: {value!r}")
        if text not in result:
            result.append(text)
    if len(result) > 50:
        raise InvalidTierConfig(f"at most 50 {name}s")
    return result


def set_tier(
    install: Install,
    *,
    name: str,
    rank: int,
    thresholds: Mapping[str, object],
    retain: Mapping[str, object] | None = None,
    multiplier: object = 1,
    bonus_points: int = 0,
    perks: Iterable[object] = (),
    access: Iterable[object] = (),
    is_active: bool = True,
    actor: str = "operator",
) -> Tier:
    """Create or replace the tier called ``name`` (logged as ``actor``'s change). Members move by the next order
    or review, not now."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidTierConfig("name must be 1 to 64 characters", "name")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= 100:
        raise InvalidTierConfig("rank must be between 1 (lowest) and 100", "rank")
    try:
        factor = Decimal(str(multiplier))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTierConfig("multiplier must be a number", "multiplier") from exc
    if not factor.is_finite() or factor < 0 or factor > MAX_MULTIPLIER or factor != factor.quantize(Decimal("0.0001")):
        raise InvalidTierConfig(f"multiplier must be between 0 and {MAX_MULTIPLIER} (4 decimals)", "multiplier")
    if isinstance(bonus_points, bool) or not isinstance(bonus_points, int) or not 0 <= bonus_points <= MAX_BONUS:
        raise InvalidTierConfig(f"bonus_points must be between 0 and {MAX_BONUS}", "bonus_points")
    with about("thresholds"):
        parsed = parse_thresholds(thresholds, retain, base=rank == 1)
    if bonus_points and not any(qualify for qualify, _ in parsed.values()):
        raise InvalidTierConfig(
            "a base tier is never reached, so it has no bonus (see the sign-up bonus)", "bonus_points"
        )
    with about("perks"):
        perk_list = _texts(perks, "perk")
    with about("access"):
        access_list = _texts(access, "access flag", FLAG)
    try:
        with transaction.atomic():
            # Defining a tier starts the tier program with its default settings if the merchant never saved them:
            # reviews and order-time upgrades only run for stores with a settings row.
            start_tier_program(install, actor=actor)
            before = _tier_state(Tier.objects.select_for_update().filter(install=install, name=name).first())
            tier, _ = Tier.objects.update_or_create(
                install=install,
                name=name,
                defaults={
                    "rank": rank,
                    "multiplier": factor,
                    "bonus_points": bonus_points,
                    "perks": perk_list,
                    "access": access_list,
                    "is_active": is_active,
                },
            )
            tier.thresholds.all().delete()
            TierThreshold.objects.bulk_create(
                [TierThreshold(tier=tier, unit=u, qualify=q, retain=r) for u, (q, r) in parsed.items()]
            )
            tier.refresh_from_db()
            record_change(install, f"tier:{name}", *changed_only(before, _tier_state(tier)), actor)
    except IntegrityError as exc:
        if "rank" in str(exc):  # PostgreSQL names tier_unique_rank, SQLite the column tiers_tier.rank
            raise InvalidTierConfig(f"another tier already has rank {rank}", "rank") from exc
        raise  # anything else is not the merchant's input: e.g. a database not migrated yet
    return tier


def _member_state(member: Member) -> MemberTier:
    MemberTier.objects.get_or_create(member=member, defaults={"install_id": member.install_id})
    return MemberTier.objects.select_for_update(of=("self",)).select_related("tier", "pinned_tier").get(member=member)


def pin_tier(member: Member, tier_name: str, *, reason: str, by: str = "") -> MemberTier:
    """Pin the member at ``tier_name`` or above: a floor that reviews never go below. Moves them up now if needed
    (no upgrade bonus for a pin; the change is recorded, announced and mirrored)."""
    reason = reason.strip()
    if not reason or len(reason) > 255:
        raise InvalidTierConfig("a pin needs a reason (at most 255 characters)")
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=members.current(member).pk)
        tier = Tier.objects.filter(install_id=member.install_id, name=tier_name.strip(), is_active=True).first()
        if tier is None:
            raise InvalidTierConfig(f"no active tier called {tier_name!r}")
        if base_tier(member.install_id) == tier:
            raise InvalidTierConfig(f"{tier.name} is the base tier: every member is already in it")
        state = _member_state(member)
        now = timezone.now()
        state.pinned_tier = tier
        state.pin_reason = reason
        state.pinned_by = by[:255]
        state.pinned_at = now
        current_rank = state.tier.rank if state.tier else 0
        if tier.rank > current_rank:
            change = TierChange.objects.create(
                install_id=member.install_id,
                member=member,
                from_tier=state.tier,
                to_tier=tier,
                is_upgrade=True,
                reason=ChangeReason.PIN,
                note=reason,
                at=now,
            )
            state.tier = tier
            state.tier_since = now
            state.below_since = None
            state.save()
            effects.apply_changes([change.pk])
        else:
            if tier.rank >= current_rank:
                state.below_since = None
            state.save()
    return state


def unpin_tier(member: Member) -> MemberTier | None:
    """Remove the pin. The member keeps their tier until a review finds them below it (then grace applies)."""
    with transaction.atomic():
        member = members.current(member)
        state = MemberTier.objects.select_for_update().filter(member=member).first()
        if state is None:
            return None
        state.pinned_tier = None
        state.pin_reason = ""
        state.pinned_by = ""
        state.pinned_at = None
        state.save()
    return state
