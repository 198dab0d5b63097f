"""The Saleor contract harness, checked against real Saleor output before the app's tests rely on it.

The harness must be indistinguishable from Saleor where the app can tell: signatures that verify with the same
code that verifies the captured deliveries, bodies of the same shape as the captured ones, GraphQL answers and
manifest checks that follow Saleor's rules. No Django needed.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from jwt.api_jws import PyJWS

from tests.saleor_harness import (
    FakeSaleor,
    InvalidDocument,
    InvalidManifest,
    SaleorKeys,
    build_webhook_body,
    forge_alg_none,
    forge_hs256,
    shared_saleor_dir,
    subscribed_event_types,
    validate_document,
    validate_manifest,
)
from tests.saleor_harness import fixtures as fx
from tests.saleor_harness.graphql_api import PermissionDenied
from tests.saleor_harness.permissions import Caller, denials
from tests.saleor_harness.signing import jwk_thumbprint, verify_webhook_signature
from tests.saleor_harness.versions import satisfies

SAMPLES = shared_saleor_dir() / "samples" / "3.23.28"
SAMPLE_NAMES = sorted(p.name.removesuffix(".body.json") for p in SAMPLES.glob("*.body.json"))
SUBSCRIPTION = (SAMPLES / "subscription.graphql").read_text()


def _sample(name: str) -> tuple[bytes, dict[str, str]]:
    body = (SAMPLES / f"{name}.body.json").read_bytes()
    headers = json.loads((SAMPLES / f"{name}.headers.json").read_text())
    return body, headers


def _sample_jwks() -> dict[str, Any]:
    jwks: dict[str, Any] = json.loads((SAMPLES / "jwks.json").read_text())
    return jwks


def _protected_header(signature: str) -> bytes:
    encoded = signature.split(".", maxsplit=1)[0]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def _shape(value: Any) -> Any:
    """Keys and JSON types, recursively (first element of lists): what an app's parser depends on."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


# -- signatures ----------------------------------------------------------------------------------------------


def test_samples_are_all_present() -> None:
    assert len(SAMPLE_NAMES) == 24


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_real_delivery_verifies_and_tampering_fails(name: str) -> None:
    body, headers = _sample(name)
    header = verify_webhook_signature(body, headers["Saleor-Signature"], _sample_jwks())
    assert header["kid"] == _sample_jwks()["keys"][0]["kid"]
    assert headers["Saleor-Event"] == name.split("-", 1)[1]
    with pytest.raises(jwt.InvalidSignatureError):
        verify_webhook_signature(body.replace(b'"', b"'", 1), headers["Saleor-Signature"], _sample_jwks())


def test_our_signature_has_saleors_exact_header_and_verifies_with_pyjwt() -> None:
    keys = SaleorKeys()
    body = b'{"__typename": "OrderFullyPaid", "order": {"total": 140.0}}'
    signature = keys.sign_webhook(body)
    sample_signature = _sample("04-order_fully_paid")[1]["Saleor-Signature"]
    sample_kid = _sample_jwks()["keys"][0]["kid"]
    assert _protected_header(signature) == _protected_header(sample_signature).replace(
        sample_kid.encode(), keys.kid.encode()
    )
    assert signature.split(".")[1] == ""  # detached
    decoded = PyJWS().decode_complete(signature, key=jwt.PyJWK(keys.jwk()), algorithms=["RS256"], detached_payload=body)
    assert decoded["header"]["b64"] is False
    with pytest.raises(jwt.InvalidSignatureError):
        verify_webhook_signature(body + b" ", signature, keys.jwks())


def test_jwks_looks_like_saleors_and_kid_is_the_rfc7638_thumbprint() -> None:
    sample_key = _sample_jwks()["keys"][0]
    assert jwk_thumbprint(sample_key) == sample_key["kid"]
    keys = SaleorKeys()
    assert list(keys.jwk()) == list(sample_key)
    assert keys.kid == jwk_thumbprint(keys.jwk())
    assert json.loads(keys.jwks_json()) == keys.jwks()


def test_independent_keys_do_not_verify_each_other() -> None:
    body = b"{}"
    other = SaleorKeys(kid="second")
    assert other.kid == "second"
    with pytest.raises(jwt.PyJWTError):
        verify_webhook_signature(body, other.sign_webhook(body), SaleorKeys().jwks())


