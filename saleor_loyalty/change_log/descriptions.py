"""The change log as a merchant reads it: what each change is about, by name, and each changed value labelled and
written out (choices by their label, decimals without trailing zeros, thresholds and lists as text).

The log itself (``SettingsChange``) keeps the raw values, as the writers recorded them; this only describes them,
where the knowledge of the labels and names lives. Dates and times are left as ISO 8601 and marked, so that the
reader formats them in their own locale and time zone.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from saleor_loyalty.installs.models import Install
from saleor_loyalty.notifications.configuration import EDITABLE as EMAIL_SETTINGS
from saleor_loyalty.notifications.models import NotificationKind
from saleor_loyalty.program.models import (
    Campaign,
    ClawbackPolicy,
    EarningAction,
    ExpiryPolicy,
    GuestOrderPolicy,
    SettingsChange,
)
from saleor_loyalty.program.settings_changes import EDITABLE as PROGRAM_SETTINGS
from saleor_loyalty.rebates.configuration import EDITABLE as REBATE_PROGRAM
from saleor_loyalty.rebates.models import PayoutMethod, PeriodKind, RecoveryPolicy, ThresholdMode
from saleor_loyalty.redemption.models import Reward, RewardKind
from saleor_loyalty.referrals.configuration import EDITABLE as REFERRAL_TERMS
from saleor_loyalty.saleor import catalog, channels
from saleor_loyalty.tiers.models import POINTS_UNIT, Basis, WindowKind


@dataclass(frozen=True)
class ChangedValue:
    field: str  # the key in the change's before/after
    label: str
    before: str | None  # as shown; None: no value
    after: str | None
    is_date_time: bool = False  # before/after are ISO 8601: the reader formats them


@dataclass(frozen=True)
class DescribedChange:
    change: SettingsChange
    title: str
    values: list[ChangedValue]

    # the log row's own fields, for the API type
    @property
    def pk(self) -> int:
        return self.change.pk

    @property
    def subject(self) -> str:
        return self.change.subject

    @property
    def actor(self) -> str:
        return self.change.actor

    @property
    def before(self) -> Any:
        return self.change.before

    @property
    def after(self) -> Any:
        return self.change.after

    @property
    def changed_at(self) -> datetime:
        return self.change.changed_at


# -- labels, by what a change is about -------------------------------------------------------------------------

_TIER_SETTINGS = {
    "basis": "Tiers are reached by",
    "window_kind": "Counted over",
    "window_days": "Window (days)",
    "grace_days": "Grace before a downgrade (days)",
    "is_active": "Tiers active",
}
_EARN_RULE = {
    "points_per_unit": "Points per currency unit",
    "include_tax": "Tax earns points",
    "include_shipping": "Shipping earns points",
    "min_order_amount": "Minimum order amount",
    "is_active": "Active",
    "multipliers": "Multipliers",
}
_TIER = {
    "rank": "Rank",
    "multiplier": "Earn multiplier",
    "bonus_points": "Bonus on reaching it (points)",
    "perks": "Perks",
    "access": "Access flags",
    "is_active": "Active",
    "thresholds": "Thresholds",
}
_REWARD = {
    "name": "Name",
    "kind": "Gives",
    "points_cost": "Cost (points)",
    "channel_slug": "Channel",
    "value": "Value",
    "max_amount": "At most (amount off)",
    "variant_id": "Free product (variant)",
    "per_shopper_limit": "Times per shopper",
    "starts_at": "Offered from",
    "ends_at": "Offered until",
    "description": "Description",
    "is_active": "Offered",
}
_CAMPAIGN = {
    "name": "Name",
    "starts_at": "Starts",
    "ends_at": "Ends",
    "multiplier": "Multiplier",
    "fixed_bonus": "Fixed bonus (points)",
    "channel_slug": "Channel",
    "product_ids": "Products",
    "category_ids": "Categories",
    "tiers": "Tiers",
    "is_active": "Switched on",
}
_EARNING_ACTION = {
    "name": "Name",
    "points": "Points per action",
    "max_per_period": "Times per customer per period",
    "period_days": "Period (days)",
    "is_active": "Active",
}
_API_KEY = {"name": "What uses it", "revoked": "Revoked"}
# A paid plan's fields as the Payments tab's form labels them.
_PAID_PLAN = {
    "name": "Plan name",
    "tier": "Tier it sells",
    "amount": "Price shown",
    "currency": "Currency",
    "interval": "Billed",
    "interval_count": "Every (intervals)",
    "stripe_price_id": "Stripe Price",
    "grace_days": "Grace after a failed payment (days)",
    "benefits": "Benefits per paid period",
    "is_active": "On sale",
}
_PLAN_INTERVALS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}

_LABELS: dict[str, Mapping[str, str]] = {
    "program": {name: editable.label for name, editable in PROGRAM_SETTINGS.items()},
    "emails": {name: editable.label for name, editable in EMAIL_SETTINGS.items()},
    "referral_program": {name: editable.label for name, editable in REFERRAL_TERMS.items()},
    "tier_settings": _TIER_SETTINGS,
    "earn_rule": _EARN_RULE,
    "tier": _TIER,
    "reward": _REWARD,
    "campaign": _CAMPAIGN,
    "earning_action": _EARNING_ACTION,
    "api_key": _API_KEY,
    "rebate_program": {name: editable.label for name, editable in REBATE_PROGRAM.items()},
    "paid_plan": _PAID_PLAN,
    "membership_settings": {"return_origins": "Checkout may return to"},
    "stripe": {
        "connected": "Connected",
        "mode": "Mode",
        "publishable_key": "Publishable key",
        "secret_key_ending": "Secret key ending in",
        "webhook_secret_ending": "Webhook secret ending in",
    },
}

# Values that are a choice's code, shown by the choice's label.
_CHOICES: dict[str, type[Any]] = {
    "expiry_policy": ExpiryPolicy,
    "clawback_policy": ClawbackPolicy,
    "guest_orders": GuestOrderPolicy,
    "registered_email_guest_orders": GuestOrderPolicy,
    "basis": Basis,
    "window_kind": WindowKind,
    "kind": RewardKind,
    "disabled_kinds": NotificationKind,
}
# A reward's kind as the Rewards tab offers it (the model's labels are the operators' words).
_REWARD_KINDS = {
    RewardKind.FIXED_AMOUNT: "An amount off",
    RewardKind.PERCENTAGE: "A percentage off",
    RewardKind.FREE_SHIPPING: "Free shipping",
    RewardKind.FREE_PRODUCT: "A free product",
}
# A rebate program's choices as its form offers them, after their labels ("A rate reached applies to ...").
_REBATE_CHOICES: dict[str, dict[str, str]] = {
    "period": {PeriodKind.MONTHLY: "monthly", PeriodKind.QUARTERLY: "quarterly"},
    "payout_method": {PayoutMethod.STORE_CREDIT: "store credit (a Saleor gift card)", PayoutMethod.STRIPE: "Stripe"},
    "threshold_mode": {
        ThresholdMode.WHOLE: "all of the period's spend",
        ThresholdMode.MARGINAL: "only the spend above its threshold",
    },
    "recovery_policy": {
        RecoveryPolicy.NET: "deducted from the shopper's next rebates",
        RecoveryPolicy.WRITE_OFF: "written off by the store",
    },
}
_STORE_IDS = {"product_ids", "category_ids"}  # Saleor ids, shown by the store's names for them
_DATE_TIMES = {"starts_at", "ends_at"}
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")
_EVERY_CHANNEL = {"campaign"}  # an empty channel means every channel


def _kind(subject: str) -> tuple[str, str]:
    """("campaign", "3") for "campaign:3"; ("program", "") for "program"."""
    kind, _, rest = subject.partition(":")
    return kind, rest


def _number(value: str) -> str:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return value
    if not number.is_finite():
        return value
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _choice(choices: type[Any], value: Any) -> str:
    try:
        return str(choices(str(value).lower()).label)
    except ValueError:
        return str(value)


def _thresholds(value: Mapping[str, Any]) -> str:
    """{"USD": ["500.0000", "400"], "PTS": ["1000", null]} → "1000 points; 500 USD (keep at 400)"."""
    parts = []
    for unit, amounts in sorted(value.items()):
        qualify, retain = [*amounts, None, None][:2] if isinstance(amounts, list | tuple) else (amounts, None)
        text = f"{_number(str(qualify))} {'points' if unit == POINTS_UNIT else unit}"
        if retain is not None and _number(str(retain)) != _number(str(qualify)):
            text += f" (keep at {_number(str(retain))})"
        parts.append(text)
    return "; ".join(parts)


def _multipliers(value: Mapping[str, Any]) -> str:
    """{"product:UHJ…": "2.0000"} → "×2 product UHJ…"."""
    return "; ".join(f"×{_number(str(factor))} {target.replace(':', ' ', 1)}" for target, factor in value.items())


def _rebate_terms(field: str, value: Any, store_names: Mapping[str, str]) -> str | None:
    """A rebate program's bands, tier rates and line rates as text; None for any other field."""
    if field == "bands" and isinstance(value, list):
        return "; ".join(f"{_number(str(b.get('rate')))}% from {_number(str(b.get('threshold')))}" for b in value)
    if field == "tier_rates" and isinstance(value, dict):
        return "; ".join(
            f"{name} {_number(str(entry.get('rate')))}% instead of the band rate"
            if entry.get("mode") == "override"
            else f"{name} +{_number(str(entry.get('rate')))}%"
            for name, entry in value.items()
        )
    if field == "line_rates" and isinstance(value, dict):
        parts = []
        for key, rate in value.items():
            target, _, saleor_id = str(key).partition(":")
            parts.append(f"{_number(str(rate))}% {target} {store_names.get(saleor_id) or saleor_id}")
        return "; ".join(parts)
    if field in _REBATE_CHOICES:
        return _REBATE_CHOICES[field].get(str(value), str(value))
    return None


