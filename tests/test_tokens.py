"""Saleor access tokens checked offline: a shopper's (`tokenCreate`) and the dashboard's (app extension).

Tokens are issued by a `FakeSaleor` exactly as Saleor issues them (RS256, its JWKS `kid`, Saleor's claims); the app
was installed from it through `/api/register`, so it holds that store's JWKS and can re-fetch it over HTTP.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from saleor_loyalty.installs.models import Install
from saleor_loyalty.saleor import tokens
from saleor_loyalty.saleor.registration import deactivate_install
from saleor_loyalty.saleor.tokens import InvalidToken, verify_dashboard_token, verify_shopper_token
from tests.factories import installed_from
from tests.saleor_harness import FakeSaleor, SaleorKeys
from tests.saleor_harness import fixtures as fx
from tests.saleor_harness.signing import b64url

pytestmark = pytest.mark.django_db

SHOPPER_ID = fx.global_id("User", 54)
SHOPPER_EMAIL = "ada@example.com"


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store
        store.assert_all_documents_valid()


@pytest.fixture
def store(saleor) -> Install:
    return installed_from(saleor)


@pytest.fixture
def other_saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store
        store.assert_all_documents_valid()


def shopper_claims(saleor: FakeSaleor) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iat": now,
        "exp": now + 300,
        "iss": saleor.api_url,
        "owner": "saleor",
        "type": "access",
        "user_id": SHOPPER_ID,
        "email": SHOPPER_EMAIL,
        "is_staff": False,
    }


def hs256_token(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """A JWT MAC'ed with HS256 (built by hand: PyJWT refuses a PEM as an HMAC secret, attackers do not)."""
    signing_input = (
        b64url(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
        + "."
        + b64url(json.dumps(claims).encode())
    )
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def refused(raw: str, code: str = "INVALID_TOKEN") -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        verify_shopper_token(raw)
    assert caught.value.code == code
    return caught.value


# -- shopper tokens --------------------------------------------------------------------------------------------


def test_a_shopper_token_from_the_store_verifies(saleor, store):
    raw = saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL)

    shopper = verify_shopper_token(raw)

    assert shopper.install.pk == store.pk
    assert (shopper.user_id, shopper.email, shopper.token) == (SHOPPER_ID, SHOPPER_EMAIL, raw)


def test_an_expired_token_is_refused_as_expired(saleor, store):
    refused(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL, lifetime=-60), code="EXPIRED_TOKEN")


def test_a_token_without_an_expiry_is_refused(saleor, store):
    refused(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL, extra={"exp": None}))


@pytest.mark.parametrize("secret", ["public key PEM", "JWKS JSON"])
def test_an_hs256_token_keyed_with_the_public_key_is_refused(saleor, store, secret):
    material = {
        "public key PEM": saleor.keys.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "JWKS JSON": saleor.keys.jwks_json(),
    }[secret]
    refused(hs256_token(shopper_claims(saleor), material, saleor.keys.kid))


def test_an_unsigned_alg_none_token_is_refused(saleor, store):
    header = {"alg": "none", "kid": saleor.keys.kid, "typ": "JWT"}
    refused(f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(shopper_claims(saleor)).encode())}.")


def test_a_token_from_a_store_that_did_not_install_the_app_is_refused(saleor, store):
    refused(saleor.keys.issue_user_token("https://unknown-shop.example/graphql/", SHOPPER_ID, SHOPPER_EMAIL))


def test_the_issuer_decides_the_store_so_a_key_of_another_store_is_refused(saleor, store, other_saleor):
    installed_from(other_saleor)
    # Signed by the other store's (valid, installed) key, but claiming this store as issuer.
    refused(other_saleor.keys.issue_user_token(saleor.api_url, SHOPPER_ID, SHOPPER_EMAIL))
    # And the other store's key posing under this store's kid.
    impostor = SaleorKeys(kid=saleor.keys.kid, private_key=other_saleor.keys.private_key)
    refused(impostor.issue_user_token(saleor.api_url, SHOPPER_ID, SHOPPER_EMAIL))
    # Each store's own tokens still verify, each for its own install.
    assert verify_shopper_token(other_saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL)).install.pk != store.pk
    assert verify_shopper_token(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL)).install.pk == store.pk


def test_a_token_of_an_uninstalled_store_is_refused(saleor, store):
    deactivate_install(store)
    refused(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL))


@pytest.mark.parametrize(
    "claims",
    [{"user_id": None}, {"user_id": ""}, {"type": "refresh"}, {"type": "thirdparty"}, {"owner": "someone-else"}],
    ids=["no user_id", "empty user_id", "refresh token", "app token", "not owned by saleor"],
)
def test_a_token_that_is_not_a_saleor_shopper_access_token_is_refused(saleor, store, claims):
    refused(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL, extra=claims))


def test_the_audience_must_match_when_the_storefront_sets_one(saleor, store, settings):
    settings.SHOPPER_TOKEN_AUDIENCE = "loyalty-storefront"

    refused(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL))
    refused(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL, audience="another-storefront"))
    assert verify_shopper_token(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL, audience="loyalty-storefront"))


