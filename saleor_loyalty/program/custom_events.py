"""Custom earning actions reported by the merchant's own server (``recordEvent``): reviews, follows, newsletter.

Idempotent by the reporter's key, capped per member per action per period, and only for a known customer.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.saleor.models import Install

from .issuing import issue_points
from .models import EarningAction, EarningEvent, ServerApiKey
from .rules import program_settings

KEY_PREFIX = "lsk_"


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
    return record.install if record and record.install.is_active else None


def record_event(
    install: Install, *, action_code: str, saleor_user_id: str, idempotency_key: str, occurred_at: datetime | None
) -> EarningEvent:
    """Award an action's points to a customer, once per key, within the action's cap."""
    if not idempotency_key or len(idempotency_key) > 200:
        raise EventRefused("INVALID", "an idempotency key of 1-200 characters is required", "idempotencyKey")
    existing = EarningEvent.objects.filter(install=install, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    action = EarningAction.objects.filter(install=install, code=action_code, is_active=True).first()
    if action is None:
        raise EventRefused("NOT_FOUND", f"no active action {action_code!r}", "action")
    if not saleor_user_id:
        raise EventRefused("INVALID", "customerId is required", "customerId")
    moment = occurred_at or timezone.now()
    if moment > timezone.now() + timedelta(minutes=5):
        raise EventRefused("INVALID", "occurredAt is in the future", "occurredAt")
    member = member_for_user(install, saleor_user_id)
    try:
        with transaction.atomic():
            Member.objects.select_for_update().filter(pk=member.pk).first()  # serialise the cap check
            if action.max_per_period is not None:
                since = moment - timedelta(days=action.period_days)
                done = EarningEvent.objects.filter(member=member, action=action, occurred_at__gt=since).count()
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
