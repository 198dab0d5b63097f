"""The merchant's writes to earning rules and bonus campaigns (the dashboard's staff API and operator commands)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.core.refusals import FieldRefusal
from saleor_loyalty.installs.models import Install

from .models import Campaign, EarnMultiplier, EarnRule, MultiplierTarget
from .settings_changes import as_json, changed_only, record_change, save_fields

MAX_RATE = Decimal(10_000)
MAX_MULTIPLIER = Decimal(100)
# A start typed in the dashboard has minute precision: "now" typed a few seconds ago is not "the past".
START_GRACE = timedelta(minutes=2)


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


CAMPAIGN_FIELDS = (
    "name",
    "starts_at",
    "ends_at",
    "multiplier",
    "fixed_bonus",
    "channel_slug",
    "product_ids",
    "category_ids",
    "tiers",
)
MAX_TARGETS = 500


def _campaign_terms(terms: Mapping[str, Any]) -> dict[str, Any]:
    """Every term of a campaign checked, as the model stores them (create and update share it: one set of rules)."""
    name, starts_at, ends_at = terms["name"], terms["starts_at"], terms["ends_at"]
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
        raise InvalidRule("a campaign needs a name of at most 255 characters", "name")
    for field in ("starts_at", "ends_at"):
        if not isinstance(terms[field], datetime) or terms[field].tzinfo is None:
            raise InvalidRule(f"{field} must be a date and time with a time zone", field)
    if ends_at <= starts_at:
        raise InvalidRule("the campaign must end after it starts (timezone-aware dates)", "ends_at")
    factor = _decimal(terms["multiplier"], "multiplier", MAX_MULTIPLIER)
    if factor < 1:
        raise InvalidRule("multiplier must be at least 1", "multiplier")
    fixed_bonus = terms["fixed_bonus"]
    if isinstance(fixed_bonus, bool) or not isinstance(fixed_bonus, int) or not 0 <= fixed_bonus <= 10**7:
        raise InvalidRule("fixed_bonus must be a whole number of points between 0 and 10,000,000", "fixed_bonus")
    if factor == 1 and fixed_bonus == 0:
        raise InvalidRule("a campaign needs a multiplier above 1 or a fixed bonus", "multiplier")
    channel = terms["channel_slug"]
    if not isinstance(channel, str) or len(channel) > 255:
        raise InvalidRule("channel_slug must be a channel's slug (at most 255 characters)", "channel_slug")
    lists = {}
    for field in ("product_ids", "category_ids", "tiers"):
        ids = terms[field] or []
        if len(ids) > MAX_TARGETS or any(not isinstance(i, str) or not 0 < len(i) <= 255 for i in ids):
            raise InvalidRule(f"{field} must be at most {MAX_TARGETS} ids of 1 to 255 characters", field)
        lists[field] = list(dict.fromkeys(ids))  # each once, in the order given
    return {
        "name": name.strip(),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "multiplier": factor,
        "fixed_bonus": fixed_bonus,
        "channel_slug": channel.strip(),
        **lists,
    }


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
    terms = _campaign_terms(
        {
            "name": name,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "multiplier": multiplier,
            "fixed_bonus": fixed_bonus,
            "channel_slug": channel_slug,
            "product_ids": product_ids,
            "category_ids": category_ids,
            "tiers": tiers,
        }
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(install=install, **terms)
        record_change(install, f"campaign:{campaign.pk}", {}, _campaign_state(campaign), actor)
    return campaign


def update_campaign(
    campaign: Campaign, changes: Mapping[str, Any], *, actor: str = "operator", now: datetime | None = None
) -> Campaign:
    """Change a campaign in place (``changes``: field name → new value; what is left out stays, ``None`` clears an
    optional term), logged as ``actor``'s change with only what changed. All or nothing: ``InvalidRule`` names
    the field refused.

    Orders that already earned keep the terms frozen on their points (their refunds are clawed back by those
    terms too); the new terms apply to orders earning from now on. So that the campaign's record never
    contradicts what shoppers were promised or earned, what may change depends on where it stands:

    * scheduled (not started yet): everything; the start may not move into the past;
    * running: everything but the start (orders were already placed under it); the end may move, not into the
      past (to end it now, switch it off);
    * ended or switched off: only its name.
    """
    moment = now or timezone.now()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        terms, changed = _updated_terms(locked, changes, moment)
        if not changed:
            return locked
        save_fields(locked, terms, changed, subject=f"campaign:{locked.pk}", state=_campaign_state, actor=actor)
    return locked


def check_campaign_update(campaign: Campaign, changes: Mapping[str, Any], *, now: datetime | None = None) -> list[str]:
    """The fields ``update_campaign`` would change, or its ``InvalidRule``; nothing is written (callers check
    what the domain cannot, such as ids with the store, only for a change the domain accepts)."""
    return _updated_terms(campaign, changes, now or timezone.now())[1]


def check_campaign_terms(**terms: Any) -> None:
    """``create_campaign``'s checks of its terms alone (``InvalidRule``); nothing is written."""
    defaults = {
        "multiplier": 1,
        "fixed_bonus": 0,
        "channel_slug": "",
        "product_ids": [],
        "category_ids": [],
        "tiers": [],
    }
    _campaign_terms({**defaults, **terms})


