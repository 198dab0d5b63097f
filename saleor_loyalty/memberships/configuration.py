"""The merchant's membership writes, validated: paid plans, the storefront origins Checkout may return to, and the
store's Stripe connection (which paid plans and rebate payouts share).

Used by the operator command (``set_paid_plan``) and the staff API (``create_paid_plan``, ``update_paid_plan``,
``archive_paid_plan``, ``set_return_origins``, ``connect_stripe_account``); every write is recorded in the change log
(``program.settings_changes``) like the tier program's. A plan is never deleted: its memberships name it.
"""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from saleor_loyalty.core.money import InvalidAmount, currency_exponent, from_minor_units, quantum, to_minor_units
from saleor_loyalty.core.refusals import FieldRefusal
from saleor_loyalty.installs.models import Install
from saleor_loyalty.payments.actions import connect_stripe, disconnect_stripe
from saleor_loyalty.payments.client import StripeNotConnected, StripeOutcomeUnknown, StripeRefused
from saleor_loyalty.payments.models import StripeAccount
from saleor_loyalty.payments.prices import stripe_price
from saleor_loyalty.program.settings_changes import as_json, changed_only, record_change
from saleor_loyalty.saleor.channels import store_channels
from saleor_loyalty.saleor.client import SaleorError
from saleor_loyalty.tiers.models import Tier
from saleor_loyalty.tiers.queries import base_tier

from .models import BenefitKind, Interval, Membership, MembershipSettings, MembershipStatus, PaidPlan

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
        if len(text) > MAX_URL:
            raise InvalidMembershipConfig(f"an origin is at most {MAX_URL} characters", "return_origins")
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


def connect_stripe_account(
    install: Install, *, secret_key: str, webhook_secret: str, publishable_key: str = "", actor: str
) -> StripeAccount:
    """``payments.actions.connect_stripe``, recorded in the change log (subject ``stripe``): the mode, the
    publishable key and the secrets' last characters, never a secret. Replacing keys by the same ones records
    nothing."""
    with transaction.atomic():
        before = _stripe_state(StripeAccount.objects.select_for_update().filter(install=install).first())
        account = connect_stripe(install, secret_key, webhook_secret, publishable_key)
        record_change(install, "stripe", *changed_only(before, _stripe_state(account)), actor)
    return account


def disconnect_stripe_account(install: Install, *, actor: str) -> bool:
    """``payments.actions.disconnect_stripe``, recorded in the change log. False: none was connected."""
    with transaction.atomic():
        before = _stripe_state(StripeAccount.objects.select_for_update().filter(install=install).first())
        if not disconnect_stripe(install):
            return False
        record_change(install, "stripe", *changed_only(before, _stripe_state(None)), actor)
    return True


def _stripe_state(account: StripeAccount | None) -> dict[str, Any]:
    if account is None:
        return {"connected": False}
    return {
        "connected": True,
        "mode": "live" if account.livemode else "test",
        "publishable_key": account.publishable_key,
        "secret_key_ending": account.secret_key[-4:],
        "webhook_secret_ending": account.webhook_secret[-4:],
    }


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