def test_forged_signatures_are_rejected_by_a_pinned_verifier() -> None:
    keys = SaleorKeys()
    body = b'{"__typename": "OrderFullyPaid"}'
    for forged in (forge_hs256(body, "secret", kid=keys.kid), forge_alg_none(body, kid=keys.kid)):
        with pytest.raises(jwt.PyJWTError):
            verify_webhook_signature(body, forged, keys.jwks())
    assert json.loads(_protected_header(forge_alg_none(body)))["alg"] == "none"


# -- tokens --------------------------------------------------------------------------------------------------


def test_user_token_has_saleors_claims() -> None:
    keys = SaleorKeys()
    token = keys.issue_user_token(
        "https://shop.example/graphql/", fx.global_id("User", 7), "a@example.com", audience="storefront"
    )
    assert jwt.get_unverified_header(token)["kid"] == keys.kid
    claims = jwt.decode(token, keys.public_key, algorithms=["RS256"], audience="custom:storefront")
    assert claims["iss"] == "https://shop.example/graphql/"
    assert (claims["type"], claims["owner"], claims["is_staff"]) == ("access", "saleor", False)
    assert claims["user_id"] == "VXNlcjo3" and claims["email"] == "a@example.com"
    assert claims["exp"] - claims["iat"] == 300 and claims["token"]
    assert "sub" not in claims


def test_expired_and_overridden_user_tokens() -> None:
    keys = SaleorKeys()
    expired = keys.issue_user_token("https://s/graphql/", "VXNlcjox", "a@example.com", lifetime=-10)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, keys.public_key, algorithms=["RS256"])
    edited = keys.issue_user_token(
        "https://s/graphql/", "VXNlcjox", "a@example.com", type="refresh", extra={"email": None}
    )
    claims = jwt.decode(edited, keys.public_key, algorithms=["RS256"])
    assert claims["type"] == "refresh" and "email" not in claims


def test_dashboard_token_has_thirdparty_claims() -> None:
    keys = SaleorKeys()
    token = keys.issue_app_token("https://s/graphql/", "QXBwOjE=", permissions=["MANAGE_USERS"])
    claims = jwt.decode(token, keys.public_key, algorithms=["RS256"])
    assert claims["type"] == "thirdparty" and claims["app"] == "QXBwOjE="
    assert claims["permissions"] == claims["user_permissions"] == ["MANAGE_USERS"]
    assert {"user_id", "email", "iss", "exp", "iat", "owner"} <= set(claims)


# -- documents and payloads ----------------------------------------------------------------------------------


def test_saleor_serialises_bodies_with_default_json_dumps() -> None:
    body, _ = _sample("04-order_fully_paid")
    assert json.dumps(json.loads(body)).encode() == body


@pytest.mark.parametrize(
    ("sample", "event"),
    [
        ("04-order_fully_paid", fx.event("OrderFullyPaid", issuing_principal=fx.user_principal(54), order=fx.order())),
        (
            "13-order_created",
            fx.event(
                "OrderCreated",
                issuing_principal=fx.user_principal(54),
                order=fx.order(
                    lines=[fx.line(unit_gross=37.5, undiscounted_unit_gross=45.0)],
                    voucher_code="LOYAL-1",
                    discounts=[fx.discount(7.5, name="e2e LOYAL-1")],
                ),
            ),
        ),
        ("00-customer_created", fx.event("CustomerCreated", user=fx.customer(is_confirmed=False))),
        (
            "12-checkout_updated",
            fx.event(
                "CheckoutUpdated",
                issuing_principal=fx.app_principal(),
                checkout=fx.checkout(user=fx.user(54), voucher_code="X", discount_amount=7.5, total=37.5),
            ),
        ),
    ],
)
def test_body_built_from_the_sample_subscription_has_the_real_shape(sample: str, event: dict[str, Any]) -> None:
    body = build_webhook_body(SUBSCRIPTION, event)
    real = json.loads(_sample(sample)[0])
    built = json.loads(body)
    assert _shape(built) == _shape(real)
    assert body == json.dumps(built).encode()  # serialised like Saleor


