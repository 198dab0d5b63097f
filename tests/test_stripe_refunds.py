"""Refunding part of a Stripe payment against the fake Stripe (localstripe): once per key, whatever happens.

localstripe ignores ``Idempotency-Key`` (it makes a second refund for a repeated request), so every "once" here is
the app's own doing: its idempotency row, and the lookup of the payment's refunds before a retry.
"""

import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from saleor_loyalty.payments.client import StripeNotConnected, StripeOutcomeUnknown, StripeRefused
from saleor_loyalty.payments.models import StripeRefund
from saleor_loyalty.payments.refunds import (
    METADATA_KEY,
    IdempotencyKeyReused,
    RefundResult,
    refund_payment,
    stripe_idempotency_key,
)
from tests.stripe_helpers import connected, paid_intent, refunds_on


@pytest.fixture
def store_with_stripe(install, stripe_api):
    connected(install)
    return install


def _refund_posts(stripe_server):
    return [r for r in stripe_server.requests() if (r["method"], r["path"]) == ("POST", "/v1/refunds")]


def test_a_partial_refund_is_made_on_the_payment_intent_with_the_key_and_metadata(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url, 5000, "eur")

    result = refund_payment(store_with_stripe, intent, 1200, "EUR", "rebate-1", {"order": "T3JkZXI6MQ=="})

    assert result == RefundResult(refund_id=result.refund_id, status="succeeded", amount_minor=1200, currency="eur")
    [refund] = refunds_on(stripe_api.url, intent)
    assert (refund.id, refund.amount) == (result.refund_id, 1200)
    assert refund.metadata["order"] == "T3JkZXI6MQ=="
    assert refund.metadata[METADATA_KEY] == stripe_idempotency_key(store_with_stripe, "rebate-1")
    [post] = [r for r in _refund_posts(stripe_api) if (r["idempotency_key"] or "").endswith(":rebate-1")]
    assert post["idempotency_key"] == f"saleor-loyalty:{store_with_stripe.pk}:rebate-1"
    assert post["stripe_version"]  # the library pins its API version on every request


def test_the_same_refund_asked_again_is_not_made_twice_and_stripe_is_not_called(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url)
    first = refund_payment(store_with_stripe, intent, 700, "eur", "rebate-2")
    stripe_api.forget_requests()

    again = refund_payment(store_with_stripe, intent, 700, "eur", "rebate-2")

    assert again == first
    assert stripe_api.requests() == []
    assert len(refunds_on(stripe_api.url, intent)) == 1
    assert StripeRefund.objects.get(idempotency_key="rebate-2").attempts == 1


@pytest.mark.parametrize("fault", ["hang_after", "error_after"])
def test_a_refund_whose_answer_was_lost_is_found_on_retry_not_made_again(
    store_with_stripe, stripe_api, settings, fault
):
    settings.STRIPE_READ_TIMEOUT = 1.0
    intent = paid_intent(stripe_api.url)
    stripe_api.fault("POST", "/v1/refunds", fault, seconds=3)

    with pytest.raises(StripeOutcomeUnknown):
        refund_payment(store_with_stripe, intent, 900, "eur", "rebate-3")
    [made] = refunds_on(stripe_api.url, intent)  # Stripe did it; the app does not know
    row = StripeRefund.objects.get(idempotency_key="rebate-3")
    assert (row.refund_id, row.in_flight_until) == ("", None)

    result = refund_payment(store_with_stripe, intent, 900, "eur", "rebate-3")

    assert result.refund_id == made.id
    assert len(refunds_on(stripe_api.url, intent)) == 1
    assert StripeRefund.objects.get(idempotency_key="rebate-3").refund_id == made.id


def test_a_retry_after_a_request_stripe_never_handled_sends_the_same_idempotency_key(
    store_with_stripe, stripe_api, settings
):
    settings.STRIPE_READ_TIMEOUT = 1.0
    intent = paid_intent(stripe_api.url)
    stripe_api.fault("POST", "/v1/refunds", "hang_before", seconds=3)
    with pytest.raises(StripeOutcomeUnknown):
        refund_payment(store_with_stripe, intent, 400, "eur", "rebate-4")
    assert refunds_on(stripe_api.url, intent) == []

    refund_payment(store_with_stripe, intent, 400, "eur", "rebate-4")

    assert len(refunds_on(stripe_api.url, intent)) == 1
    attempts = [
        r["idempotency_key"] for r in _refund_posts(stripe_api) if (r["idempotency_key"] or "").endswith(":rebate-4")
    ]
    assert attempts == [f"saleor-loyalty:{store_with_stripe.pk}:rebate-4"] * 2