def _updated_terms(campaign: Campaign, changes: Mapping[str, Any], now: datetime) -> tuple[dict[str, Any], list[str]]:
    unknown = sorted(set(changes) - set(CAMPAIGN_FIELDS))
    if unknown:
        raise InvalidRule(f"{unknown[0]} is not a campaign term that can be changed", unknown[0])
    current = {field: getattr(campaign, field) for field in CAMPAIGN_FIELDS}
    terms = _campaign_terms({**current, **{field: _cleared(field, value) for field, value in changes.items()}})
    changed = [field for field in CAMPAIGN_FIELDS if terms[field] != current[field]]
    _check_lifecycle(campaign, terms, changed, now)
    return terms, changed


def _cleared(field: str, value: Any) -> Any:
    """A change's value, where ``None`` clears an optional term (every channel, every product...) and is refused
    for a required one."""
    if value is not None:
        return value
    if field == "channel_slug":
        return ""
    if field in ("product_ids", "category_ids", "tiers"):
        return []
    raise InvalidRule(f"{field} can't be empty", field)


def campaign_status(campaign: Campaign, now: datetime | None = None) -> str:
    """Where a campaign stands: ``SCHEDULED``, ``RUNNING``, ``ENDED`` or ``STOPPED`` (switched off)."""
    moment = now or timezone.now()
    if not campaign.is_active:
        return "STOPPED"
    if campaign.ends_at <= moment:
        return "ENDED"
    return "RUNNING" if campaign.starts_at <= moment else "SCHEDULED"


def _check_lifecycle(campaign: Campaign, terms: Mapping[str, Any], changed: list[str], now: datetime) -> None:
    """Refuse changes that would rewrite what the campaign already did (see ``update_campaign``)."""
    status = campaign_status(campaign, now)
    if status in ("ENDED", "STOPPED"):
        state = "was switched off" if status == "STOPPED" else "has ended"
        for field in changed:
            if field != "name":
                raise InvalidRule(
                    f"the campaign {state}: only its name can change (add a new campaign for new terms)", field
                )
        return
    if status == "RUNNING" and "starts_at" in changed:
        raise InvalidRule(
            "the campaign has started: its start can't move (orders were already placed under it)", "starts_at"
        )
    if status == "SCHEDULED" and "starts_at" in changed and terms["starts_at"] < now - START_GRACE:
        raise InvalidRule("a campaign can't be moved to start in the past", "starts_at")
    if "ends_at" in changed and terms["ends_at"] <= now:
        raise InvalidRule("the end can't be in the past; to end the campaign now, switch it off", "ends_at")


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
