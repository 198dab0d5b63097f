"""Helpers for the Stripe tests: connected stores, paid PaymentIntents on the fake Stripe, signed events."""

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import stripe

from saleor_loyalty.installs.models import Install
from saleor_loyalty.payments.actions import connect_stripe
from saleor_loyalty.payments.models import StripeAccount

SECRET_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
WEBHOOK_SECRET = "whsec_test0123456789abcdefABCDEF"
PUBLISHABLE_KEY = "pk_test_TYooMQauvdEDq54NiTphI7jx"
_events = itertools.count(1)


def connected(install: Install) -> StripeAccount:
    return connect_stripe(install, SECRET_KEY, WEBHOOK_SECRET, PUBLISHABLE_KEY)


def paid_intent(base_url: str, amount: int = 5000, currency: str = "eur") -> str:
    """A PaymentIntent paid with Stripe's test card on the fake Stripe, as a shopper's checkout would leave it."""
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": base_url}, max_network_retries=0)
    intent = client.v1.payment_intents.create(
        params={"amount": amount, "currency": currency, "payment_method": "pm_card_visa", "confirm": True}
    )
    assert intent.status == "succeeded"
    return intent.id


def refunds_on(base_url: str, payment_intent_id: str) -> list[Any]:
    """What the fake Stripe holds: the PaymentIntent's refunds."""
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": base_url}, max_network_retries=0)
    return list(client.v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100}).auto_paging_iter())


def event_body(event_type: str = "charge.refunded", livemode: bool = False, **data_object: Any) -> bytes:
    n = next(_events)
    event = {
        "id": f"evt_test{n:08d}",
        "object": "event",
        "type": event_type,
        "livemode": livemode,
        "created": int(time.time()),
        "api_version": "2026-10-28.endive",
        "pending_webhooks": 1,
        "data": {"object": {"id": f"ch_test{n:08d}", "object": "charge", **data_object}},
    }
    return json.dumps(event).encode()


def signature(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme, written out: ``t=<time>,v1=<hex HMAC-SHA256 of "<time>.<body>">``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