def test_amounts_stay_json_numbers_and_orders_are_consistent() -> None:
    order = fx.order(shipping_gross=5.0, total_refunded=5.0)
    built = json.loads(build_webhook_body(SUBSCRIPTION, fx.event("OrderRefunded", order=order)))["order"]
    assert built["total"]["gross"]["amount"] == 145.0
    assert built["totalCharged"]["amount"] == 140.0 and built["totalRefunded"]["amount"] == 5.0
    assert (built["chargeStatus"], built["paymentStatus"], built["isPaid"]) == (
        "PARTIAL",
        "PARTIALLY_REFUNDED",
        False,
    )


def test_a_field_saleor_lacks_is_rejected() -> None:
    document = "subscription { event { ... on OrderFullyPaid { order { id loyaltyPoints } } } }"
    with pytest.raises(InvalidDocument, match="loyaltyPoints"):
        validate_document(document)
    with pytest.raises(InvalidDocument):
        build_webhook_body(document, fx.event("OrderFullyPaid", order=fx.order()))


def test_a_field_only_in_3_23_fails_the_3_22_check() -> None:
    document = "query { me { id customerType { id } } }"
    validate_document(document, versions=("3.23",))
    with pytest.raises(InvalidDocument) as raised:
        validate_document(document)
    assert raised.value.version == "3.22"


def test_a_missing_non_null_field_names_its_path() -> None:
    order = fx.order()
    del order["number"]
    with pytest.raises(AssertionError, match=r"event\.order\.number"):
        build_webhook_body(SUBSCRIPTION, fx.event("OrderFullyPaid", order=order))


def test_an_event_the_subscription_does_not_cover_is_refused() -> None:
    assert "OrderFulfilled" not in subscribed_event_types(SUBSCRIPTION)
    with pytest.raises(AssertionError, match="OrderFulfilled"):
        build_webhook_body(SUBSCRIPTION, fx.event("OrderFulfilled", order=fx.order()))


# -- FakeSaleor ----------------------------------------------------------------------------------------------


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store