def _amount(value: object, currency: str, field: str = "amount", what: str = "amount") -> Decimal:
    """A price in ``currency``: above 0, at most ``MAX_AMOUNT``, with no more decimals than the currency has (the
    money helpers' exponent: 2 for USD, 0 for JPY, 3 for KWD)."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidMembershipConfig(f"{what} must be a number", field) from exc
    if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
        raise InvalidMembershipConfig(f"{what} must be above 0 and at most {MAX_AMOUNT}", field)
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        allowed = "no decimals" if exponent == 0 else f"at most {exponent} decimals"
        raise InvalidMembershipConfig(f"{what} has more decimals than {currency} allows ({allowed})", field)
    return amount.quantize(quantum(currency))


def parse_benefits(benefits: Iterable[Mapping[str, Any]], currency: str) -> list[dict[str, str]]:
    """``[{"kind": "free_shipping", "channel_id": "Q2hhbm5lbDox"}, {"kind": "fixed_amount", "channel_id": …,
    "value": "5.00"}]`` checked and normalised (fixed amounts in the plan's currency)."""
    parsed: list[dict[str, str]] = []
    for index, benefit in enumerate(benefits):
        kind = str(benefit.get("kind", "")).strip()
        channel_id = str(benefit.get("channel_id", "")).strip()
        if kind not in BenefitKind.values:
            message = f"benefit {index + 1}: kind must be one of {', '.join(BenefitKind.values)}"
            raise InvalidMembershipConfig(message, "benefits")
        if not _CHANNEL_ID.fullmatch(channel_id):
            raise InvalidMembershipConfig(f"benefit {index + 1}: channel_id must be a Saleor channel id", "benefits")
        entry = {"kind": kind, "channel_id": channel_id}
        if kind == BenefitKind.FIXED_AMOUNT:
            entry["value"] = str(_amount(benefit.get("value", ""), currency, "benefits", f"benefit {index + 1}: value"))
        elif benefit.get("value") not in (None, ""):
            raise InvalidMembershipConfig(f"benefit {index + 1}: free shipping takes no value", "benefits")
        parsed.append(entry)
    if len(parsed) > MAX_BENEFITS:
        raise InvalidMembershipConfig(f"at most {MAX_BENEFITS} benefits per plan", "benefits")
    return parsed


def _plan_state(plan: PaidPlan | None) -> dict[str, Any]:
    if plan is None:
        return {}
    return {
        "name": plan.name,
        "tier": plan.tier.name,
        "amount": as_json(Decimal(plan.amount).quantize(quantum(plan.currency))),
        "currency": plan.currency,
        "interval": plan.interval,
        "interval_count": plan.interval_count,
        "stripe_price_id": plan.stripe_price_id,
        "is_active": plan.is_active,
        "grace_days": plan.grace_days,
        "benefits": list(plan.benefits),
    }


def _plan_state_value(values: Mapping[str, Any], field: str) -> Any:
    """A checked value as ``_plan_state`` writes it (to compare with the state before an edit)."""
    if field == "amount":
        return as_json(Decimal(values["amount"]).quantize(quantum(values["currency"])))
    return values[field]


def _whole(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidMembershipConfig(f"{field} must be a whole number between {low} and {high}", field)
    return value


def _checked(install: Install, plan: Mapping[str, Any]) -> dict[str, Any]:
    """A whole plan's fields, checked and normalised as the model keeps them (``tier``: the ``Tier`` row). Raises
    ``InvalidMembershipConfig`` naming the first field refused."""
    name = str(plan.get("name") or "").strip()
    if not name or len(name) > 64:
        raise InvalidMembershipConfig("name must be 1 to 64 characters", "name")
    currency = str(plan.get("currency") or "").strip().upper()
    try:
        currency_exponent(currency)
    except InvalidAmount as exc:
        raise InvalidMembershipConfig(f"{currency[:10]!r} is not a currency code", "currency") from exc
    price = _amount(plan.get("amount"), currency)
    interval = str(plan.get("interval") or "").strip().lower()
    if interval not in Interval.values:
        raise InvalidMembershipConfig(f"interval must be one of {', '.join(Interval.values)}", "interval")
    interval_count = _whole(plan.get("interval_count", 1), "interval_count", 1, 12)
    stripe_price_id = str(plan.get("stripe_price_id") or "").strip()
    if not _PRICE.fullmatch(stripe_price_id):
        raise InvalidMembershipConfig("stripe_price_id must be a Stripe Price id (price_…)", "stripe_price_id")
    grace_days = _whole(plan.get("grace_days", 7), "grace_days", 0, MAX_GRACE_DAYS)
    parsed_benefits = parse_benefits(plan.get("benefits") or (), currency)
    is_active = plan.get("is_active", True)
    if not isinstance(is_active, bool):
        raise InvalidMembershipConfig("is_active must be true or false", "is_active")
    tier_name = str(plan.get("tier") or "").strip()
    tier = Tier.objects.filter(install=install, name=tier_name, is_active=True).first()
    if tier is None:
        raise InvalidMembershipConfig(f"no active tier called {tier_name[:64]!r}", "tier")
    if base_tier(install.pk) == tier:
        raise InvalidMembershipConfig(f"{tier.name} is the base tier: every member is already in it", "tier")
    return {
        "name": name,
        "tier": tier,
        "amount": price,
        "currency": currency,
        "interval": interval,
        "interval_count": interval_count,
        "stripe_price_id": stripe_price_id,
        "grace_days": grace_days,
        "benefits": parsed_benefits,
        "is_active": is_active,
    }


def subscribers(plan: PaidPlan) -> int:
    """Members whose subscription to the plan runs, or whose tier it still holds (a canceled one to its period's
    end): the plan is theirs, so what it sells may not change under them, and it is never deleted."""
    live = Q(status__in=(MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE)) | Q(tier_held=True)
    return Membership.objects.filter(plan=plan).filter(live).count()


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
    """Create the plan called ``name``, or change it to these values (the operator command), through the same
    writes and rules as the dashboard's (``create_paid_plan``, ``update_paid_plan``). Members of it keep their
    subscription: Stripe charges what the Price says; a new Price only applies to new Checkouts."""
    plan = {
        "name": name,
        "tier": tier_name,
        "amount": amount,
        "currency": currency,
        "interval": interval,
        "interval_count": interval_count,
        "stripe_price_id": stripe_price_id,
        "grace_days": grace_days,
        "benefits": list(benefits),
        "is_active": is_active,
    }
    existing = PaidPlan.objects.filter(install=install, name=str(name).strip()).first()
    if existing is None:
        return create_paid_plan(install, plan, actor=actor)
    return update_paid_plan(existing, plan, actor=actor)


# What Stripe Checkout charges comes from the Price: the plan must say the same.
_PRICED = ("stripe_price_id", "amount", "currency", "interval", "interval_count")


def _check_stripe_price(install: Install, values: Mapping[str, Any]) -> None:
    """Refuse a plan whose Stripe Price charges something else than the plan shows (amount, currency, interval), is
    archived in Stripe, is one-time, or does not exist. Not checked while the store has not connected Stripe (nothing
    can be sold then); Stripe unreachable refuses the save (try again), so a plan is never sold unchecked."""
    price_id = str(values["stripe_price_id"])
    try:
        price = stripe_price(install, price_id)
    except StripeNotConnected:
        return
    except StripeRefused as exc:
        if exc.code == "resource_missing":
            message = f"Stripe has no price {price_id}: copy the Price's id from Stripe (Product catalogue)"
            raise InvalidMembershipConfig(message, "stripe_price_id") from exc
        raise InvalidMembershipConfig(f"Stripe refused to show {price_id}: {exc.message}", "stripe_price_id") from exc
    except StripeOutcomeUnknown as exc:
        message = "Stripe could not be asked about the price just now: nothing was saved, try again"
        raise InvalidMembershipConfig(message, "stripe_price_id") from exc
    if not price.active:
        raise InvalidMembershipConfig(f"{price_id} is archived in Stripe: Checkout cannot sell it", "stripe_price_id")
    if price.interval is None or price.unit_amount is None:
        message = f"{price_id} is not a recurring price of a fixed amount: a plan needs one (a subscription)"
        raise InvalidMembershipConfig(message, "stripe_price_id")
    currency, amount = str(values["currency"]), Decimal(values["amount"])
    charged = (price.currency, price.unit_amount, price.interval, price.interval_count)
    shown = (currency, to_minor_units(amount, currency), str(values["interval"]), int(values["interval_count"]))
    if charged != shown:
        stripe_says = _terms(
            from_minor_units(price.unit_amount, price.currency), price.currency, price.interval, price.interval_count
        )
        plan_says = _terms(amount, currency, str(values["interval"]), int(values["interval_count"]))
        message = f"Stripe's {price_id} charges {stripe_says}; this plan says {plan_says}: make them the same"
        field = "currency" if charged[0] != shown[0] else "amount" if charged[1] != shown[1] else "interval"
        raise InvalidMembershipConfig(message, field)


def _check_benefit_channels(install: Install, values: Mapping[str, Any]) -> None:
    """Refuse a benefit in a channel the store does not have, and a fixed amount off in a channel of another currency
    than the plan's: a voucher's amount is in its channel's currency, so "5.00 off" in a PLN channel of a USD plan
    would give 5.00 PLN. Free shipping may be in any of the store's channels (it has no amount). The channels are
    asked of Saleor (cached a few minutes); a store that cannot be asked refuses the save (try again)."""
    benefits = values["benefits"]
    if not benefits:
        return
    try:
        channels = {channel.id: channel for channel in store_channels(install)}
    except SaleorError as exc:
        message = "the store's channels could not be read just now: nothing was saved, try again"
        raise InvalidMembershipConfig(message, "benefits") from exc
    currency = str(values["currency"])
    for index, benefit in enumerate(benefits):
        channel = channels.get(benefit["channel_id"])
        if channel is None:
            message = f"benefit {index + 1}: the store has no channel {benefit['channel_id']}"
            raise InvalidMembershipConfig(message, "benefits")
        if benefit["kind"] == BenefitKind.FIXED_AMOUNT and channel.currency != currency:
            message = (
                f"benefit {index + 1}: {channel.name} sells in {channel.currency}, and an amount off is in the plan's"
                f" currency ({currency}): pick a {currency} channel"
            )
            raise InvalidMembershipConfig(message, "benefits")


def _terms(amount: Decimal, currency: str, interval: str, count: int) -> str:
    every = f"every {interval}" if count == 1 else f"every {count} {interval}s"
    return f"{amount.quantize(quantum(currency))} {currency} {every}"


def create_paid_plan(install: Install, plan: Mapping[str, Any], *, actor: str) -> PaidPlan:
    """A new plan (the dashboard): ``plan`` holds the model's fields by name, ``tier`` by the tier's name; the
    defaults of the fields left out are the model's. A name already used is refused (``update_paid_plan`` edits).
    Its Stripe Price must charge what it shows (``_check_stripe_price``)."""
    values = _checked(install, plan)
    _check_benefit_channels(install, values)
    _check_stripe_price(install, values)
    taken = InvalidMembershipConfig(f"a plan called {values['name']!r} exists already", "name")
    try:
        with transaction.atomic():
            if PaidPlan.objects.filter(install=install, name=values["name"]).exists():
                raise taken
            created = PaidPlan.objects.create(install=install, **values)  # the name's unique: a racing twin fails
            record_change(install, f"paid_plan:{created.name}", *changed_only({}, _plan_state(created)), actor)
    except IntegrityError as exc:
        raise taken from exc
    return created


# What may not change while the plan has subscribers: the tier their membership holds, and the currency their Stripe
# subscription is in (Stripe cannot change it either). The price may: a new Price applies to new Checkouts only.
_FIXED_FOR_SUBSCRIBERS = {"tier": "the tier it sells", "currency": "its currency"}


def update_paid_plan(plan: PaidPlan, changes: Mapping[str, Any], *, actor: str) -> PaidPlan:
    """Change the fields given (``tier`` by name), checked as a whole; logged under the plan's (new) name. Members
    keep their subscription and its Price; a changed Price, amount or interval applies to new Checkouts."""
    try:
        return _update(plan, changes, actor)
    except IntegrityError as exc:  # renamed at the same moment as another plan to the same name
        raise InvalidMembershipConfig("another plan has that name now", "name") from exc


def _update(plan: PaidPlan, changes: Mapping[str, Any], actor: str) -> PaidPlan:
    with transaction.atomic():
        row = PaidPlan.objects.select_for_update().select_related("tier").get(pk=plan.pk)
        before = _plan_state(row)
        values = _checked(row.install, {**before, **changes})
        for field, what in _FIXED_FOR_SUBSCRIBERS.items():
            now = values[field].name if field == "tier" else values[field]
            if now != before[field] and (count := subscribers(row)):
                members = "One member subscribes" if count == 1 else f"{count} members subscribe"
                message = f"{members} to this plan: {what} cannot change; archive it and create a new plan instead"
                raise InvalidMembershipConfig(message, field)
        if values["name"] != row.name and PaidPlan.objects.filter(install=row.install, name=values["name"]).exists():
            raise InvalidMembershipConfig(f"a plan called {values['name']!r} exists already", "name")
        if values["benefits"] != before["benefits"] or values["currency"] != before["currency"]:
            _check_benefit_channels(row.install, values)  # asked of Saleor (cached) while the row is locked
        repriced = any(_plan_state_value(values, f) != before[f] for f in _PRICED)
        if values["is_active"] and (repriced or not before["is_active"]):  # what a Checkout would sell from now
            _check_stripe_price(row.install, values)  # a Stripe call while the plan's row is locked: edits are rare
        for field, value in values.items():
            setattr(row, field, value)
        row.save()
        record_change(row.install, f"paid_plan:{row.name}", *changed_only(before, _plan_state(row)), actor)
    return row


def archive_paid_plan(plan: PaidPlan, *, actor: str) -> PaidPlan:
    """Stop selling the plan. Never a deletion: its members keep their subscription, tier and benefits until it
    ends, and their memberships keep naming it. ``update_paid_plan(is_active=True)`` sells it again."""
    return update_paid_plan(plan, {"is_active": False}, actor=actor)
