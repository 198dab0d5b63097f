"""The merchant's writes to redemption: what points are worth per channel, and the reward catalog.

Used by management commands and the dashboard's staff API. Every input is validated here, before anything is
written; a refusal raises ``InvalidConfiguration`` and changes nothing.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.core.refusals import FieldRefusal, about
from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.models import RedemptionRule
from saleor_loyalty.program.settings_changes import as_json, record_change, save_fields

from .models import Reward, RewardKind

MAX_POINTS_PER_UNIT = 10**6
MAX_POINTS = 10**9  # any points setting: costs, minimums, maximums, steps
MAX_REWARD_AMOUNT = Decimal(10**9)
AMOUNT_PLACES = 4  # what the reward columns store
PERCENT_PLACES = 2  # what RedemptionRule.max_percent_of_subtotal stores
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 2000
WHOLE = re.compile(r"-?[0-9]+")


class InvalidConfiguration(FieldRefusal):
    """A refusal of the merchant's input (``field``: the argument it is about, when known)."""


def _whole(value: object, name: str, minimum: int, maximum: int) -> int:
    """A whole number from an int or its decimal string (as a command passes it), within bounds."""
    if isinstance(value, bool):
        raise InvalidConfiguration(f"{name} must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not WHOLE.fullmatch(text):
            raise InvalidConfiguration(f"{name} must be a whole number, not {value!r}")
        value = int(text)
    if not isinstance(value, int):
        raise InvalidConfiguration(f"{name} must be a whole number")
    if not minimum <= value <= maximum:
        raise InvalidConfiguration(f"{name} must be between {minimum} and {maximum}")
    return value


def _number(value: object, name: str, places: int) -> Decimal:
    """A finite decimal number of at most 10^9 with at most ``places`` decimals (the caller narrows the range)."""
    if isinstance(value, bool) or value is None:
        raise InvalidConfiguration(f"{name} must be a number")
    try:  # through str, as money.py reads JSON numbers: a float's binary noise never gets in
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidConfiguration(f"{name} must be a number, not {value!r}") from exc
    if not number.is_finite():
        raise InvalidConfiguration(f"{name} must be a finite number")
    if abs(number) > MAX_REWARD_AMOUNT:  # also keeps quantize within Decimal's precision
        raise InvalidConfiguration(f"{name} must be at most {MAX_REWARD_AMOUNT}")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise InvalidConfiguration(f"{name} must have at most {places} decimals")
    return number


def _currency(currency: str) -> str:
    if not isinstance(currency, str):
        raise InvalidConfiguration("currency must be an ISO 4217 code")
    try:
        currency_exponent(currency)
    except InvalidAmount as exc:
        raise InvalidConfiguration(str(exc)) from exc
    return currency.upper()


def _channel(channel_slug: str) -> str:
    if not isinstance(channel_slug, str) or not channel_slug.strip():
        raise InvalidConfiguration("channel_slug is required")
    if len(channel_slug.strip()) > MAX_NAME_LENGTH:
        raise InvalidConfiguration(f"channel_slug must be at most {MAX_NAME_LENGTH} characters")
    return channel_slug.strip()


def set_redemption_rule(
    install: Install,
    *,
    channel_slug: str,
    currency: str,
    points_per_unit: object,
    min_points: object = 0,
    max_points_per_order: object = None,
    max_percent_of_subtotal: object = 100,
    step_points: object = 1,
) -> RedemptionRule:
    """Create or replace what points are worth at checkout in a channel and currency, and the spending limits.

    ``points_per_unit`` points buy one unit of currency off (100 = one cent a point). Redemptions already on a
    checkout keep the value they were priced at.
    """
    channel = _channel(channel_slug)
    code = _currency(currency)
    rate = _whole(points_per_unit, "points_per_unit", 1, MAX_POINTS_PER_UNIT)
    minimum = _whole(min_points, "min_points", 0, MAX_POINTS)
    maximum = None
    if max_points_per_order is not None and max_points_per_order != "":
        maximum = _whole(max_points_per_order, "max_points_per_order", 1, MAX_POINTS)
        if maximum < minimum:
            raise InvalidConfiguration(f"max_points_per_order ({maximum}) must not be below min_points ({minimum})")
    percent = _number(max_percent_of_subtotal, "max_percent_of_subtotal", PERCENT_PLACES)
    if not Decimal(0) < percent <= Decimal(100):
        raise InvalidConfiguration("max_percent_of_subtotal must be above 0 and at most 100")
    step = _whole(step_points, "step_points", 1, MAX_POINTS)
    with transaction.atomic():
        rule, _ = RedemptionRule.objects.update_or_create(
            install=install,
            channel_slug=channel,
            currency=code,
            defaults={
                "points_per_unit": rate,
                "min_points": minimum,
                "max_points_per_order": maximum,
                "max_percent_of_subtotal": percent,
                "step_points": step,
                "is_active": True,
            },
        )
    return rule


def _kind(kind: object) -> RewardKind:
    """A kind by value (``fixed_amount``) or by the API's name (``FIXED_AMOUNT``)."""
    text = str(kind.value if isinstance(kind, RewardKind) else kind).strip().lower()
    if text not in RewardKind.values:
        names = ", ".join(value.upper() for value in RewardKind.values)
        raise InvalidConfiguration(f"unknown reward kind {kind!r}; use one of {names}")
    return RewardKind(text)


def _amount(value: object, name: str) -> Decimal:
    number = _number(value, name, AMOUNT_PLACES)
    if not Decimal(0) < number <= MAX_REWARD_AMOUNT:
        raise InvalidConfiguration(f"{name} must be above 0 and at most {MAX_REWARD_AMOUNT}")
    return number


def _moment(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidConfiguration(f"{name} must be a date and time")
    if timezone.is_naive(value):
        raise InvalidConfiguration(f"{name} must include a time zone")
    return value


def _reward_value(
    kind: RewardKind, value: object, max_amount: object, variant_id: str
) -> tuple[Decimal | None, Decimal | None, str]:
    """``value``, ``max_amount`` and ``variant_id`` as the kind needs them; anything else given is refused."""
    label = kind.upper()
    given_value = value is not None and value != ""
    given_max = max_amount is not None and max_amount != ""
    if kind != RewardKind.PERCENTAGE and given_max:
        raise InvalidConfiguration(f"max_amount applies to PERCENTAGE rewards only, not {label}")
    if kind != RewardKind.FREE_PRODUCT and variant_id:
        raise InvalidConfiguration(f"variant_id applies to FREE_PRODUCT rewards only, not {label}")
    if kind == RewardKind.FIXED_AMOUNT:
        if not given_value:
            raise InvalidConfiguration("a FIXED_AMOUNT reward needs value, the amount off")
        return _amount(value, "value"), None, ""
    if kind == RewardKind.PERCENTAGE:
        if not given_value:
            raise InvalidConfiguration("a PERCENTAGE reward needs value, the percent off")
        percent = _number(value, "value", AMOUNT_PLACES)
        if not Decimal(0) < percent <= Decimal(100):
            raise InvalidConfiguration("value of a PERCENTAGE reward must be above 0 and at most 100")
        return percent, (_amount(max_amount, "max_amount") if given_max else None), ""
    if given_value:
        raise InvalidConfiguration(f"a {label} reward takes no value")
    if kind == RewardKind.FREE_PRODUCT:
        variant = variant_id.strip() if isinstance(variant_id, str) else ""
        if not variant:
            raise InvalidConfiguration("a FREE_PRODUCT reward needs variant_id, the Saleor product variant id")
        if len(variant) > MAX_NAME_LENGTH:
            raise InvalidConfiguration("variant_id is too long")
        return None, None, variant
    return None, None, ""


def create_reward(
    install: Install,
    *,
    name: str,
    kind: object,
    points_cost: object,
    channel_slug: str,
    value: object = None,
    max_amount: object = None,
    variant_id: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    per_shopper_limit: object = None,
    description: str = "",
    actor: str = "operator",
) -> Reward:
    """Add a reward to a channel's catalog. It is offered from ``starts_at`` (or now) until ``ends_at`` (or ever).

    FIXED_AMOUNT: ``value`` off the order (in the channel's currency). PERCENTAGE: ``value`` percent off, at most
    ``max_amount`` if given. FREE_SHIPPING: no value. FREE_PRODUCT: one unit of ``variant_id`` free.
    """
    terms = _reward_terms(
        {
            "name": name,
            "description": description,
            "kind": kind,
            "points_cost": points_cost,
            "channel_slug": channel_slug,
            "value": value,
            "max_amount": max_amount,
            "variant_id": variant_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "per_shopper_limit": per_shopper_limit,
        }
    )
    if terms["ends_at"] is not None and terms["ends_at"] <= timezone.now():
        raise InvalidConfiguration("ends_at is in the past: the reward would never be offered", "ends_at")
    with transaction.atomic():
        reward = Reward.objects.create(install=install, is_active=True, **terms)
        record_change(install, f"reward:{reward.pk}", {}, _reward_state(reward), actor)
    return reward


REWARD_FIELDS = (
    "name",
    "description",
    "kind",
    "points_cost",
    "channel_slug",
    "value",
    "max_amount",
    "variant_id",
    "starts_at",
    "ends_at",
    "per_shopper_limit",
)
# What makes a reward the reward it is: shoppers' past redemptions of it were of this kind, in this channel (and
# its currency). A different kind or channel is a new reward.
FIXED_REWARD_FIELDS = ("kind", "channel_slug")


def _reward_terms(terms: Mapping[str, Any]) -> dict[str, Any]:
    """Every term of a reward checked, as the model stores them (create and update share it: one set of rules)."""
    name = terms["name"]
    title = name.strip() if isinstance(name, str) else ""
    if not title:
        raise InvalidConfiguration("name is required", "name")
    if len(title) > MAX_NAME_LENGTH:
        raise InvalidConfiguration(f"name must be at most {MAX_NAME_LENGTH} characters", "name")
    description = terms["description"] or ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidConfiguration(f"description must be at most {MAX_DESCRIPTION_LENGTH} characters", "description")
    with about("kind"):
        reward_kind = _kind(terms["kind"])
    with about("points_cost"):
        cost = _whole(terms["points_cost"], "points_cost", 1, MAX_POINTS)
    with about("channel_slug"):
        channel = _channel(terms["channel_slug"])
    with about("value"):
        amount, cap, variant = _reward_value(
            reward_kind, terms["value"], terms["max_amount"], terms["variant_id"] or ""
        )
    with about("starts_at"):
        start = _moment(terms["starts_at"], "starts_at")
    with about("ends_at"):
        end = _moment(terms["ends_at"], "ends_at")
    if start is not None and end is not None and end <= start:
        raise InvalidConfiguration("ends_at must be after starts_at", "ends_at")
    limit = None
    if terms["per_shopper_limit"] is not None and terms["per_shopper_limit"] != "":
        with about("per_shopper_limit"):
            limit = _whole(terms["per_shopper_limit"], "per_shopper_limit", 1, MAX_POINTS)
    return {
        "name": title,
        "description": description,
        "kind": reward_kind,
        "points_cost": cost,
        "channel_slug": channel,
        "value": amount,
        "max_amount": cap,
        "variant_id": variant,
        "starts_at": start,
        "ends_at": end,
        "per_shopper_limit": limit,
    }


def update_reward(reward: Reward, changes: Mapping[str, Any], *, actor: str = "operator") -> Reward:
    """Change a reward in place (``changes``: field name → new value; left out: unchanged; ``None`` clears an
    optional one), logged as ``actor``'s change with only what changed. All or nothing.

    Redemptions already made keep what they were priced at (their points and discount are stored on them, and
    their voucher is in Saleor already); the new terms apply to redemptions from now on. A reward's kind and
    channel never change (that is a new reward: switch this one off and add it), and a switched-off reward only
    takes a new name or description: it is history.
    """
    unknown = sorted(set(changes) - set(REWARD_FIELDS))
    if unknown:
        raise InvalidConfiguration(f"{unknown[0]} is not a reward term that can be changed", unknown[0])
    with transaction.atomic():
        locked = Reward.objects.select_for_update().get(pk=reward.pk)
        current = {field: getattr(locked, field) for field in REWARD_FIELDS}
        terms = _reward_terms({**current, **changes})
        changed = [field for field in REWARD_FIELDS if terms[field] != current[field]]
        for field in changed:
            if field in FIXED_REWARD_FIELDS:
                what = "kind" if field == "kind" else "channel"
                raise InvalidConfiguration(
                    f"a reward's {what} can't change: switch this reward off and add a new one", field
                )
            if not locked.is_active and field not in ("name", "description"):
                raise InvalidConfiguration(
                    "the reward was switched off: only its name and description can change", field
                )
        if "ends_at" in changed and terms["ends_at"] is not None and terms["ends_at"] <= timezone.now():
            raise InvalidConfiguration("ends_at is in the past: to stop offering the reward, switch it off", "ends_at")
        if not changed:
            return locked
        save_fields(locked, terms, changed, subject=f"reward:{locked.pk}", state=_reward_state, actor=actor)
    return locked


def _reward_state(reward: Reward) -> dict[str, Any]:
    return {
        "name": reward.name,
        "description": reward.description,
        "kind": str(reward.kind),
        "points_cost": reward.points_cost,
        "channel_slug": reward.channel_slug,
        "value": as_json(reward.value),
        "max_amount": as_json(reward.max_amount),
        "variant_id": reward.variant_id,
        "starts_at": reward.starts_at.isoformat() if reward.starts_at else None,
        "ends_at": reward.ends_at.isoformat() if reward.ends_at else None,
        "per_shopper_limit": reward.per_shopper_limit,
        "is_active": reward.is_active,
    }


def deactivate_reward(reward: Reward, *, actor: str = "operator") -> Reward:
    """Stop offering a reward (idempotent, logged once). Redemptions already on a checkout keep their voucher."""
    with transaction.atomic():
        if Reward.objects.filter(pk=reward.pk, is_active=True).update(is_active=False):
            record_change(reward.install, f"reward:{reward.pk}", {"is_active": True}, {"is_active": False}, actor)
    reward.is_active = False
    return reward
