"""Only deliveries Saleor really signed for a store get in; everything else is refused and leaves no trace.

A store is installed through `/api/register` from a `FakeSaleor` (so the app holds that store's real JWKS), then
deliveries built from the app's own subscription documents are posted to the webhook endpoints. Refusals are final
4xx (Saleor never retries those) and store nothing: no inbox row, no ledger row.
"""

import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.cache import cache
from django.test import Client

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.saleor import documents
from saleor_loyalty.webhooks.models import InboxEvent
from tests.factories import installed_from
from tests.saleor_harness import FakeSaleor, SaleorKeys, build_webhook_body, forge_alg_none, forge_hs256
from tests.saleor_harness import fixtures as fx

pytestmark = pytest.mark.django_db


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store
        store.assert_all_documents_valid()


@pytest.fixture
def other_saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store
        store.assert_all_documents_valid()


@pytest.fixture
def store(saleor) -> Install:
    return installed_from(saleor)


def post(saleor: FakeSaleor, body: bytes, *, path: str = "orders", event: str = "ORDER_FULLY_PAID", **overrides):
    """POST like Saleor does, signed by `saleor`; keyword overrides replace headers (None drops one)."""
    headers = saleor.signed_headers(event, body)
    for name, value in overrides.items():
        header = name.replace("_", "-")
        for key in (header, f"X-{header}"):
            headers.pop(key, None)
        if value is not None:
            headers[header] = value
    return Client().post(f"/api/webhooks/{path}", data=body, content_type="application/json", headers=headers)


def paid_order_body(order_pk: str | None = None) -> bytes:
    order = fx.order(pk=order_pk, user=fx.user(pk=5, email="ada@example.com"))
    return build_webhook_body(documents.subscription("order_events"), fx.event("OrderFullyPaid", order=order))


def customer_created_body() -> bytes:
    return build_webhook_body(
        documents.subscription("customer_events"), fx.event("CustomerCreated", user=fx.customer(pk=5))
    )


def assert_nothing_stored() -> None:
    assert InboxEvent.objects.count() == 0
    assert not Transfer.objects.exists()
    assert not OrderAward.objects.exists()
    assert not Member.objects.exists()


def public_key_pem(keys: SaleorKeys) -> bytes:
    return keys.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- accepted --------------------------------------------------------------------------------------------------


def test_a_delivery_signed_by_the_store_is_stored_and_processed(saleor, store):
    response = post(saleor, paid_order_body())

    assert response.status_code == 200
    assert response.json() == {"accepted": True, "duplicate": False}
    assert InboxEvent.objects.filter(install=store).count() == 1
    assert OrderAward.objects.get(install=store).points > 0


def test_the_same_delivery_posted_twice_is_stored_once(saleor, store):
    body = paid_order_body()

    first, second = post(saleor, body), post(saleor, body)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"accepted": True, "duplicate": True}
    assert InboxEvent.objects.count() == 1
    award = OrderAward.objects.get()
    assert Transfer.objects.filter(order_id=award.order_id).count() == 1


# -- refused: signatures ---------------------------------------------------------------------------------------


def test_a_tampered_body_is_refused(saleor, store):
    body = paid_order_body()
    signature = saleor.keys.sign_webhook(body)
    tampered = body.replace(b'"amount": ', b'"amount": 1', 1)
    assert tampered != body and json.loads(tampered)

    response = post(saleor, tampered, Saleor_Signature=signature)

    assert response.status_code == 401
    assert_nothing_stored()


def test_a_delivery_without_a_signature_is_refused(saleor, store):
    response = post(saleor, paid_order_body(), Saleor_Signature=None)
    assert response.status_code == 401
    assert_nothing_stored()


def test_an_unsigned_alg_none_signature_is_refused(saleor, store):
    body = paid_order_body()
    response = post(saleor, body, Saleor_Signature=forge_alg_none(body, kid=saleor.keys.kid))
    assert response.status_code == 401
    assert_nothing_stored()
    assert saleor.jwks_requests == 1  # refused on sight: not even a key re-fetch (only the install's fetch)


@pytest.mark.parametrize("secret", ["public key PEM", "JWKS JSON", "JWK JSON"])
def test_an_hs256_signature_keyed_with_the_public_key_is_refused(saleor, store, secret):
    # The classic algorithm-confusion attack: HMAC with what a verifier would load as the "key".
    material = {
        "public key PEM": public_key_pem(saleor.keys),
        "JWKS JSON": saleor.keys.jwks_json(),
        "JWK JSON": json.dumps(saleor.keys.jwk()).encode(),
    }[secret]
    body = paid_order_body()

    response = post(saleor, body, Saleor_Signature=forge_hs256(body, material, kid=saleor.keys.kid))

    assert response.status_code == 401
    assert_nothing_stored()
    assert saleor.jwks_requests == 1  # refused on sight: not even a key re-fetch (only the install's fetch)


def test_a_signature_with_an_unknown_kid_is_refused_after_checking_for_new_keys(saleor, store):
    fetched_at_install = saleor.jwks_requests
    body = paid_order_body()
    stranger = SaleorKeys(kid="not-a-kid-of-this-store")

    response = post(saleor, body, Saleor_Signature=stranger.sign_webhook(body))

    assert response.status_code == 401
    assert saleor.jwks_requests == fetched_at_install + 1
    assert_nothing_stored()


