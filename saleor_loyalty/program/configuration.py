"""The merchant's writes to program settings and earning rules (used by commands now, the dashboard later)."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.core.refusals import FieldRefusal
from saleor_loyalty.saleor.models import Install

from .models import Campaign, EarnMultiplier, EarnRule, MultiplierTarget
from .settings_changes import as_json, changed_only, record_change

MAX_RATE = Decimal(10_000)
MAX_MULTIPLIER = Decimal(100)


class InvalidRule(FieldRefusal):
    """Input the program cannot run on (``field``: the argument it is about, when known)."""


def _decimal(value: object, name: str, maximum: Decimal) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidRule(f"{name} must be a number", name) from exc
    if not number.is_finite() or number < 0 or number > maximum:
        raise InvalidRule(f"{name} must be between 0 and {maximum}", name)
    if number != number.quantize(Decimal("1e-4")):
        raise InvalidRule(f"{name} has more than 4 decimals", name)
    return number


def _rule_state(rule: EarnRule | None) -> dict[str, Any]:
    """A rule as the change log keeps it."""
    if rule is None:
        return {}
    return {
        "points_per_unit": as_json(rule.points_per_unit),
        "include_tax": rule.include_tax,
        "include_shipping": rule.include_shipping,
        "min_order_amount": as_json(rule.min_order_amount),
        "is_active": rule.is_active,
        "multipliers": {
            f"{m.target}:{m.saleor_id}": as_json(m.multiplier) for m in rule.multipliers.order_by("target", "saleor_id")
        },
    }


def earn_rule_subject(channel_slug: str, currency: str) -> str:
    return f"earn_rule:{channel_slug}/{currency.upper()}"


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
    actor: str = "operator",
) -> EarnRule:
    """Create or replace the rule for a channel and currency, recorded in the change log as ``actor``'s. Orders
    already earning keep their frozen rule."""
    try:
        currency_exponent(currency)
    except InvalidAmount as exc:
        raise InvalidRule(str(exc), "currency") from exc
    if not channel_slug or len(channel_slug) > 255:
        raise InvalidRule("channel_slug is required (at most 255 characters)", "channel_slug")
    rate = _decimal(points_per_unit, "points_per_unit", MAX_RATE)
    minimum = _decimal(min_order_amount, "min_order_amount", Decimal(10**9))
    parsed = {}
    for (target, saleor_id), value in (multipliers or {}).items():
        if target not in MultiplierTarget.values or not saleor_id or len(saleor_id) > 255:
            raise InvalidRule(f"unknown multiplier target {target!r}", "multipliers")
        try:
            parsed[(target, saleor_id)] = _decimal(value, f"multiplier for {target} {saleor_id}", MAX_MULTIPLIER)
        except InvalidRule as exc:
            raise InvalidRule(str(exc), "multipliers") from exc
    with transaction.atomic():
        existing = (
            EarnRule.objects.select_for_update()
            .filter(install=install, channel_slug=channel_slug, currency=currency.upper())
            .first()
        )
        before = _rule_state(existing)
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
        rule.refresh_from_db()
        record_change(
            install, earn_rule_subject(channel_slug, currency), *changed_only(before, _rule_state(rule)), actor
        )
    return rule


def deactivate_earn_rule(install: Install, *, channel_slug: str, currency: str, actor: str = "operator") -> EarnRule:
    """Switch a channel's rule off: its orders then earn by the program's default rate. Kept for history."""
    with transaction.atomic():
        rule = (
            EarnRule.objects.select_for_update()
            .filter(install=install, channel_slug=channel_slug, currency=currency.upper())
            .first()
        )
        if rule is None:
            raise InvalidRule("no earn rule for that channel and currency", "channel_slug")
        if rule.is_active:
            rule.is_active = False
            rule.save(update_fields=["is_active", "updated_at"])
            record_change(
                install, earn_rule_subject(channel_slug, currency), {"is_active": True}, {"is_active": False}, actor
            )
    return rule


def create_campaign(
    install: Install,
    *,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    multiplier: object = 1,
    fixed_bonus: int = 0,
    channel_slug: str = "",
    product_ids: list[str] | None = None,
    category_ids: list[str] | None = None,
    tiers: list[str] | None = None,
    actor: str = "operator",
) -> Campaign:
    """A bonus campaign (logged as ``actor``'s change). Orders placed in ``[starts_at, ends_at)`` earn by it
    (frozen with their points)."""
    if not name or len(name) > 255:
        raise InvalidRule("a campaign needs a name of at most 255 characters", "name")
    if starts_at.tzinfo is None or ends_at.tzinfo is None or ends_at <= starts_at:
        raise InvalidRule("the campaign must end after it starts (timezone-aware dates)", "ends_at")
    factor = _decimal(multiplier, "multiplier", MAX_MULTIPLIER)
    if factor < 1:
        raise InvalidRule("multiplier must be at least 1", "multiplier")
    if isinstance(fixed_bonus, bool) or not isinstance(fixed_bonus, int) or not 0 <= fixed_bonus <= 10**7:
        raise InvalidRule("fixed_bonus must be a whole number of points between 0 and 10,000,000", "fixed_bonus")
    if factor == 1 and fixed_bonus == 0:
        raise InvalidRule("a campaign needs a multiplier above 1 or a fixed bonus", "multiplier")
    for field, ids in (("product_ids", product_ids), ("category_ids", category_ids), ("tiers", tiers)):
        if len(ids or []) > 500 or any(not isinstance(i, str) or not 0 < len(i) <= 255 for i in ids or []):
            raise InvalidRule(f"{field} must be at most 500 ids of 1 to 255 characters", field)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            install=install,
            name=name,
            starts_at=starts_at,
            ends_at=ends_at,
            multiplier=factor,
            fixed_bonus=fixed_bonus,
            channel_slug=channel_slug,
            product_ids=list(product_ids or []),
            category_ids=list(category_ids or []),
            tiers=list(tiers or []),
        )
        record_change(install, f"campaign:{campaign.pk}", {}, _campaign_state(campaign), actor)
    return campaign


def _campaign_state(campaign: Campaign) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "starts_at": campaign.starts_at.isoformat(),
        "ends_at": campaign.ends_at.isoformat(),
        "multiplier": as_json(campaign.multiplier),
        "fixed_bonus": campaign.fixed_bonus,
        "channel_slug": campaign.channel_slug,
        "product_ids": list(campaign.product_ids),
        "category_ids": list(campaign.category_ids),
        "tiers": list(campaign.tiers),
        "is_active": campaign.is_active,
    }


def deactivate_campaign(campaign: Campaign, *, actor: str = "operator") -> Campaign:
    """Stop a campaign now (idempotent, logged once); orders that earned by it keep what they earned."""
    with transaction.atomic():
        if Campaign.objects.filter(pk=campaign.pk, is_active=True).update(is_active=False):
            record_change(campaign.install, f"campaign:{campaign.pk}", {"is_active": True}, {"is_active": False}, actor)
    campaign.is_active = False
    return campaign
