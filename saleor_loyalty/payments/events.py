"""Stripe's webhooks: verifying a delivery, storing it once, and the registry of what handles each event type.

Verification is Stripe's own scheme, through the library: ``Stripe-Signature: t=<unix time>,v1=<hex>`` where the
hex is HMAC-SHA256 of ``"<t>.<body>"`` under the endpoint's secret (``whsec_…``), and ``t`` at most
``TOLERANCE_SECONDS`` old (replays of an old delivery are refused). A verified event is stored by its Stripe id
(unique per install: a redelivery is a duplicate, stored once) before Stripe gets its 2xx, then processed by
``tasks.process_stripe_event``, which calls the handlers features registered here (``handles``).
"""

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import stripe
from django.db import IntegrityError, transaction

from saleor_loyalty.installs.allowlist import is_allowed
from saleor_loyalty.installs.models import Install

from .client import account_for
from .models import StripeAccount, StripeEvent

TOLERANCE_SECONDS = 300
_EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,250}")
_EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,128}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe(24) makes 32 of these

Handler = Callable[[Install, stripe.Event], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


@dataclass
class InvalidStripeEvent(Exception):
    """The delivery is refused and nothing is stored."""

    reason: str  # bad_signature, malformed, livemode_mismatch
    message: str


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    """Register a handler for these event types (features do so in their AppConfig.ready)."""

    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            if handler not in _handlers[event_type]:
                _handlers[event_type].append(handler)
        return handler

    return register


def unregister(handler: Handler) -> None:
    for registered in _handlers.values():
        if handler in registered:
            registered.remove(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_handlers.get(event_type, ()))


def account_for_webhook(token: str) -> StripeAccount | None:
    """The account a webhook URL names, if its store is active and served by this deployment."""
    if not _TOKEN.fullmatch(token):
        return None
    account = StripeAccount.objects.select_related("install").filter(webhook_token=token).first()
    if account is None or not account.install.is_active or not is_allowed(account.install.saleor_api_url):
        return None
    return account


def parse_event(install: Install, payload: bytes, signature_header: str) -> stripe.Event:
    """The event in ``payload`` if the store's endpoint secret signed it less than five minutes ago.

    Raises ``InvalidStripeEvent`` (or ``StripeNotConnected``)."""
    return verify(account_for(install), payload, signature_header)


def verify(account: StripeAccount, payload: bytes, signature_header: str | None) -> stripe.Event:
    try:
        stripe.Webhook.construct_event(payload, signature_header, account.webhook_secret, TOLERANCE_SECONDS)
    except stripe.SignatureVerificationError as exc:
        raise InvalidStripeEvent("bad_signature", "signature does not verify") from exc
    except ValueError as exc:  # not UTF-8, not JSON, a "thin" v2 notification
        raise InvalidStripeEvent("malformed", "body is not a Stripe event") from exc
    except (AttributeError, TypeError, RecursionError) as exc:  # signed, but not an object (or absurdly nested)
        raise InvalidStripeEvent("malformed", "body is not a JSON object") from exc
    # Built again from the plain JSON: the library's Event keeps OrderedDicts and lazily typed parts; ours is
    # checked field by field before anything is stored.
    data = json.loads(payload)
    _check_shape(data)
    if data["livemode"] != account.livemode:
        raise InvalidStripeEvent("livemode_mismatch", "a test event for a live account, or the other way round")
    return event_from(data)


def _check_shape(data: Any) -> None:
    if not isinstance(data, dict) or data.get("object") != "event":
        raise InvalidStripeEvent("malformed", "body is not a Stripe event")
    event_id, event_type = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise InvalidStripeEvent("malformed", "event id")
    if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
        raise InvalidStripeEvent("malformed", "event type")
    if not isinstance(data.get("livemode"), bool) or not isinstance(data.get("data"), dict):
        raise InvalidStripeEvent("malformed", "event livemode or data")


def event_from(data: dict[str, Any]) -> stripe.Event:
    event: stripe.Event = stripe.Event.construct_from(data, None)
    return event


def store(account: StripeAccount, payload: bytes, event: stripe.Event) -> tuple[StripeEvent, bool]:
    """The stored event, and whether it is new (False: Stripe delivered it before)."""
    try:
        with transaction.atomic():
            return StripeEvent.objects.get_or_create(
                install_id=account.install_id,
                event_id=event.id,
                defaults={"type": event.type, "livemode": event.livemode, "payload": payload.decode()},
            )
    except IntegrityError:  # the same event stored concurrently
        return StripeEvent.objects.get(install_id=account.install_id, event_id=event.id), False
