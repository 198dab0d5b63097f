"""Custom earning actions reported by the merchant's own server (``recordEvent``): reviews, follows, newsletter.

Idempotent by the reporter's key, capped per member per action per period, and only for a known customer.

The reporter is trusted to say *what* happened, not to rewrite the cap: ``occurredAt`` must lie within
``LOYALTY_EVENT_MAX_AGE_HOURS`` in the past and ``MAX_FUTURE_SKEW`` in the future, and the cap counts events by
when the app received them (``created_at``), so a backdated event cannot fall outside the window it is counted in.
A customer id the app has no member for yet must be a Saleor ``User`` id that the store itself confirms (asked
with the app token); anything else is refused and nobody is enrolled.
"""

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from saleor_loyalty.installs.allowlist import is_allowed
from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.saleor.client import SaleorClient, SaleorError

from .issuing import issue_points
from .models import EarningAction, EarningEvent, ServerApiKey
from .rules import program_settings

KEY_PREFIX = "lsk_"
MAX_FUTURE_SKEW = timedelta(minutes=5)  # reporters' clocks drift; further ahead is a mistake or a trick
_USER_PK = re.compile(r"[1-9][0-9]{0,18}")  # ASCII digits only: str.isdigit() and int() accept other scripts


class EventRefused(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once; only its hash is stored
    record: ServerApiKey


def issue_api_key(install: Install, name: str) -> IssuedKey:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ServerApiKey.objects.create(
        install=install, name=name, prefix=key[:10], key_sha256=hashlib.sha256(key.encode()).hexdigest()
    )
    return IssuedKey(key=key, record=record)


def install_for_api_key(key: str) -> Install | None:
    if not key.startswith(KEY_PREFIX):
        return None
    record = (
        ServerApiKey.objects.select_related("install")
        .filter(key_sha256=hashlib.sha256(key.encode()).hexdigest(), revoked_at__isnull=True)
        .first()
    )
    if record is None or not record.install.is_active or not is_allowed(record.install.saleor_api_url):
        return None  # an uninstalled store's keys, or a store taken off ALLOWED_SALEOR_URLS, authenticate nothing
    return record.install


def _storable(text: str) -> bool:
    """Text PostgreSQL can hold: no NUL, nothing that is not UTF-8 (a lone surrogate from JSON's ``\\ud800``)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def is_user_id(value: str) -> bool:
    """Whether ``value`` is a Saleor ``User`` global id exactly as Saleor writes it: base64 of ``User:<pk>``.

    Canonical only (padding, no leading zeros), so one customer can never be two members under two spellings."""
    if not value or len(value) > 40 or not value.isascii():
        return False
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return False
    name, _, pk = decoded.partition(":")
    return name == "User" and bool(_USER_PK.fullmatch(pk)) and base64.b64encode(decoded.encode()).decode() == value


def confirmed_customer_email(install: Install, user_id: str) -> str:
    """Ask the store whether ``user_id`` is one of its active customers (app token, MANAGE_USERS); their email.

    Raises ``EventRefused``: ``NOT_FOUND`` when Saleor knows no such active user, ``SALEOR_ERROR`` when it could
    not be asked (the reporter retries with the same key)."""
    try:
        data = SaleorClient(install.saleor_api_url, install.auth_token).execute("customer_exists", {"id": user_id})
    except SaleorError as exc:
        raise EventRefused("SALEOR_ERROR", f"could not confirm the customer with Saleor: {exc}", "customerId") from exc
    user = data.get("user")
    if not isinstance(user, dict) or user.get("id") != user_id:
        raise EventRefused("NOT_FOUND", "the store has no customer with this id", "customerId")
    if user.get("isActive") is not True:
        raise EventRefused("NOT_FOUND", "the customer's account is deactivated", "customerId")
    email = user.get("email")
    return email if isinstance(email, str) else ""


def _check_occurred_at(occurred_at: datetime | None, now: datetime) -> datetime:
    if occurred_at is None:
        return now
    if timezone.is_naive(occurred_at):
        raise EventRefused("INVALID", "occurredAt needs a time zone offset (e.g. 2026-05-01T12:00:00Z)", "occurredAt")
    if occurred_at > now + MAX_FUTURE_SKEW:
        raise EventRefused("INVALID", "occurredAt is in the future", "occurredAt")
    max_age_hours = settings.LOYALTY_EVENT_MAX_AGE_HOURS
    if occurred_at < now - timedelta(hours=max_age_hours):
        raise EventRefused(
            "INVALID", f"occurredAt is more than {max_age_hours} hours ago: report events as they happen", "occurredAt"
        )
    return occurred_at


def record_event(
    install: Install, *, action_code: str, saleor_user_id: str, idempotency_key: str, occurred_at: datetime | None
) -> EarningEvent:
    """Award an action's points to a customer, once per key, within the action's cap."""
    if not idempotency_key or len(idempotency_key) > 200 or not _storable(idempotency_key):
        raise EventRefused("INVALID", "an idempotency key of 1-200 characters is required", "idempotencyKey")
    existing = EarningEvent.objects.filter(install=install, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    action = None
    if action_code and len(action_code) <= 64 and _storable(action_code):
        action = EarningAction.objects.filter(install=install, code=action_code, is_active=True).first()
    if action is None:
        raise EventRefused("NOT_FOUND", f"no active action {action_code[:64]!a}", "action")
    if not saleor_user_id:
        raise EventRefused("INVALID", "customerId is required", "customerId")
    if not is_user_id(saleor_user_id):
        raise EventRefused("INVALID", "customerId must be a Saleor user id (base64 of User:<number>)", "customerId")
    moment = _check_occurred_at(occurred_at, timezone.now())
    member = Member.objects.filter(install=install, saleor_user_id=saleor_user_id).first()
    if member is None:  # enrol only a customer the store confirms (outside any transaction: a network call)
        member = member_for_user(install, saleor_user_id, confirmed_customer_email(install, saleor_user_id))
    try:
        with transaction.atomic():
            Member.objects.select_for_update().filter(pk=member.pk).first()  # serialise the cap check
            if action.max_per_period is not None:
                # By receipt, never by the reporter's occurredAt: a backdated event counts now.
                since = timezone.now() - timedelta(days=action.period_days)
                done = EarningEvent.objects.filter(member=member, action=action, created_at__gt=since).count()
                if done >= action.max_per_period:
                    raise EventRefused(
                        "LIMIT_REACHED", f"at most {action.max_per_period} per {action.period_days} days", "action"
                    )
            event = EarningEvent.objects.create(
                install=install,
                member=member,
                action=action,
                idempotency_key=idempotency_key,
                points=action.points,
                occurred_at=moment,
            )
            issue_points(
                member,
                program_settings(install),
                points=action.points,
                key=f"event:{event.pk}",
                source=f"action:{action.code}",
            )
    except IntegrityError:  # the same key raced in: its first result stands
        return EarningEvent.objects.get(install=install, idempotency_key=idempotency_key)
    return event