def test_a_signature_by_another_installed_store_is_refused(saleor, store, other_saleor):
    other = installed_from(other_saleor)
    body = paid_order_body()

    # Store B signs correctly, but the delivery claims to come from store A.
    response = post(saleor, body, Saleor_Signature=other_saleor.keys.sign_webhook(body))

    assert response.status_code == 401
    assert_nothing_stored()
    assert other.pk != store.pk


def test_a_signature_by_another_key_reusing_the_stores_kid_is_refused(saleor, store):
    body = paid_order_body()
    impostor = SaleorKeys(kid=saleor.keys.kid)

    response = post(saleor, body, Saleor_Signature=impostor.sign_webhook(body))

    assert response.status_code == 401
    assert_nothing_stored()


def test_a_signature_over_an_encoded_payload_is_refused(saleor, store):
    # An ordinary (attached, b64) JWS of the body is not Saleor's detached unencoded form.
    body = paid_order_body()
    compact = saleor.keys.encode_jwt(json.loads(body))
    header, _, signature = compact.split(".")

    response = post(saleor, body, Saleor_Signature=f"{header}..{signature}")

    assert response.status_code == 401
    assert_nothing_stored()


# -- refused: headers and bodies -------------------------------------------------------------------------------


def test_a_delivery_from_an_unknown_saleor_api_url_is_refused(saleor, store):
    response = post(saleor, paid_order_body(), Saleor_Api_Url="https://unknown-shop.example/graphql/")
    assert response.status_code == 401
    assert_nothing_stored()


def test_a_delivery_without_a_saleor_api_url_is_refused(saleor, store):
    response = post(saleor, paid_order_body(), Saleor_Api_Url=None)
    assert response.status_code == 401
    assert_nothing_stored()


def test_an_event_header_that_does_not_match_the_body_is_refused(saleor, store):
    response = post(saleor, paid_order_body(), event="ORDER_CANCELLED")
    assert response.status_code == 400
    assert_nothing_stored()


def test_an_event_not_subscribed_on_that_endpoint_is_refused(saleor, store):
    response = post(saleor, customer_created_body(), path="orders", event="CUSTOMER_CREATED")
    assert response.status_code == 400
    assert_nothing_stored()


def test_an_event_the_app_never_subscribed_to_is_refused(saleor, store):
    response = post(saleor, paid_order_body(), event="ORDER_UPDATED")
    assert response.status_code == 400
    assert_nothing_stored()


@pytest.mark.parametrize(
    "body",
    [b'{"__typename": "OrderFullyPaid", "order": ', b'[{"__typename": "OrderFullyPaid"}]', b"", b"\xff\xfe"],
    ids=["truncated JSON", "JSON array", "empty", "not UTF-8"],
)
def test_a_signed_body_that_is_not_a_json_object_is_refused(saleor, store, body):
    response = post(saleor, body)
    assert response.status_code == 400
    assert_nothing_stored()


def test_an_unknown_webhook_path_is_refused(saleor, store):
    response = post(saleor, paid_order_body(), path="payments")
    assert response.status_code == 404
    assert_nothing_stored()


def test_refusals_use_the_json_error_shape(saleor, store):
    response = post(saleor, paid_order_body(), Saleor_Signature=None)
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]


# -- key rotation ----------------------------------------------------------------------------------------------


def test_after_saleor_rotates_its_key_a_delivery_signed_with_the_new_key_is_accepted(saleor, store):
    fetched_at_install = saleor.jwks_requests
    new_keys = saleor.rotate_keys()

    first = post(saleor, paid_order_body())
    second = post(saleor, paid_order_body())

    assert (first.status_code, second.status_code) == (200, 200)
    assert saleor.jwks_requests == fetched_at_install + 1  # fetched once, then kept
    store.refresh_from_db()
    assert store.jwks == new_keys.jwks()
    assert InboxEvent.objects.count() == 2


def test_a_burst_of_unknown_kids_refetches_the_jwks_at_most_once(saleor, store):
    fetched_at_install = saleor.jwks_requests
    attacker = SaleorKeys(fresh=True)

    statuses = set()
    for n in range(25):
        forger = SaleorKeys(kid=f"forged-{n}", private_key=attacker.private_key)
        body = paid_order_body()
        statuses.add(post(saleor, body, Saleor_Signature=forger.sign_webhook(body)).status_code)

    assert statuses <= {401, 503}
    assert saleor.jwks_requests - fetched_at_install <= 1
    assert_nothing_stored()


def test_a_rotation_right_after_a_forged_burst_loses_no_delivery(saleor, store):
    # Forged kids used up this window's re-fetch; then Saleor really rotates. The genuine delivery cannot be
    # checked yet, so it must be answered with a status Saleor retries (5xx), not a final 4xx.
    attacker = SaleorKeys(kid="forged")
    forged = paid_order_body()
    post(saleor, forged, Saleor_Signature=attacker.sign_webhook(forged))
    saleor.rotate_keys()
    genuine = paid_order_body()

    response = post(saleor, genuine)

    assert response.status_code == 503
    assert_nothing_stored()

    cache.clear()  # the throttle window passes; Saleor retries the same delivery
    assert post(saleor, genuine).status_code == 200
    assert InboxEvent.objects.count() == 1