def _plan_terms(field: str, value: Any, store_names: Mapping[str, str]) -> str | None:
    """A paid plan's interval and benefits (each channel by its name in the store) as text; None for any other
    field."""
    if field == "interval":
        return _PLAN_INTERVALS.get(str(value), str(value))
    if field == "benefits" and isinstance(value, list):
        parts = []
        for benefit in value:
            entry = benefit if isinstance(benefit, dict) else {}
            channel_id = str(entry.get("channel_id", ""))
            channel = store_names.get(channel_id) or f"channel {channel_id}"
            if entry.get("kind") == "fixed_amount":
                parts.append(f"{_number(str(entry.get('value')))} off in {channel}")
            else:
                parts.append(f"free shipping in {channel}")
        return "; ".join(parts)
    return None


def shown(kind: str, field: str, value: Any, store_names: Mapping[str, str] | None = None) -> str | None:
    """A value as the change log shows it; None for no value (null, empty text, an empty list). ``store_names``:
    the store's names of products and categories, by Saleor id (an id without one is shown as it is)."""
    if value is None or value in ("", [], {}):
        return "every channel" if kind in _EVERY_CHANNEL and field == "channel_slug" and value == "" else None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "rebate_program" and (text := _rebate_terms(field, value, store_names or {})) is not None:
        return text
    if kind == "paid_plan" and (text := _plan_terms(field, value, store_names or {})) is not None:
        return text
    if field in _STORE_IDS and isinstance(value, list):
        return ", ".join((store_names or {}).get(str(v)) or str(v) for v in value)
    if kind == "reward" and field == "kind" and str(value).lower() in _REWARD_KINDS:
        return _REWARD_KINDS[RewardKind(str(value).lower())]
    if field in _CHOICES:
        choices = _CHOICES[field]
        return ", ".join(_choice(choices, v) for v in value) if isinstance(value, list) else _choice(choices, value)
    if field == "thresholds" and isinstance(value, dict):
        return _thresholds(value)
    if field == "multipliers" and isinstance(value, dict):
        return _multipliers(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if field == "multiplier":
        return f"×{_number(str(value))}"
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return _number(value)  # a decimal the log keeps as text ("1.5000")
    return str(value)


def _label(kind: str, field: str) -> str:
    return _LABELS.get(kind, {}).get(field) or field.replace("_", " ").capitalize()


def _values(change: SettingsChange, store_names: Mapping[str, str]) -> list[ChangedValue]:
    kind, _ = _kind(change.subject)
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else {}
    order = list(_LABELS.get(kind, {}))  # the order of the page's form; fields it does not know come last
    fields = sorted(dict.fromkeys([*before, *after]), key=lambda f: order.index(f) if f in order else len(order))
    values = []
    for field in fields:
        was = shown(kind, field, before.get(field), store_names)
        now = shown(kind, field, after.get(field), store_names)
        if was is None and now is None:
            continue  # a field the change left empty (a new reward's unused cap): nothing to say
        values.append(ChangedValue(field, _label(kind, field), was, now, is_date_time=field in _DATE_TIMES))
    return values


def _store_names(install: Install, changes: Iterable[SettingsChange]) -> dict[str, str]:
    """The store's names of the products, categories and channels the changes name (cached; at most
    ``MAX_NAME_CALLS`` calls to Saleor for products and categories and one for channels, none when no change names
    any; a store that cannot be asked leaves the ids as they are)."""
    ids: dict[str, list[str]] = {"product_ids": [], "category_ids": []}
    names_channels = False
    for change in changes:
        for side in (change.before, change.after):
            benefits = side.get("benefits") if isinstance(side, dict) else None
            names_channels = names_channels or bool(benefits and isinstance(benefits, list))
            for field, found in ids.items():
                value = side.get(field) if isinstance(side, dict) else None
                found.extend(str(v) for v in value or () if isinstance(value, list))
            rates = side.get("line_rates") if isinstance(side, dict) else None
            for key in rates if isinstance(rates, dict) else ():
                target, _, saleor_id = str(key).partition(":")
                if target in ("product", "category"):
                    ids[f"{target}_ids"].append(saleor_id)
    named = channels.channel_names(install) if names_channels else {}
    if ids["product_ids"] or ids["category_ids"]:
        items = catalog.names(install, ids["product_ids"], ids["category_ids"])
        named.update({saleor_id: item.name for saleor_id, item in items.items() if item.name})
    return named


# What a subject's key is, per kind named by its current name: the row's id, or the earning action's code.
_NAMED: dict[str, tuple[Callable[..., Any], str]] = {
    "reward": (Reward.objects.filter, "pk"),
    "campaign": (Campaign.objects.filter, "pk"),
    "earning_action": (EarningAction.objects.filter, "code"),
}


def _names(install: Install, changes: Iterable[SettingsChange]) -> dict[str, str]:
    """The current names of the rewards, campaigns and earning actions the changes are about, by subject (one query
    per kind at most)."""
    keys: dict[str, set[str]] = {kind: set() for kind in _NAMED}
    for change in changes:
        kind, rest = _kind(change.subject)
        if kind in keys and rest and (rest.isdigit() or _NAMED[kind][1] != "pk"):
            keys[kind].add(rest)
    names: dict[str, str] = {}
    for kind, found in keys.items():
        if found:
            rows, key = _NAMED[kind]
            for value, name in rows(install=install, **{f"{key}__in": found}).values_list(key, "name"):
                names[f"{kind}:{value}"] = name
    return names


def _title(change: SettingsChange, names: Mapping[str, str]) -> str:
    kind, rest = _kind(change.subject)
    fixed = {
        "program": "Program settings",
        "emails": "Emails",
        "tier_settings": "How tiers are reached",
        "referral_program": "Referral terms",
        "membership_settings": "Where Checkout returns shoppers",
        "stripe": "Stripe account",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "earn_rule":
        channel, _, currency = rest.partition("/")
        return f"Earn rule of {channel} ({currency})"
    if kind == "rebate_program":
        channel, _, currency = rest.partition("/")
        return f"Rebates in {channel} ({currency})"
    if kind in _NAMED:
        # the name it has now, else the one it was created with, else its number (an earning action: its code)
        after = change.after if isinstance(change.after, dict) else {}
        name = names.get(change.subject) or after.get("name") or (f"#{rest}" if rest.isdigit() else rest)
        return f"{kind.replace('_', ' ').capitalize()} {name}"
    prefixes = {"tier": "Tier", "api_key": "API key", "paid_plan": "Paid plan"}
    if kind in prefixes:
        return f"{prefixes[kind]} {rest}{'…' if kind == 'api_key' else ''}"
    return change.subject


def describe_changes(install: Install, changes: list[SettingsChange]) -> list[DescribedChange]:
    """Each change with its title and its labelled values, in the same order."""
    names, store_names = _names(install, changes), _store_names(install, changes)
    return [DescribedChange(change, _title(change, names), _values(change, store_names)) for change in changes]
