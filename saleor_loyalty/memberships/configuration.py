"""The merchant's membership writes, validated: paid plans and the storefront origins Checkout may return to.

Used by the operator commands (``set_paid_plan``, ``set_membership_origins``); every write is recorded in the
change log (``program.settings_changes``) like the tier program's.
"""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from saleor_loyalty.core.money import InvalidAmount, currency_exponent
from saleor_loyalty.core.refusals import FieldRefusal
from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.settings_changes import as_json, changed_only, record_change
from saleor_loyalty.tiers.models import Tier
from saleor_loyalty.tiers.queries import base_tier

from .models import BenefitKind, Interval, MembershipSettings, PaidPlan

MAX_AMOUNT = Decimal(10**7)
MAX_GRACE_DAYS = 60
MAX_BENEFITS = 10
MAX_URL = 2048
_PRICE = re.compile(r"(price|plan)_[A-Za-z0-9_]{1,200}")
_CHANNEL_ID = re.compile(r"[A-Za-z0-9+/=]{4,255}")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


class InvalidMembershipConfig(FieldRefusal):
    """A refusal of the merchant's input (``field``: the argument it is about)."""


class InvalidReturnUrl(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _origin(value: str) -> str:
    """``scheme://host[:port]`` of an URL, lower-case, or ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise ValueError("not an http(s) URL without credentials")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port if parts.port is not None else default_port
    return f"{parts.scheme}://{host}" + ("" if port == default_port else f":{port}")


def _allowed_scheme(origin: str) -> bool:
    """https; plain http only to this machine, and only in a development run (``DEBUG``)."""
    if origin.startswith("https://"):
        return True
    host = urlsplit(origin).hostname or ""
    return bool(settings.DEBUG) and (host in _LOCAL_HOSTS or f"[{host}]" in _LOCAL_HOSTS)


def set_return_origins(install: Install, origins: Iterable[str], *, actor: str = "operator") -> MembershipSettings:
    """The storefront origins (``https://shop.example.com``) a Checkout may send shoppers back to."""
    parsed: list[str] = []
    for value in origins:
        text = str(value).strip()
        try:
            origin = _origin(text)
        except ValueError as exc:
            raise InvalidMembershipConfig(f"{text!r}: {exc}", "return_origins") from exc
        if text.rstrip("/") != origin or not _allowed_scheme(origin):
            message = f"{text!r}: give an https origin, e.g. https://shop.example.com"
            raise InvalidMembershipConfig(message, "return_origins")
        if origin not in parsed:
            parsed.append(origin)
    with transaction.atomic():
        row, created = MembershipSettings.objects.select_for_update().get_or_create(install=install)
        before = {} if created else {"return_origins": list(row.return_origins)}
        row.return_origins = parsed
        row.save()
        record_change(install, "membership_settings", *changed_only(before, {"return_origins": parsed}), actor)
    return row


def check_return_url(install: Install, url: str, field: str) -> str:
    """``url`` if the shopper may be sent back there: an https URL (``{CHECKOUT_SESSION_ID}`` allowed) on one of the
    store's configured origins. Raises ``InvalidReturnUrl`` otherwise — never an open redirect through Stripe."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidReturnUrl(field, f"must be an https URL of at most {MAX_URL} characters")
    try:
        origin = _origin(url)
    except ValueError as exc:
        raise InvalidReturnUrl(field, "must be an https URL on the store's storefront") from exc
    row = MembershipSettings.objects.filter(install=install).first()
    allowed = list(row.return_origins) if row is not None else []
    if not allowed:
        raise InvalidReturnUrl(field, "the store has not configured where Checkout may return to")
    if origin not in allowed or not _allowed_scheme(origin):
        raise InvalidReturnUrl(field, "must be on the store's storefront (an allowed https origin)")
    return url


def _amount(value: object, currency: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidMembershipConfig("amount must be a number", "amount") from exc
    if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
        raise InvalidMembershipConfig(f"amount must be above 0 and at most {MAX_AMOUNT}", "amount")
    if amount != amount.quantize(Decimal(1).scaleb(-currency_exponent(currency))):
        raise InvalidMembershipConfig(f"amount has more decimals than {currency} allows", "amount")
    return amount


def parse_benefits(benefits: Iterable[Mapping[str, Any]], currency: str) -> list[dict[str, str]]:
    """``[{"kind": "free_shipping", "channel_id": "Q2hhbm5lbDox"}, {"kind": "fixed_amount", "channel_id": …,
    "value": "5.00"}]`` checked and normalised (fixed amounts in the plan's currency)."""
    parsed: list[dict[str, str]] = []
    for index, benefit in enumerate(benefits):
        kind = str(benefit.get("kind", "")).strip()
        channel_id = str(benefit.get("channel_id", "")).strip()
        if kind not in BenefitKind.values:
            raise InvalidMembershipConfig(f"benefit {index}: kind must be one of {', '.join(BenefitKind.values)}")
        if not _CHANNEL_ID.fullmatch(channel_id):
            raise InvalidMembershipConfig(f"benefit {index}: channel_id must be a Saleor channel id", "benefits")
        entry = {"kind": kind, "channel_id": channel_id}
        if kind == BenefitKind.FIXED_AMOUNT:
            entry["value"] = str(_amount(benefit.get("value", ""), currency))
        elif benefit.get("value") not in (None, ""):
            raise InvalidMembershipConfig(f"benefit {index}: free shipping takes no value", "benefits")
        parsed.append(entry)
    if len(parsed) > MAX_BENEFITS:
        raise InvalidMembershipConfig(f"at most {MAX_BENEFITS} benefits per plan", "benefits")
    return parsed


def _plan_state(plan: PaidPlan | None) -> dict[str, Any]:
    if plan is None:
        return {}
    return {
        "tier": plan.tier.name,
        "amount": as_json(plan.amount),
        "currency": plan.currency,
        "interval": plan.interval,
        "interval_count": plan.interval_count,
        "stripe_price_id": plan.stripe_price_id,
        "is_active": plan.is_active,
        "grace_days": plan.grace_days,
        "benefits": list(plan.benefits),
    }


def set_paid_plan(
    install: Install,
    *,
    name: str,
    tier_name: str,
    amount: object,
    currency: str,
    interval: str,
    stripe_price_id: str,
    interval_count: int = 1,
    grace_days: int = 7,
    benefits: Iterable[Mapping[str, Any]] = (),
    is_active: bool = True,
    actor: str = "operator",
) -> PaidPlan:
    """Create or replace the plan called ``name`` (logged). Members of it keep their subscription: Stripe charges
    what the Price says; a new Price only applies to new Checkouts."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InvalidMembershipConfig("name must be 1 to 64 characters", "name")
    currency = currency.strip().upper()
    try:
        currency_exponent(currency)
    except InvalidAmount as exc:
        raise InvalidMembershipConfig(f"{currency!r} is not a currency code", "currency") from exc
    price = _amount(amount, currency)
    if interval not in Interval.values:
        raise InvalidMembershipConfig(f"interval must be one of {', '.join(Interval.values)}", "interval")
    if isinstance(interval_count, bool) or not isinstance(interval_count, int) or not 1 <= interval_count <= 12:
        raise InvalidMembershipConfig("interval_count must be between 1 and 12", "interval_count")
    if not _PRICE.fullmatch(stripe_price_id.strip()):
        raise InvalidMembershipConfig("stripe_price_id must be a Stripe Price id (price_…)", "stripe_price_id")
    if isinstance(grace_days, bool) or not isinstance(grace_days, int) or not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise InvalidMembershipConfig(f"grace_days must be between 0 and {MAX_GRACE_DAYS}", "grace_days")
    parsed_benefits = parse_benefits(benefits, currency)
    tier = Tier.objects.filter(install=install, name=tier_name.strip(), is_active=True).first()
    if tier is None:
        raise InvalidMembershipConfig(f"no active tier called {tier_name!r}", "tier")
    if base_tier(install.pk) == tier:
        raise InvalidMembershipConfig(f"{tier.name} is the base tier: every member is already in it", "tier")
    with transaction.atomic():
        existing = PaidPlan.objects.select_for_update().select_related("tier").filter(install=install, name=name)
        before = _plan_state(existing.first())
        plan, _ = PaidPlan.objects.update_or_create(
            install=install,
            name=name,
            defaults={
                "tier": tier,
                "amount": price,
                "currency": currency,
                "interval": interval,
                "interval_count": interval_count,
                "stripe_price_id": stripe_price_id.strip(),
                "grace_days": grace_days,
                "benefits": parsed_benefits,
                "is_active": is_active,
            },
        )
        record_change(install, f"paid_plan:{name}", *changed_only(before, _plan_state(plan)), actor)
    return plan