def _post(saleor: FakeSaleor, query: str, token: str | None = None, **variables: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(saleor.api_url, json={"query": query, "variables": variables}, headers=headers, timeout=5)


def test_fake_saleor_serves_its_jwks(saleor: FakeSaleor) -> None:
    response = requests.get(saleor.jwks_url, timeout=5)
    assert response.json() == saleor.keys.jwks()
    assert saleor.jwks_requests == 1
    assert saleor.api_url.startswith("http://127.0.0.1:") and saleor.api_url.endswith("/graphql/")


def test_invalid_document_gets_400_and_is_recorded(saleor: FakeSaleor) -> None:
    response = _post(saleor, "{ app { id loyaltyPoints } }", saleor.app_token)
    assert response.status_code == 400
    assert "loyaltyPoints" in response.json()["errors"][0]["message"]
    assert "data" not in response.json()
    with pytest.raises(AssertionError, match="loyaltyPoints"):
        saleor.assert_all_documents_valid()


def test_app_query_with_and_without_the_app_token(saleor: FakeSaleor) -> None:
    good = _post(saleor, "{ app { id } }", saleor.app_token)
    assert good.status_code == 200 and good.json() == {"data": {"app": {"id": saleor.app_id}}}
    bad = _post(saleor, "{ app { id } }", "x" * 30)
    assert bad.status_code == 200
    assert bad.json()["data"] == {"app": None}
    assert bad.json()["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert saleor.calls[0].app_authenticated and not saleor.calls[1].app_authenticated
    assert [denial.path for _, denial in saleor.permission_denials] == [("app",)]
    with pytest.raises(AssertionError, match="would deny 1 field"):
        saleor.assert_all_documents_valid()


def test_configured_resolvers_get_the_call_and_arguments(saleor: FakeSaleor) -> None:
    seen: dict[str, Any] = {}

    def checkout_add_promo_code(call: Any, **args: Any) -> dict[str, Any]:
        seen.update(args, auth=call.bearer)
        return {"checkout": {"id": args["id"], "voucherCode": args["promoCode"]}, "errors": []}

    saleor.resolvers["checkoutAddPromoCode"] = checkout_add_promo_code
    mutation = """mutation Add($id: ID!, $code: String!) {
      checkoutAddPromoCode(id: $id, promoCode: $code) { checkout { id voucherCode } errors { field code } } }"""
    response = _post(saleor, mutation, saleor.app_token, id="Q2hlY2tvdXQ6MQ==", code="LOYAL-1")
    assert response.json() == {
        "data": {
            "checkoutAddPromoCode": {"checkout": {"id": "Q2hlY2tvdXQ6MQ==", "voucherCode": "LOYAL-1"}, "errors": []}
        }
    }
    assert seen == {"id": "Q2hlY2tvdXQ6MQ==", "promoCode": "LOYAL-1", "auth": saleor.app_token}
    assert saleor.calls_to("checkoutAddPromoCode")[0].operation_name is None


def test_unconfigured_field_and_resolver_errors(saleor: FakeSaleor) -> None:
    response = _post(saleor, '{ channel(slug: "default-channel") { slug } }')
    assert response.json()["errors"][0]["message"] == "not configured in FakeSaleor: channel"

    def deny(call: Any, **args: Any) -> None:
        raise PermissionDenied(("MANAGE_USERS",))

    saleor.resolvers["user"] = deny
    response = _post(saleor, '{ user(id: "VXNlcjox") { id } }')
    assert response.json()["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"


def test_bad_variables_are_a_400(saleor: FakeSaleor) -> None:
    saleor.resolvers["checkoutAddPromoCode"] = lambda call, **args: None
    mutation = 'mutation($id: ID!) { checkoutAddPromoCode(id: $id, promoCode: "X") { errors { code } } }'
    assert _post(saleor, mutation).status_code == 400


def test_user_tokens_are_checked_like_saleor(saleor: FakeSaleor) -> None:
    saleor.resolvers["me"] = lambda call: {"id": call.token_claims["user_id"], "email": call.token_claims["email"]}
    token = saleor.user_token("VXNlcjo1NA==", "a@example.com")
    assert _post(saleor, "{ me { id email } }", token).json() == {
        "data": {"me": {"id": "VXNlcjo1NA==", "email": "a@example.com"}}
    }
    expired = saleor.user_token("VXNlcjo1NA==", "a@example.com", lifetime=-1)
    answer = _post(saleor, "{ me { id } }", expired)
    assert answer.status_code == 200 and answer.json()["data"] == {"me": None}
    assert answer.json()["errors"][0]["extensions"]["exception"]["code"] == "ExpiredSignatureError"
    foreign = SaleorKeys(fresh=True).issue_user_token(saleor.api_url, "VXNlcjo1NA==", "a@example.com")
    code = _post(saleor, "{ me { id } }", foreign).json()["errors"][0]["extensions"]["exception"]["code"]
    assert code == "InvalidSignatureError"


def test_fail_next(saleor: FakeSaleor) -> None:
    saleor.fail_next("app", status=503)
    assert _post(saleor, "{ app { id } }", saleor.app_token).status_code == 503
    saleor.fail_next("app", errors=[{"message": "boom"}])
    failed = _post(saleor, "{ app { id } }", saleor.app_token).json()
    assert failed == {"data": {"app": None}, "errors": [{"message": "boom"}]}
    assert _post(saleor, "{ app { id } }", saleor.app_token).json()["data"]["app"]["id"] == saleor.app_id


def test_rotated_keys_invalidate_old_signatures(saleor: FakeSaleor) -> None:
    body = b"{}"
    old_kid, signature = saleor.keys.kid, saleor.keys.sign_webhook(body)
    saleor.rotate_keys()
    assert saleor.keys.kid != old_kid
    with pytest.raises(jwt.PyJWTError):
        verify_webhook_signature(body, signature, requests.get(saleor.jwks_url, timeout=5).json())


class _Receiver:
    """A tiny app stand-in that records what Saleor posts to it."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_deliver_posts_like_saleor(saleor: FakeSaleor) -> None:
    app = _Receiver()
    try:
        body = build_webhook_body(SUBSCRIPTION, fx.event("OrderFullyPaid", order=fx.order()))
        assert saleor.deliver(f"{app.url}/webhooks/", "ORDER_FULLY_PAID", body).status_code == 200
        path, headers, received = app.requests[0]
        assert path == "/webhooks/" and received == body
        assert headers["Saleor-Event"] == "order_fully_paid"
        assert headers["Saleor-Api-Url"] == saleor.api_url and headers["Saleor-Domain"] == saleor.domain
        assert headers["Content-Type"] == "application/json"
        verify_webhook_signature(received, headers["Saleor-Signature"], saleor.keys.jwks())
        saleor.deliver(app.url, "order_paid", body, headers_override={"Saleor-Signature": None})
        assert "Saleor-Signature" not in app.requests[1][1]
    finally:
        app.close()


def _manifest(base: str = "https://app.example", **changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "id": "saleor.app.loyalty",
        "version": "0.1.0",
        "name": "Loyalty",
        "tokenTargetUrl": f"{base}/api/register",
        "appUrl": f"{base}/app",
        "permissions": ["MANAGE_ORDERS", "MANAGE_USERS"],
        "requiredSaleorVersion": ">=3.22 <4",
        "webhooks": [
            {
                "name": "orders",
                "targetUrl": f"{base}/api/webhooks/orders",
                "query": "subscription { event { ... on OrderFullyPaid { order { id } } "
                "... on OrderRefunded { order { id } } } }",
                "asyncEvents": ["ORDER_FULLY_PAID", "ORDER_REFUNDED"],
            }
        ],
        "extensions": [
            {
                "label": "Loyalty",
                "mount": "CUSTOMER_DETAILS_MORE_ACTIONS",
                "target": "POPUP",
                "url": f"{base}/extension",
                "permissions": ["MANAGE_USERS"],
            }
        ],
    }
    manifest.update(changes)
    return manifest


def test_install_and_emit(saleor: FakeSaleor) -> None:
    app = _Receiver()
    try:
        assert saleor.install(app.url, _manifest(app.url)).status_code == 200
        path, headers, body = app.requests[0]
        assert path == "/api/register" and json.loads(body) == {"auth_token": saleor.app_token}
        assert headers["Saleor-Api-Url"] == saleor.api_url and headers["Saleor-Domain"] == saleor.domain
        responses = saleor.emit(fx.event("OrderFullyPaid", order=fx.order()))
        assert [r.status_code for r in responses] == [200]
        assert app.requests[1][0] == "/api/webhooks/orders"
        assert set(json.loads(app.requests[1][2])) == {"order"}  # exactly what the query asked for
        assert saleor.emit(fx.event("OrderCreated", order=fx.order())) == []
    finally:
        app.close()


# -- manifests -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.22", "3.23"])
def test_a_sound_manifest_is_accepted(version: str) -> None:
    validate_manifest(_manifest(), version)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"permissions": ["MANAGE_LOYALTY"]}, "MANAGE_LOYALTY"),
        ({"name": None}, "name"),
        ({"requiredSaleorVersion": ">=3.24"}, "requiredSaleorVersion"),
        ({"requiredSaleorVersion": "not a range"}, "requiredSaleorVersion"),
        ({"tokenTargetUrl": "/api/register"}, "tokenTargetUrl"),
    ],
)
def test_manifest_basics_are_checked(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidManifest, match=message):
        validate_manifest(_manifest(**changes), "3.23")


def _with_webhook(**changes: Any) -> dict[str, Any]:
    manifest = _manifest()
    manifest["webhooks"][0].update(changes)
    return manifest


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (_with_webhook(asyncEvents=["ORDER_FULLY_PAID"]), "ORDER_REFUNDED is not declared"),
        (_with_webhook(asyncEvents=["ORDER_FULLY_PAID", "ORDER_REFUNDED", "ORDER_CREATED"]), "OrderCreated"),
        (_with_webhook(asyncEvents=["ORDER_FULLY_PAID", "ORDER_LOYALTY"]), "ORDER_LOYALTY"),
        (
            _with_webhook(query="subscription { event { ... on OrderFullyPaid { order { loyaltyPoints } } } }"),
            "loyaltyPoints",
        ),
        (_with_webhook(query="query { shop { name } }"), "subscription"),
        (_with_webhook(targetUrl="/relative"), "targetUrl"),
    ],
)
def test_manifest_webhooks_are_checked(manifest: dict[str, Any], message: str) -> None:
    for version in ("3.22", "3.23"):
        with pytest.raises(InvalidManifest, match=message):
            validate_manifest(manifest, version)


def test_manifest_extensions_are_checked() -> None:
    app_page = _manifest(
        extensions=[
            {"label": "L", "mount": "NAVIGATION_CUSTOMERS", "target": "APP_PAGE", "url": "https://app.example/page"}
        ]
    )
    validate_manifest(app_page, "3.23")
    with pytest.raises(InvalidManifest, match="APP_PAGE url must be relative"):
        validate_manifest(app_page, "3.22")
    foreign_permission = _manifest()
    foreign_permission["extensions"][0]["permissions"] = ["MANAGE_CHECKOUTS"]
    with pytest.raises(InvalidManifest, match="MANAGE_CHECKOUTS"):
        validate_manifest(foreign_permission, "3.23")
    homepage = _manifest(
        extensions=[{"label": "L", "mount": "HOMEPAGE_WIDGETS", "target": "WIDGET", "url": "https://app.example/w"}]
    )
    validate_manifest(homepage, "3.23")
    with pytest.raises(InvalidManifest, match="HOMEPAGE_WIDGETS"):
        validate_manifest(homepage, "3.22")
    widget_on_menu = _manifest(
        extensions=[{"label": "L", "mount": "NAVIGATION_CUSTOMERS", "target": "WIDGET", "url": "https://app.example/w"}]
    )
    with pytest.raises(InvalidManifest, match="WIDGET"):
        validate_manifest(widget_on_menu, "3.23")


def test_manifest_token_target_url_is_optional_from_3_23() -> None:
    manifest = _manifest()
    del manifest["tokenTargetUrl"]
    validate_manifest(manifest, "3.23")
    with pytest.raises(InvalidManifest, match="tokenTargetUrl"):
        validate_manifest(manifest, "3.22")


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        (">=3.22 <4", "3.22.67", True),
        (">=3.22 <4", "4.0.0", False),
        ("^3.22", "3.23.28", True),
        ("~3.22", "3.23.28", False),
        ("3.22.x || 3.23.x", "3.23.1", True),
        ("3.20 - 3.22", "3.22.67", True),
        ("3.20 - 3.22", "3.23.0", False),
        (">3.22", "3.22.67", False),
        ("*", "3.22.0", True),
    ],
)
def test_required_saleor_version_ranges(spec: str, version: str, expected: bool) -> None:
    assert satisfies(version, spec) is expected


def test_shared_dir_is_found() -> None:
    assert (shared_saleor_dir() / "schema-3.22.graphql").is_file()
    assert isinstance(shared_saleor_dir(), Path)


# -- permissions: what Saleor denies a token even in a valid document ---------------------------------------------

SHOPPER_CHECKOUT_WITH_CURRENCY = """query($id: ID!) {
  checkout(id: $id) { id channel { slug currencyCode } subtotalPrice { gross { currency } } } }"""


def _checkout_resolver(call: Any, id: str) -> dict[str, Any]:
    return {
        "id": id,
        "channel": {"slug": "default-channel", "currencyCode": "USD"},
        "subtotalPrice": {"gross": {"amount": 10, "currency": "USD"}},
    }


def test_a_customer_token_may_not_read_what_saleor_keeps_for_apps_and_staff(saleor: FakeSaleor) -> None:
    """Seen on a real Saleor 3.23: a shopper's token reading `channel.currencyCode` gets PermissionDenied."""
    saleor.resolvers["checkout"] = _checkout_resolver
    token = saleor.user_token("VXNlcjox", "shopper@example.com")
    body = _post(saleor, SHOPPER_CHECKOUT_WITH_CURRENCY, token, id="Q2hlY2tvdXQ6MQ==").json()
    assert body["data"] == {"checkout": None}
    assert body["errors"][0]["message"] == (
        "To access this path, you need one of the following permissions: AUTHENTICATED_APP, AUTHENTICATED_STAFF_USER"
    )
    assert body["errors"][0]["extensions"]["exception"]["code"] == "PermissionDenied"
    assert [d.path for _, d in saleor.permission_denials] == [("checkout", "channel", "currencyCode")]
    saleor.permission_denials.clear()

    allowed = "query($id: ID!) { checkout(id: $id) { id channel { slug } subtotalPrice { gross { currency } } } }"
    body = _post(saleor, allowed, token, id="Q2hlY2tvdXQ6MQ==").json()
    assert body["data"]["checkout"]["subtotalPrice"]["gross"]["currency"] == "USD"
    assert "errors" not in body and not saleor.permission_denials


def test_an_app_may_call_what_the_merchant_granted_and_nothing_else() -> None:
    created: list[dict[str, Any]] = []

    def voucher_create(call: Any, input: dict[str, Any]) -> dict[str, Any]:
        created.append(input)
        return {"voucher": {"id": "Vm91Y2hlcjox"}, "errors": []}

    mutation = 'mutation { voucherCreate(input: {name: "x"}) { voucher { id } errors { field } } }'
    with FakeSaleor(app_permissions=("MANAGE_ORDERS",)) as store:
        store.resolvers["voucherCreate"] = voucher_create
        denied = _post(store, mutation, store.app_token).json()
        assert denied["data"] == {"voucherCreate": None} and created == []  # a denied mutation changes nothing
        assert "MANAGE_DISCOUNTS" in denied["errors"][0]["message"]
        store.permission_denials.clear()
    with FakeSaleor(app_permissions=("MANAGE_DISCOUNTS",)) as store:
        store.resolvers["voucherCreate"] = voucher_create
        assert _post(store, mutation, store.app_token).json()["data"]["voucherCreate"]["voucher"]["id"]
        assert len(created) == 1
    with FakeSaleor() as store:  # no install yet, nothing granted: only what any app token may read
        assert [d.path for d in denials(mutation, Caller.app(store.app_permissions))] == [("voucherCreate",)]
        assert denials("query { app { id } }", Caller.app(store.app_permissions)) == []
        assert [d.path for d in denials("query { app { id } }", Caller.anonymous())] == [("app",)]


# -- the fake store's catalog (the campaign form's pickers) ---------------------------------------------------


def _catalog_store() -> Iterator[tuple[FakeSaleor, Any]]:
    from tests.fake_store import FakeStore

    with FakeSaleor(app_permissions=("MANAGE_DISCOUNTS",)) as saleor:
        yield saleor, FakeStore(saleor)


@pytest.fixture
def catalog_store() -> Iterator[tuple[FakeSaleor, Any]]:
    yield from _catalog_store()


def _document(name: str) -> str:
    return (Path(__file__).resolve().parents[1] / "graphql" / "operations" / f"{name}.graphql").read_text()


def test_the_fake_store_answers_the_pickers_documents_like_saleor(catalog_store: tuple[FakeSaleor, Any]) -> None:
    saleor, _ = catalog_store
    products = _post(saleor, _document("product_search"), saleor.app_token, search="tee", first=5).json()
    tee = {"id": fx.global_id("Product", 1), "name": "Monospace Tee", "category": {"name": "T-shirts"}}
    assert products == {"data": {"products": {"edges": [{"node": tee}]}}}
    categories = _post(saleor, _document("category_search"), saleor.app_token, search="SNEAK", first=5).json()
    assert categories["data"]["categories"]["edges"][0]["node"]["parent"] == {"name": "Shoes"}
    names = _post(
        saleor,
        _document("catalog_names"),
        saleor.app_token,
        productIds=[fx.global_id("Product", 2), fx.global_id("Product", 999)],
        categoryIds=[],
        withProducts=True,
        withCategories=False,
    ).json()
    sneakers = {"id": fx.global_id("Product", 2), "name": "Dash Force sneakers", "category": {"name": "Sneakers"}}
    assert names == {"data": {"products": {"edges": [{"node": sneakers}]}}}
    saleor.assert_all_documents_valid()


def test_the_fake_store_refuses_what_saleor_refuses_in_a_product_query(catalog_store: tuple[FakeSaleor, Any]) -> None:
    saleor, _ = catalog_store
    names = _document("catalog_names")
    wrong_type = _post(saleor, names, saleor.app_token, productIds=[fx.global_id("Category", 1)], categoryIds=[],
                       withProducts=True, withCategories=False).json()  # fmt: skip
    assert wrong_type["data"] == {"products": None} and "Expected: Product" in wrong_type["errors"][0]["message"]
    too_many = _post(saleor, _document("product_search"), saleor.app_token, search="", first=101).json()
    assert "exceeds the `first` limit of 100" in too_many["errors"][0]["message"]
    # A staff user who may not see every product must name a channel (the store has two).
    staff = saleor.app_token_for_dashboard(["MANAGE_USERS"], is_staff=True)
    no_channel = _post(saleor, _document("product_search"), staff, search="", first=5).json()
    assert "Specify which channel" in no_channel["errors"][0]["message"]
