"""Stripe's webhooks: a delivery is stored once if the store's endpoint secret signed it in the last five minutes,
handled once by the handlers registered for its type, and anything else is refused with nothing stored, never a 500.
"""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from saleor_loyalty.payments import tasks
from saleor_loyalty.payments.events import InvalidStripeEvent, handles, parse_event, unregister
from saleor_loyalty.payments.models import StripeEvent
from tests.stripe_helpers import connected, event_body, signature


@pytest.fixture
def account(install):
    return connected(install)


@pytest.fixture
def handled():
    """A handler for charge.refunded, registered for the test only: what it was called with."""
    calls = []

    def record(install, event):
        calls.append((install.pk, event.id, event.type, event.data.object.id))

    handles("charge.refunded")(record)
    yield calls
    unregister(record)


def deliver(account, body: bytes, header: str | None = "sign", token: str | None = None):
    """POST ``body`` to the account's webhook URL, signed with its secret unless ``header`` says otherwise (None: no
    Stripe-Signature header at all)."""
    header = signature(body) if header == "sign" else header
    headers = {} if header is None else {"Stripe-Signature": header}
    url = f"/stripe/webhooks/{token or account.webhook_token}/"
    return Client().post(url, data=body, content_type="application/json", headers=headers)


def test_a_signed_event_is_stored_and_handled_once_even_when_delivered_twice(account, handled):
    body = event_body("charge.refunded", amount_refunded=1200)

    first = deliver(account, body)
    second = deliver(account, body, signature(body))  # Stripe's redelivery: same event, signed again

    assert (first.status_code, first.json()) == (200, {"received": True, "duplicate": False})
    assert (second.status_code, second.json()) == (200, {"received": True, "duplicate": True})
    event_id = json.loads(body)["id"]
    [stored] = StripeEvent.objects.all()
    assert (stored.install_id, stored.event_id, stored.type, stored.payload) == (
        account.install_id, event_id, "charge.refunded", body.decode(),
    )  # fmt: skip
    assert stored.processed_at is not None and stored.attempts == 1
    assert handled == [(account.install_id, event_id, "charge.refunded", json.loads(body)["data"]["object"]["id"])]


def test_an_event_no_feature_handles_is_recorded_as_processed(account, handled):
    assert deliver(account, event_body("customer.created")).status_code == 200
    assert StripeEvent.objects.get().processed_at is not None
    assert handled == []


def _refusals(account):
    body = event_body()
    now = int(time.time())
    return {
        "wrong secret": (body, signature(body, secret="whsec_someoneElse12345678")),
        "no signature": (body, None),
        "empty signature": (body, ""),
        "garbled header": (body, "t=soon,v1=abc"),
        "another scheme only": (body, signature(body).replace("v1=", "v0=")),
        "body changed after signing": (body.replace(b"charge", b"chargE"), signature(body)),
        "signed six minutes ago": (body, signature(body, timestamp=now - 360)),
        "not JSON": (b"{not json", signature(b"{not json")),
        "not UTF-8": (b'{"id": "\xff"}', "t=1,v1=00"),
        "a JSON list": (b"[1, 2]", signature(b"[1, 2]")),
        "not an event": (b'{"object": "charge"}', signature(b'{"object": "charge"}')),
        "odd event id": (body.replace(b'"evt_', b'"evt_\\u0000'), signature(body.replace(b'"evt_', b'"evt_\\u0000'))),
        "live event, test account": (event_body(livemode=True), "sign"),
    }


REFUSED = [
    "wrong secret", "no signature", "empty signature", "garbled header", "another scheme only",
    "body changed after signing", "signed six minutes ago", "not JSON", "not UTF-8", "a JSON list",
    "not an event", "odd event id", "live event, test account",
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_a_delivery_that_does_not_verify_is_refused_with_400_and_nothing_is_stored(account, handled, case):
    body, header = _refusals(account)[case]

    answer = deliver(account, body, header)

    assert answer.status_code == 400, answer.content
    assert StripeEvent.objects.count() == 0 and handled == []


def test_an_unknown_or_uninstalled_store_is_404_and_nothing_is_stored(account, settings):
    body = event_body()
    assert deliver(account, body, token="x" * 32).status_code == 404
    assert deliver(account, body, token="y" * 500).status_code == 404
    assert deliver(account, body, token=account.webhook_token + "%00").status_code == 404
    assert deliver(account, body, token="%F0%9F%92%B3" * 8).status_code == 404
    settings.ALLOWED_SALEOR_URLS = ["https://another-shop.example/graphql/"]
    assert deliver(account, body).status_code == 404
    settings.ALLOWED_SALEOR_URLS = ["*"]
    account.install.is_active = False
    account.install.save()
    assert deliver(account, body).status_code == 404
    assert StripeEvent.objects.count() == 0


def test_an_oversized_body_is_refused_before_it_is_read(account, settings):
    settings.STRIPE_WEBHOOK_MAX_BODY_BYTES = 2000
    body = event_body(description="x" * 3000)

    answer = deliver(account, body)

    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert StripeEvent.objects.count() == 0


def test_only_post_is_answered(account):
    assert Client().get(f"/stripe/webhooks/{account.webhook_token}/").status_code == 405


def test_a_failing_handler_leaves_the_event_stored_for_the_sweep_which_handles_it_later(account):
    calls = []

    def flaky(install, event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")

    handles("invoice.payment_failed")(flaky)
    try:
        assert deliver(account, event_body("invoice.payment_failed")).status_code == 200
        stored = StripeEvent.objects.get()
        assert (stored.processed_at, stored.attempts) == (None, 1) and "database hiccup" in stored.last_error

        assert tasks.process_missed_stripe_events() == 0  # not yet: it was received a moment ago
        StripeEvent.objects.update(received_at=timezone.now() - timedelta(minutes=2))
        assert tasks.process_missed_stripe_events() == 1
    finally:
        unregister(flaky)
    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.attempts == 2 and len(calls) == 2


def test_parse_event_verifies_with_the_stores_secret(account):
    body = event_body("refund.updated")
    assert parse_event(account.install, body, signature(body)).type == "refund.updated"
    with pytest.raises(InvalidStripeEvent):
        parse_event(account.install, body, signature(body, secret="whsec_someoneElse12345678"))
