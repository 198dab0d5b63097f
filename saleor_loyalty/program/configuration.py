"""The merchant's writes to program settings and earning rules (used by commands now, the dashboard later)."""

from decimal import Decimal, InvalidOperation

from django.db import transaction

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.saleor.models import Install

from .models import EarnMultiplier, EarnRule, MultiplierTarget

MAX_RATE = Decimal(10_000)
MAX_MULTIPLIER = Decimal(100)


class InvalidRule(ValueError):
    pass


def _decimal(value: object, name: str, maximum: Decimal) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidRule(f"{name} must be a number") from exc
    if not number.is_finite() or number < 0 or number > maximum:
        raise InvalidRule(f"{name} must be between 0 and {maximum}")
    return number


def set_earn_rule(
    install: Install,
    *,
    channel_slug: str,
    currency: str,
    points_per_unit: object,
    include_tax: bool = False,
    include_shipping: bool = False,
    min_order_amount: object = 0,
    multipliers: dict[tuple[str, str], object] | None = None,
) -> EarnRule:
    """Create or replace the rule for a channel and currency. Orders already earning keep their frozen rule."""
    try:
        currency_exponent(currency)
    except InvalidAmount as exc:
        raise InvalidRule(str(exc)) from exc
    if not channel_slug:
        raise InvalidRule("channel_slug is required")
    rate = _decimal(points_per_unit, "points_per_unit", MAX_RATE)
    minimum = _decimal(min_order_amount, "min_order_amount", Decimal(10**9))
    parsed = {}
    for (target, saleor_id), value in (multipliers or {}).items():
        if target not in MultiplierTarget.values or not saleor_id:
            raise InvalidRule(f"unknown multiplier target {target!r}")
        parsed[(target, saleor_id)] = _decimal(value, f"multiplier for {target} {saleor_id}", MAX_MULTIPLIER)
    with transaction.atomic():
        rule, _ = EarnRule.objects.update_or_create(
            install=install,
            channel_slug=channel_slug,
            currency=currency.upper(),
            defaults={
                "points_per_unit": rate,
                "include_tax": include_tax,
                "include_shipping": include_shipping,
                "min_order_amount": minimum,
                "is_active": True,
            },
        )
        if multipliers is not None:
            rule.multipliers.all().delete()
            EarnMultiplier.objects.bulk_create(
                [EarnMultiplier(rule=rule, target=t, saleor_id=i, multiplier=m) for (t, i), m in parsed.items()]
            )
    return rule
