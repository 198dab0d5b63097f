"""The fake Stripe itself: the stand-in refuses what Stripe would refuse (by the library's typed parameters), fills
in Checkout Sessions, and localstripe's own signed webhooks reach the app and verify.
"""

import time

import pytest
import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from saleor_loyalty.payments.events import handles, unregister
from saleor_loyalty.payments.models import StripeEvent
from saleor_loyalty.payments.refunds import refund_payment
from tests.factories import make_install
from tests.stripe_helpers import SECRET_KEY, WEBHOOK_SECRET, connected, paid_intent
from tests.stripe_params import InvalidParams, check


@pytest.fixture
def client(stripe_server):
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_server.url}, max_network_retries=0)


SESSION = {
    "mode": "subscription",
    "line_items": [{"price": "price_vip_gold", "quantity": 1}],
    "success_url": "https://shop.example/vip/thanks",
    "cancel_url": "https://shop.example/vip",
    "client_reference_id": "VXNlcjox",
    "metadata": {"tier": "Gold"},
}


def test_a_checkout_session_is_created_retrieved_and_expired(client):
    session = client.v1.checkout.sessions.create(params=SESSION)

    assert session.id.startswith("cs_test_") and session.url.endswith(session.id)
    assert (session.status, session.mode, session.metadata["tier"]) == ("open", "subscription", "Gold")
    assert client.v1.checkout.sessions.retrieve(session.id).client_reference_id == "VXNlcjox"
    assert client.v1.checkout.sessions.expire(session.id).status == "expired"


@pytest.mark.parametrize(
    ("change", "code", "param"),
    [
        (
            {"line_items": [{"price": "price_vip_gold", "quantity": "one"}]},
            "parameter_invalid",
            "line_items[0][quantity]",
        ),
        ({"mode": "rental"}, "parameter_invalid", "mode"),
        ({"allow_promotion_codes": "perhaps"}, "parameter_invalid", "allow_promotion_codes"),
        ({"success_urll": "https://shop.example/"}, "parameter_unknown", "success_urll"),
        ({"line_items": [{"prices": "price_vip_gold"}]}, "parameter_unknown", "line_items[0][prices]"),
        ({"mode": None}, "parameter_missing", "mode"),
    ],
)
def test_a_checkout_session_with_a_wrong_parameter_is_refused_like_stripe_would(client, change, code, param):
    params = {k: v for k, v in {**SESSION, **change}.items() if v is not None}

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(params=params)

    assert (refused.value.http_status, refused.value.code, refused.value.param) == (400, code, param)


def test_localstripes_own_endpoints_are_checked_by_the_same_typed_parameters(client):
    intent = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa", "confirm": True}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 10, "metadata": "tag"})
    assert (refused.value.code, refused.value.param) == ("parameter_invalid", "metadata")


def test_the_params_check_reads_the_librarys_types():
    check(RefundCreateParams, {"payment_intent": "pi_1", "amount": "100", "metadata": {"k": "v"}, "expand": ["charge"]})
    check(RefundCreateParams, {"metadata": ""})  # Stripe's "empty string unsets", where the types allow it
    for params_class, data, param in [
        (RefundCreateParams, {"amount": "1.5"}, "amount"),
        (RefundCreateParams, {"reason": "changed_my_mind"}, "reason"),
        (RefundCreateParams, {"refund_application_fee": "yes"}, "refund_application_fee"),
        (RefundCreateParams, {"metadata": {"k": ["v"]}}, "metadata"),
        (RefundCreateParams, {"api_key": "sk_test_x"}, "api_key"),  # a request option, not a parameter
        (SessionCreateParams, {"metadata": ""}, "metadata"),  # no unsetting on create
    ]:
        with pytest.raises(InvalidParams) as refused:
            check(params_class, data)
        assert refused.value.param == param


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_webhooks_localstripe_signs_reach_the_app_and_verify(stripe_api, live_server, transactional_db):
    install = make_install()
    account = connected(install)
    seen = []

    def record(install, event):
        seen.append(event.type)

    handles("payment_intent.succeeded", "charge.refunded", "refund.created")(record)
    name = f"app-{account.webhook_token[:8]}"
    stripe_api.send_webhooks_to(
        name,
        f"{live_server.url}/stripe/webhooks/{account.webhook_token}/",
        WEBHOOK_SECRET,
        events=["payment_intent.succeeded", "charge.refunded", "refund.created"],
    )
    try:
        intent = paid_intent(stripe_api.url)
        refund_payment(install, intent, 300, "eur", "rebate-e2e")

        types = {"payment_intent.succeeded", "charge.refunded", "refund.created"}
        assert _wait_for(lambda: set(StripeEvent.objects.values_list("type", flat=True)) >= types)
        assert _wait_for(lambda: set(seen) >= types)
    finally:
        stripe_api.stop_webhooks(name)
        unregister(record)
    assert StripeEvent.objects.filter(processed_at=None).count() == 0
