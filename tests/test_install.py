"""Installing into Saleor, as Saleor does it: manifest, token registration, uninstall and re-install.

The app talks to a real `FakeSaleor` over HTTP: it proves the token with `{ app { id } }` and fetches the store's
JWKS, and every document it sends there is checked against Saleor's schemas (teardown fails on an invalid one).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import Client
from django.test.testcases import LiveServerThread

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.saleor import documents
from saleor_loyalty.saleor.manifest import PERMISSIONS
from saleor_loyalty.webhooks.models import InboxEvent
from tests.saleor_harness import SALEOR_VERSIONS, FakeSaleor, build_webhook_body, validate_manifest
from tests.saleor_harness import fixtures as fx

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS_DIR = Path(__file__).resolve().parents[1] / "graphql" / "subscriptions"


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store
        store.assert_all_documents_valid()


def register(saleor: FakeSaleor, token: str | None = None):
    """Saleor's token POST to the app's tokenTargetUrl."""
    return Client().post(
        "/api/register",
        data=json.dumps({"auth_token": token if token is not None else saleor.app_token}),
        content_type="application/json",
        headers=saleor.install_headers(),
    )


def deliver(saleor: FakeSaleor, path: str, event_name: str, body: bytes):
    return Client().post(
        f"/api/webhooks/{path}",
        data=body,
        content_type="application/json",
        headers=saleor.signed_headers(event_name, body),
    )


def paid_order_body(**order_fields) -> bytes:
    return build_webhook_body(
        documents.subscription("order_events"), fx.event("OrderFullyPaid", order=fx.order(**order_fields))
    )


def app_deleted_body(saleor: FakeSaleor) -> bytes:
    document = (SUBSCRIPTIONS_DIR / "app_deleted.graphql").read_text()
    return build_webhook_body(document, fx.event("AppDeleted", app={"id": saleor.app_id}))


def stored_token_column(install: Install) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_token FROM installs_install WHERE id = %s", [install.pk])
        (value,) = cursor.fetchone()
    return str(value)


# -- manifest --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", SALEOR_VERSIONS)
def test_the_manifest_is_accepted_by_each_supported_saleor(version):
    response = Client().get("/api/manifest", headers={"Saleor-Schema-Version": version})
    assert response.status_code == 200
    validate_manifest(response.json(), version)


def test_the_manifest_asks_for_exactly_the_permissions_the_app_needs():
    permissions = Client().get("/api/manifest").json()["permissions"]
    assert sorted(permissions) == sorted(
        ["MANAGE_ORDERS", "MANAGE_USERS", "MANAGE_DISCOUNTS", "MANAGE_CHECKOUTS", "MANAGE_GIFT_CARD"]
    )
    assert len(permissions) == len(set(permissions))


def test_the_manifest_subscribes_with_exactly_the_documents_under_graphql_subscriptions():
    """Every document under graphql/subscriptions is given to some Saleor line, and the manifest gives only them:
    a 3.22 store the documents of every line, a 3.23 store the one made for 3.23 in place of its older one."""
    given = set()
    for version in (None, "3.22", "3.23"):
        headers = {"Saleor-Schema-Version": version} if version else {}
        queries = [webhook["query"] for webhook in Client().get("/api/manifest", headers=headers).json()["webhooks"]]
        assert len(queries) == len(set(queries))
        given |= set(queries)
    files = {path.read_text() for path in SUBSCRIPTIONS_DIR.glob("*.graphql")}
    assert given == files


# -- install ---------------------------------------------------------------------------------------------------


def test_install_proves_the_token_and_stores_the_store_with_its_keys(saleor):
    response = register(saleor)

    assert response.status_code == 200, response.content
    install = Install.objects.get()
    assert install.saleor_api_url == saleor.api_url
    assert install.saleor_domain == saleor.domain
    assert install.app_id == saleor.app_id
    assert install.jwks == saleor.keys.jwks()
    assert install.is_active
    assert install.auth_token == saleor.app_token
    [proof] = saleor.calls_to("app")
    assert proof.bearer == saleor.app_token
    assert saleor.jwks_requests == 1


def test_the_token_is_encrypted_at_rest(saleor):
    assert register(saleor).status_code == 200
    install = Install.objects.get()
    column = stored_token_column(install)
    assert column
    assert saleor.app_token not in column


def test_reinstall_replaces_the_token_and_keeps_one_row(saleor):
    assert register(saleor).status_code == 200
    first = Install.objects.get()
    saleor.app_token = "a-brand-new-app-token-from-saleor"

    assert register(saleor).status_code == 200

    install = Install.objects.get()
    assert install.pk == first.pk
    assert install.auth_token == "a-brand-new-app-token-from-saleor"
    assert "a-brand-new-app-token-from-saleor" not in stored_token_column(install)


def test_an_install_from_an_allowed_saleor_is_accepted(saleor, settings):
    settings.ALLOWED_SALEOR_URLS = ["https://shop.example/graphql/", saleor.api_url]
    assert register(saleor).status_code == 200
    assert Install.objects.filter(saleor_api_url=saleor.api_url).exists()


def test_an_install_from_a_saleor_not_allowed_is_refused_without_calling_it(saleor, settings):
    settings.ALLOWED_SALEOR_URLS = ["https://shop.example/graphql/"]

    response = register(saleor)

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "FORBIDDEN_URL"
    assert "ALLOWED_SALEOR_URLS" in error["message"]
    assert not Install.objects.exists()
    assert saleor.calls == [] and saleor.jwks_requests == 0  # an unknown URL is never contacted


def test_a_token_saleor_rejects_is_refused_with_a_fixed_message(saleor):
    response = register(saleor, token="not-the-token-saleor-issued")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "TOKEN_REJECTED"
    assert error["message"] == "Saleor did not confirm the app token for this app."  # Saleor's text is only logged
    assert not Install.objects.exists()
    assert [denial.path for _, denial in saleor.permission_denials] == [("app",)]  # what a real Saleor refuses
    saleor.permission_denials.clear()  # expected here: teardown checks for unexpected denials


def test_an_install_without_a_token_is_refused(saleor):
    response = Client().post(
        "/api/register", data=json.dumps({}), content_type="application/json", headers=saleor.install_headers()
    )
    assert response.status_code == 400
    assert set(response.json()["error"]) >= {"code", "message"}
    assert not Install.objects.exists()


def test_an_install_when_saleor_is_unreachable_stores_nothing():
    saleor = FakeSaleor().start()
    headers, token = saleor.install_headers(), saleor.app_token
    saleor.stop()

    response = Client().post(
        "/api/register", data=json.dumps({"auth_token": token}), content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SALEOR_UNAVAILABLE"
    assert not Install.objects.exists()
    saleor.assert_all_documents_valid()


def test_an_install_when_saleor_fails_is_refused_and_stores_nothing(saleor):
    saleor.fail_next("app", status=502)
    response = register(saleor)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SALEOR_UNAVAILABLE"
    assert "Internal Server Error" not in response.json()["error"]["message"]  # Saleor's answer is only logged
    assert not Install.objects.exists()


def test_an_install_whose_jwks_cannot_be_fetched_stores_nothing(saleor, monkeypatch):
    monkeypatch.setattr(saleor, "handle_get", lambda path: (503, {"error": "down"}))
    response = register(saleor)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "SALEOR_UNAVAILABLE"
    assert not Install.objects.exists()


# -- uninstall -------------------------------------------------------------------------------------------------


def test_app_deleted_deactivates_the_install_and_later_deliveries_are_refused(saleor):
    assert register(saleor).status_code == 200

    response = deliver(saleor, "app", "APP_DELETED", app_deleted_body(saleor))

    assert response.status_code == 200
    install = Install.objects.get()
    assert not install.is_active
    assert install.deactivated_at is not None
    assert install.encrypted_token == ""  # the token is forgotten
    stored = InboxEvent.objects.count()
    later = deliver(saleor, "orders", "ORDER_FULLY_PAID", paid_order_body())
    assert later.status_code == 401
    assert InboxEvent.objects.count() == stored
    assert not OrderAward.objects.exists()


def test_a_reinstall_after_app_deleted_reactivates_the_same_install(saleor):
    assert register(saleor).status_code == 200
    assert deliver(saleor, "app", "APP_DELETED", app_deleted_body(saleor)).status_code == 200
    saleor.app_token = "the-token-of-the-second-install"

    assert register(saleor).status_code == 200

    install = Install.objects.get()
    assert install.is_active and install.deactivated_at is None
    assert install.auth_token == "the-token-of-the-second-install"
    assert deliver(saleor, "orders", "ORDER_FULLY_PAID", paid_order_body()).status_code == 200
    assert OrderAward.objects.filter(install=install).exists()


# -- over the wire ---------------------------------------------------------------------------------------------


class _NoStaticFiles(WSGIHandler):
    """Stands in for Django's live-server static-files handler, which needs a STATIC_URL this app does not have."""

    def __init__(self, application: Any) -> None:
        self.application = application

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.application(environ, start_response)


@pytest.fixture
def app_url(transactional_db) -> Iterator[str]:
    """The app on a real port (pytest-django's `live_server` cannot start here: see `_NoStaticFiles`)."""
    thread = LiveServerThread("127.0.0.1", _NoStaticFiles)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.mark.django_db(transaction=True)
def test_saleor_installs_the_app_over_http_and_its_events_earn_points(app_url, settings, saleor):
    settings.APP_URL = app_url

    response = saleor.install(f"{app_url}/api/manifest")  # validates the manifest the app gives a 3.23 Saleor

    assert response.status_code == 200, response.text
    assert set(saleor.app_permissions) == set(PERMISSIONS)  # the app's later calls are checked against these
    customer = fx.user(pk=7, email="ada@example.com")
    paid = fx.order(user=customer, lines=[fx.line(quantity=3, unit_gross=12.0, unit_net=10.0)], shipping_gross=5.0)
    responses = saleor.emit(fx.event("OrderFullyPaid", order=paid))
    assert [r.status_code for r in responses] == [200]
    install = Install.objects.get(saleor_api_url=saleor.api_url)
    member = Member.objects.get(install=install, saleor_user_id=customer["id"])
    assert member_balances(member).pending == 3 * 10  # net of tax, shipping excluded