def test_a_stripe_that_accepts_but_never_answers_is_an_unknown_outcome(install, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the backlog; nothing ever reads or answers
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{silent.getsockname()[1]}"
    settings.STRIPE_READ_TIMEOUT = 0.5
    connected(install)
    started = time.monotonic()
    try:
        with pytest.raises(StripeOutcomeUnknown):
            refund_payment(install, "pi_3Nexample", 500, "usd", "rebate-5")
    finally:
        silent.close()
    assert time.monotonic() - started < 5
    row = StripeRefund.objects.get(idempotency_key="rebate-5")
    assert (row.refund_id, row.status, row.attempts, row.in_flight_until) == ("", "", 1, None)


def test_an_unknown_payment_intent_is_refused_for_good_and_not_asked_again(store_with_stripe, stripe_api):
    with pytest.raises(StripeRefused):
        refund_payment(store_with_stripe, "pi_doesnotexist", 500, "eur", "rebate-6")
    stripe_api.forget_requests()

    with pytest.raises(StripeRefused):
        refund_payment(store_with_stripe, "pi_doesnotexist", 500, "eur", "rebate-6")
    assert stripe_api.requests() == []
    assert StripeRefund.objects.get(idempotency_key="rebate-6").status == "refused"


def test_a_refund_larger_than_what_is_left_on_the_payment_is_refused(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url, 5000)
    refund_payment(store_with_stripe, intent, 4000, "eur", "rebate-7a")

    with pytest.raises(StripeRefused) as refused:
        refund_payment(store_with_stripe, intent, 1500, "eur", "rebate-7b")
    assert refused.value.code == "amount_too_large"
    assert len(refunds_on(stripe_api.url, intent)) == 1


def test_a_refund_in_another_currency_than_the_payment_is_refused_without_a_refund(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url, 5000, "usd")

    with pytest.raises(StripeRefused) as refused:
        refund_payment(store_with_stripe, intent, 100, "eur", "rebate-8")
    assert refused.value.code == "currency_mismatch"
    assert refunds_on(stripe_api.url, intent) == []


def test_a_key_used_for_another_refund_is_a_bug_not_a_refund(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url)
    refund_payment(store_with_stripe, intent, 100, "eur", "rebate-9")

    with pytest.raises(IdempotencyKeyReused):
        refund_payment(store_with_stripe, intent, 200, "eur", "rebate-9")
    assert len(refunds_on(stripe_api.url, intent)) == 1


def test_while_an_attempt_is_under_way_another_does_not_start(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url)
    StripeRefund.objects.create(
        install=store_with_stripe, idempotency_key="rebate-10", payment_intent=intent, amount_minor=100,
        currency="eur", attempts=1, in_flight_until=timezone.now() + timedelta(minutes=1),
    )  # fmt: skip

    with pytest.raises(StripeOutcomeUnknown):
        refund_payment(store_with_stripe, intent, 100, "eur", "rebate-10")
    assert refunds_on(stripe_api.url, intent) == []


def test_a_store_without_stripe_cannot_refund(install):
    with pytest.raises(StripeNotConnected):
        refund_payment(install, "pi_3Nexample", 100, "eur", "rebate-11")


def test_a_refund_whose_row_was_rolled_back_is_found_at_stripe_not_made_again(store_with_stripe, stripe_api):
    intent = paid_intent(stripe_api.url)
    first = refund_payment(store_with_stripe, intent, 250, "eur", "rebate-12")
    StripeRefund.objects.filter(idempotency_key="rebate-12").delete()  # a caller's transaction undid our record

    again = refund_payment(store_with_stripe, intent, 250, "eur", "rebate-12")

    assert again.refund_id == first.refund_id
    assert len(refunds_on(stripe_api.url, intent)) == 1