def test_an_unknown_kid_is_refused_after_one_jwks_refetch(saleor, store):
    fetched_at_install = saleor.jwks_requests
    retired = SaleorKeys(kid="a-retired-key")

    refused(retired.issue_user_token(saleor.api_url, SHOPPER_ID, SHOPPER_EMAIL))
    refused(retired.issue_user_token(saleor.api_url, SHOPPER_ID, SHOPPER_EMAIL))

    assert saleor.jwks_requests == fetched_at_install + 1  # re-fetched once, then throttled


def test_a_token_signed_with_a_rotated_key_verifies_after_refetching_the_jwks(saleor, store):
    fetched_at_install = saleor.jwks_requests
    saleor.rotate_keys()

    shopper = verify_shopper_token(saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL))

    assert shopper.install.pk == store.pk
    assert saleor.jwks_requests == fetched_at_install + 1


# -- dashboard tokens ------------------------------------------------------------------------------------------


def test_a_dashboard_token_for_this_app_with_the_permission_verifies(saleor, store):
    raw = saleor.app_token_for_dashboard(["MANAGE_USERS", "MANAGE_ORDERS"], email="staff@example.com")

    user = verify_dashboard_token(raw, required_permission="MANAGE_USERS")

    assert user.install.pk == store.pk
    assert user.email == "staff@example.com"
    assert user.permissions == {"MANAGE_USERS", "MANAGE_ORDERS"}


def test_a_dashboard_token_of_another_app_is_refused(saleor, store):
    raw = saleor.keys.issue_app_token(saleor.api_url, fx.global_id("App", 99), permissions=["MANAGE_USERS"])
    with pytest.raises(InvalidToken) as caught:
        verify_dashboard_token(raw, required_permission="MANAGE_USERS")
    assert caught.value.code == "INVALID_TOKEN"


@pytest.mark.parametrize(
    ("permissions", "user_permissions"),
    [(["MANAGE_ORDERS"], None), ([], ["MANAGE_USERS"])],
    ids=["missing", "only the user has it"],
)
def test_a_dashboard_token_without_the_permission_is_denied(saleor, store, permissions, user_permissions):
    raw = saleor.app_token_for_dashboard(permissions, user_permissions=user_permissions)
    with pytest.raises(InvalidToken) as caught:
        verify_dashboard_token(raw, required_permission="MANAGE_USERS")
    assert caught.value.code == "PERMISSION_DENIED"


def test_a_shopper_token_is_not_a_dashboard_token(saleor, store):
    raw = saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL, extra={"app": saleor.app_id, "permissions": ["MANAGE_USERS"]})
    with pytest.raises(InvalidToken):
        verify_dashboard_token(raw, required_permission="MANAGE_USERS")


def test_an_expired_dashboard_token_is_refused_as_expired(saleor, store):
    raw = saleor.app_token_for_dashboard(["MANAGE_USERS"], lifetime=-60)
    with pytest.raises(InvalidToken) as caught:
        verify_dashboard_token(raw, required_permission="MANAGE_USERS")
    assert caught.value.code == "EXPIRED_TOKEN"


# -- verified once per token -----------------------------------------------------------------------------------


@pytest.fixture
def verifications(monkeypatch) -> list[str]:
    """The tokens whose signature was checked (not answered from the verified tokens)."""
    checked: list[str] = []
    verify = tokens._verify

    def counting(raw: str) -> Any:
        checked.append(raw)
        return verify(raw)

    monkeypatch.setattr(tokens, "_verify", counting)
    return checked


def test_a_token_s_signature_is_checked_once_for_all_the_requests_of_its_lifetime(saleor, store, verifications):
    raw = saleor.app_token_for_dashboard(["MANAGE_USERS"])

    for _ in range(3):
        assert verify_dashboard_token(raw, required_permission="MANAGE_USERS").install.pk == store.pk

    assert verifications == [raw]
    with pytest.raises(InvalidToken) as caught:  # the permission is still checked on every use
        verify_dashboard_token(raw, required_permission="MANAGE_ORDERS")
    assert caught.value.code == "PERMISSION_DENIED"


def test_a_tampered_copy_of_a_verified_token_is_still_refused(saleor, store):
    raw = saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL)
    verify_shopper_token(raw)
    head, body, signature = raw.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged_body = b64url(json.dumps({**claims, "user_id": fx.global_id("User", 1)}).encode())

    refused(f"{head}.{forged_body}.{signature}")
    refused(f"{head}.{body}.{signature[:-4]}AAAA")


def test_a_verified_token_is_refused_once_its_store_uninstalls(saleor, store):
    raw = saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL)
    verify_shopper_token(raw)

    deactivate_install(store)

    refused(raw)


def test_a_verified_token_is_checked_again_once_it_expired(saleor, store, verifications, monkeypatch):
    raw = saleor.user_token(SHOPPER_ID, SHOPPER_EMAIL)
    verify_shopper_token(raw)
    later = time.time() + 600  # past its five minutes and the leeway
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: later))

    verify_shopper_token(raw)  # PyJWT's own clock still says valid: what matters is that it was asked again

    assert verifications == [raw, raw]
