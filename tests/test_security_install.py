"""Issue #8's install-time and operational findings, each as the probe found it (these failed before the fixes).

- /api/register could be aimed at any URL: the app called it, echoed what came back, and installed the store.
- A signed APP_DELETED about *another* app deactivated ours; another app's token replaced ours on re-install.
- Raw ``Saleor-Event`` headers became Prometheus labels; /metrics was open to anyone.
- The public development SECRET_KEY was accepted in production and derived the token encryption key.
- The allow-list gated only new installs; the console email backend printed shoppers' addresses;
  ``chargeStatus`` alone decided that an order was paid.
"""

import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from saleor_loyalty.core.email import MaskedLogBackend, mask_email
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.saleor import documents
from saleor_loyalty.saleor.manifest import build_manifest
from saleor_loyalty.saleor.network import is_allowed_address
from saleor_loyalty.saleor.subscription_audit import audit_subscriptions
from saleor_loyalty.saleor.tasks import audit_subscriptions_everywhere
from saleor_loyalty.webhooks.models import InboxEvent
from tests.factories import installed_from
from tests.saleor_harness import FakeSaleor, build_webhook_body
from tests.saleor_harness import fixtures as fx

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
SUBSCRIPTIONS_DIR = ROOT / "graphql" / "subscriptions"
INTERNAL_SECRET = "internal-admin-secret-7f3a"


@pytest.fixture
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store
        store.assert_all_documents_valid()


class _InternalService(BaseHTTPRequestHandler):
    """A service beside the app that must never be reachable through it; it answers with a secret."""

    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        body = json.dumps({"errors": [{"message": f"forbidden, token={INTERNAL_SECRET}"}]}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal_service() -> Iterator[tuple[str, type[_InternalService]]]:
    handler = type("Handler", (_InternalService,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/graphql/", handler
    server.shutdown()
    server.server_close()


def register_at(api_url: str, token: str = "some-token") -> dict:
    response = Client().post(
        "/api/register",
        data=json.dumps({"auth_token": token}),
        content_type="application/json",
        headers={"Saleor-Api-Url": api_url, "Saleor-Domain": "shop.example"},
    )
    assert response.status_code in (400, 403), response.content
    error: dict = response.json()["error"]
    return error


# -- 1. the install handshake cannot be aimed at the app's own network ---------------------------------------


def test_register_never_calls_an_internal_address(settings, internal_service):
    url, service = internal_service
    settings.SALEOR_ALLOWED_NETWORKS = []  # production: loopback is not a store's address ...
    settings.ALLOWED_SALEOR_URLS = [url]  # ... even one the allow-list names

    error = register_at(url)

    assert error["code"] == "FORBIDDEN_URL"
    assert service.hits == 0  # refused before a byte was sent
    assert not Install.objects.exists()


def test_register_never_echoes_what_the_called_host_answered(internal_service):
    url, service = internal_service  # loopback is allowed in tests: the host is called, and answers a secret

    error = register_at(url)

    assert service.hits >= 1
    assert INTERNAL_SECRET not in json.dumps(error)
    assert error["code"] == "SALEOR_UNAVAILABLE"
    assert not Install.objects.exists()


def test_register_answers_the_same_for_a_closed_port_and_a_refusing_service(internal_service):
    url, _ = internal_service
    closed = register_at("http://127.0.0.1:9/graphql/")
    refusing = register_at(url)
    assert closed == refusing  # no port scanner: one code, one fixed message


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "10.0.0.5", "172.16.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "::1", "fe80::1",
     "fd00::1", "::ffff:127.0.0.1", "224.0.0.1", "127.0.0.1"],
)  # fmt: skip
def test_private_link_local_and_loopback_addresses_are_refused(settings, address):
    settings.SALEOR_ALLOWED_NETWORKS = []
    settings.DEBUG = False
    assert not is_allowed_address(address)


def test_public_addresses_and_listed_networks_are_allowed_and_loopback_only_under_debug(settings):
    settings.SALEOR_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    settings.DEBUG = False
    assert is_allowed_address("93.184.216.34")
    assert is_allowed_address("10.1.2.3")
    assert not is_allowed_address("10.2.0.1")
    assert not is_allowed_address("127.0.0.1")
    settings.DEBUG = True
    assert is_allowed_address("127.0.0.1")
    assert not is_allowed_address("169.254.169.254")  # the cloud metadata service, DEBUG or not


def test_a_name_that_resolves_to_loopback_is_refused_at_connect_time(settings, internal_service):
    url, service = internal_service
    url = url.replace("127.0.0.1", "localhost")
    settings.SALEOR_ALLOWED_NETWORKS = []
    settings.ALLOWED_SALEOR_URLS = [url]
    error = register_at(url)
    assert error["code"] == "FORBIDDEN_URL"
    assert service.hits == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",  # not Saleor's GraphQL endpoint
        "http://user:pass@shop.example/graphql/",
        "http://shop.example/graphql/?x=1",
        "ftp://shop.example/graphql/",
        "http:///graphql/",
        "http://shop.example:99999/graphql/",
        "http://shop.exa\x00mple/graphql/",
    ],
)
def test_register_refuses_urls_that_are_not_a_saleor_api_url(url):
    assert register_at(url)["code"] == "INVALID_API_URL"


def test_without_debug_an_empty_allow_list_accepts_no_store(settings, saleor):
    settings.ALLOWED_SALEOR_URLS = []
    settings.DEBUG = False
    response = Client().post(
        "/api/register",
        data=json.dumps({"auth_token": saleor.app_token}),
        content_type="application/json",
        headers=saleor.install_headers(),
    )
    assert response.status_code == 403
    assert saleor.calls == [] and saleor.jwks_requests == 0


def test_an_allow_list_pattern_matches_subdomains_only(settings):
    from saleor_loyalty.installs.allowlist import is_allowed

    settings.ALLOWED_SALEOR_URLS = ["https://*.saleor.cloud/graphql/"]
    assert is_allowed("https://shop.saleor.cloud/graphql/")
    assert not is_allowed("https://saleor.cloud.evil.example/graphql/")
    assert not is_allowed("https://evilsaleor.cloud/graphql/")
    assert not is_allowed("http://shop.saleor.cloud/graphql/")
    assert not is_allowed("https://shop.saleor.cloud/other/graphql/")


# -- 8. only our own app's token installs, and it never replaces another install's -------------------------


def test_a_token_of_another_app_on_the_same_store_cannot_replace_ours(saleor):
    install = installed_from(saleor)
    ours = install.auth_token
    saleor.app_token, saleor.app_identifier = "token-of-another-app", "some.other.app"

    response = Client().post(
        "/api/register",
        data=json.dumps({"auth_token": saleor.app_token}),
        content_type="application/json",
        headers=saleor.install_headers(),
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "TOKEN_REJECTED"
    install.refresh_from_db()
    assert install.auth_token == ours and install.is_active


# -- 4. APP_DELETED about another app -----------------------------------------------------------------------


def _app_deleted(saleor: FakeSaleor, app_id: str) -> bytes:
    document = (SUBSCRIPTIONS_DIR / "app_deleted.graphql").read_text()
    return build_webhook_body(document, fx.event("AppDeleted", app={"id": app_id}))


def _deliver(saleor: FakeSaleor, path: str, event: str, body: bytes):
    return Client().post(
        f"/api/webhooks/{path}", data=body, content_type="application/json", headers=saleor.signed_headers(event, body)
    )


def test_a_signed_app_deleted_about_another_app_leaves_ours_installed(saleor):
    install = installed_from(saleor)

    response = _deliver(saleor, "app", "APP_DELETED", _app_deleted(saleor, "QXBwOjk5"))  # App:99

    assert response.status_code == 200
    install.refresh_from_db()
    assert install.is_active and install.auth_token == saleor.app_token
    assert InboxEvent.objects.get().status == "processed"


def test_a_signed_app_deleted_about_our_app_uninstalls(saleor):
    install = installed_from(saleor)
    assert _deliver(saleor, "app", "APP_DELETED", _app_deleted(saleor, saleor.app_id)).status_code == 200
    install.refresh_from_db()
    assert not install.is_active


# -- 6. metrics ------------------------------------------------------------------------------------------------


def test_random_event_headers_do_not_become_metric_labels(saleor):
    installed_from(saleor)
    body = b"{}"
    for n in range(50):
        headers = saleor.signed_headers("ORDER_FULLY_PAID", body)
        headers["Saleor-Event"] = f"probe-{n}-{'x' * 40}"
        Client().post("/api/webhooks/orders", data=body, content_type="application/json", headers=headers)

    text = Client().get("/metrics").content.decode()

    assert "probe-" not in text
    assert 'event="unknown"' in text


def test_metrics_need_the_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = Client().get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert response.status_code == 200
    assert b"loyalty_webhooks_received_total" in response.content


# -- 7. production settings ------------------------------------------------------------------------------------


def _start(**env: str) -> subprocess.CompletedProcess[str]:
    """Start Django with the production settings module and ``env``, as `saleor-loyalty check` would."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}}
    clean.pop("ALLOWED_SALEOR_URLS", None)
    clean.update({"DJANGO_SETTINGS_MODULE": "saleor_loyalty.settings", "PYTHONPATH": str(ROOT), **env})
    code = "import django; django.setup(); print('started')"
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.slow
def test_production_refuses_to_start_with_the_public_secret_key_or_without_encryption_keys():
    result = _start()
    assert result.returncode != 0
    for setting in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_SALEOR_URLS"):
        assert setting in result.stderr


@pytest.mark.slow
def test_production_starts_once_the_secrets_and_allow_list_are_set_and_development_starts_with_debug():
    ready = _start(
        SECRET_KEY="a" * 50,
        FIELD_ENCRYPTION_KEYS="HxZ6bq2lBzpaYNzJgXYgvSfNLJ8sKC6tS6vIhG2L2ls=",
        ALLOWED_SALEOR_URLS="https://shop.example/graphql/",
    )
    assert ready.returncode == 0, ready.stderr
    assert _start(DEBUG="true").returncode == 0
    bad_key = _start(SECRET_KEY="a" * 50, FIELD_ENCRYPTION_KEYS="not-a-key", ALLOWED_SALEOR_URLS="*")
    assert bad_key.returncode != 0 and "key 1 is not a Fernet key" in bad_key.stderr


# -- 8. the allow-list holds on every request ------------------------------------------------------------------


def test_a_store_taken_off_the_allow_list_is_refused_on_every_request(settings, saleor):
    installed_from(saleor)
    settings.ALLOWED_SALEOR_URLS = ["https://another-shop.example/graphql/"]
    body = build_webhook_body(documents.subscription("order_events"), fx.event("OrderFullyPaid", order=fx.order()))

    assert _deliver(saleor, "orders", "ORDER_FULLY_PAID", body).status_code == 401
    token = saleor.user_token(fx.global_id("User", 1), "a@example.com")
    answer = (
        Client()
        .post(
            "/graphql/",
            data=json.dumps({"query": "{ me { balance { available } } }"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        .json()
    )
    assert not (answer.get("data") or {}).get("me")
    assert answer["errors"]
    assert InboxEvent.objects.count() == 0


# -- 8. shoppers' emails stay out of production logs ---------------------------------------------------------


def test_without_an_email_url_production_logs_a_masked_recipient_not_the_email(caplog):
    message = mail.EmailMessage("You earned 120 points", "Hi Jane, balance 1,020", to=["jane.doe@example.com"])
    with caplog.at_level(logging.WARNING):
        MaskedLogBackend().send_messages([message])
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'data', '')}" for r in caplog.records)
    assert "jane.doe@example.com" not in logged and "balance" not in logged
    assert "j***@example.com" in logged
    assert mask_email("no-at-sign") == "***"


@pytest.mark.slow
def test_production_settings_without_email_url_use_the_masked_backend():
    code = "from django.conf import settings; import django; django.setup(); print(settings.EMAIL_BACKEND)"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saleor_loyalty.settings",
        "SECRET_KEY": "b" * 50,
        "FIELD_ENCRYPTION_KEYS": "HxZ6bq2lBzpaYNzJgXYgvSfNLJ8sKC6tS6vIhG2L2ls=",
        "ALLOWED_SALEOR_URLS": "*",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("EMAIL_URL", None)
    env.pop("DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "saleor_loyalty.core.email.MaskedLogBackend", result.stderr


# -- 8. an order only authorised does not earn, whatever its body calls the fields --------------------------


def _order_event(saleor: FakeSaleor, typename: str, event: str, order: dict):
    body = build_webhook_body(documents.subscription("order_events"), fx.event(typename, order=order))
    return _deliver(saleor, "orders", event, body)


def test_an_authorised_order_whose_body_says_charged_earns_nothing(saleor):
    """An edited subscription can alias ``chargeStatus: authorizeStatus`` and ``totalCharged: totalAuthorized``:
    the body then says FULL and charged, for an order only authorised. Only ORDER_FULLY_PAID vouches for
    payment, and Saleor sends it only when the order is paid."""
    installed_from(saleor)
    user_id = fx.global_id("User", 41)
    order = fx.order(user={"id": user_id, "email": "a@example.com"}, charge_status="FULL")

    assert _order_event(saleor, "OrderCreated", "ORDER_CREATED", order).status_code == 200

    member = Member.objects.filter(saleor_user_id=user_id).first()
    assert member is None or member_balances(member).pending == 0

    assert _order_event(saleor, "OrderFullyPaid", "ORDER_FULLY_PAID", order).status_code == 200
    member = Member.objects.get(saleor_user_id=user_id)
    assert member_balances(member).pending > 0  # the payment event earns


def test_a_payment_event_whose_money_disagrees_with_its_status_earns_nothing(saleor):
    installed_from(saleor)
    user_id = fx.global_id("User", 42)
    order = fx.order(user={"id": user_id, "email": "b@example.com"}, total_charged=10.0, charge_status="FULL")

    assert _order_event(saleor, "OrderFullyPaid", "ORDER_FULLY_PAID", order).status_code == 200

    member = Member.objects.filter(saleor_user_id=user_id).first()
    assert member is None or member_balances(member).pending == 0


# -- 8. a store whose webhook documents were edited has its deliveries held ----------------------------------


def _installed_with_manifest(saleor: FakeSaleor) -> Install:
    saleor.manifest = build_manifest()  # what Saleor created the app's webhooks from
    return installed_from(saleor)


def _alter_order_subscription(saleor: FakeSaleor) -> None:
    """What staff with MANAGE_APPS can do in Saleor: edit the app's webhook document."""
    assert saleor.manifest is not None
    for webhook in saleor.manifest["webhooks"]:
        if webhook["targetUrl"].endswith("/api/webhooks/orders"):
            webhook["query"] = webhook["query"].replace("  chargeStatus\n", "  chargeStatus: authorizeStatus\n")


def test_the_audit_finds_our_own_subscriptions_unaltered(saleor):
    install = _installed_with_manifest(saleor)
    assert audit_subscriptions(install) == ""
    install.refresh_from_db()
    assert install.subscription_problem == "" and install.subscriptions_checked_at is not None


@pytest.mark.parametrize("version", ["3.22", "3.23"])
def test_the_audit_accepts_the_documents_of_either_saleor_line(version):
    """A 3.23 store gets the 3.23 order events (gift-card payment details), a 3.22 store the 3.22 ones: both are
    ours, and neither is changed. Edited, either is held."""
    with FakeSaleor(schema_version=version) as saleor:
        saleor.manifest = build_manifest(saleor_version=version)
        install = installed_from(saleor)
        assert audit_subscriptions(install) == ""
        assert saleor.webhook_updates == []
        _alter_order_subscription(saleor)
        problem = audit_subscriptions(install)
        assert "none of the manifest's (order_events or order_events_3_23)" in problem
        assert "inactive or missing" not in problem  # it is there and active: only its document is not ours
        assert saleor.webhook_updates == []  # an edited document is held, never "upgraded" over
        saleor.assert_all_documents_valid()


def _order_webhook(saleor: FakeSaleor) -> dict:
    assert saleor.manifest is not None
    return next(w for w in saleor.manifest["webhooks"] if w["targetUrl"].endswith("/api/webhooks/orders"))


def test_a_store_upgraded_to_3_23_gets_the_3_23_order_document_from_the_audit(saleor, caplog):
    """Installed on 3.22, the store keeps the 3.22 order document after upgrading to 3.23, without the payments'
    gift-card details: store credit spent there would earn. The audit gives the webhook the 3.23 document and the
    manifest's events, as the app's own update (no MANAGE_APPS), once."""
    saleor.manifest = build_manifest(saleor_version="3.22")  # what the store was installed with
    install = installed_from(saleor)  # the store now runs 3.23 (FakeSaleor's default)
    old_events = list(_order_webhook(saleor)["asyncEvents"])

    with caplog.at_level(logging.WARNING, logger="saleor_loyalty.saleor.subscription_audit"):
        assert audit_subscriptions(install) == ""

    [update] = saleor.webhook_updates
    assert update["query"] == documents.subscription("order_events_3_23")
    assert sorted(update["asyncEvents"]) == sorted(old_events)
    assert _order_webhook(saleor)["query"] == documents.subscription("order_events_3_23")
    assert "webhook document upgraded for the store's Saleor line" in caplog.text
    install.refresh_from_db()
    assert install.saleor_version == "3.23"  # the line the audit saw, for operators
    assert audit_subscriptions(install) == ""
    assert len(saleor.webhook_updates) == 1  # up to date: nothing more to send

    user_id = fx.global_id("User", 45)  # and the deliveries after it carry the payments' details
    order = fx.order(user={"id": user_id, "email": "e@example.com"}, transactions=[fx.transaction("pi_3Qcash", 50.0)])
    body = build_webhook_body(_order_webhook(saleor)["query"], fx.event("OrderFullyPaid", order=order))
    assert _deliver(saleor, "orders", "ORDER_FULLY_PAID", body).status_code == 200
    assert "paymentMethodDetails" in InboxEvent.objects.get().body


def test_an_upgrade_saleor_refuses_is_tried_again_and_holds_nothing(saleor, caplog):
    saleor.manifest = build_manifest(saleor_version="3.22")
    install = installed_from(saleor)
    saleor.fail_next("webhookUpdate", status=502)

    with caplog.at_level(logging.ERROR, logger="saleor_loyalty.saleor.subscription_audit"):
        assert audit_subscriptions(install) == ""  # the webhooks are ours: nothing is held

    assert "webhook document not upgraded" in caplog.text
    install.refresh_from_db()
    assert install.subscription_problem == ""
    assert audit_subscriptions(install) == ""  # the next audit sends it again
    assert _order_webhook(saleor)["query"] == documents.subscription("order_events_3_23")


def test_deliveries_of_a_store_with_an_edited_subscription_are_held_until_it_is_restored(saleor):
    install = _installed_with_manifest(saleor)
    _alter_order_subscription(saleor)

    assert "order_events" in audit_subscriptions(install)
    user_id = fx.global_id("User", 43)
    order = fx.order(user={"id": user_id, "email": "c@example.com"})
    assert _order_event(saleor, "OrderFullyPaid", "ORDER_FULLY_PAID", order).status_code == 200  # stored

    held = InboxEvent.objects.get()
    assert held.status == "failed" and held.last_error.startswith("held:")
    assert not Member.objects.filter(saleor_user_id=user_id).exists()

    saleor.manifest = build_manifest()  # restored in Saleor
    out = io.StringIO()
    call_command("audit_subscriptions", stdout=out)
    assert f"{install.saleor_api_url}: ours" in out.getvalue()
    call_command("replay_inbox_event", "--failed", stdout=io.StringIO())
    assert member_balances(Member.objects.get(saleor_user_id=user_id)).pending > 0


def test_the_periodic_audit_marks_altered_stores_and_keeps_the_finding_while_saleor_fails(saleor):
    install = _installed_with_manifest(saleor)
    _alter_order_subscription(saleor)
    assert audit_subscriptions_everywhere() == 1
    install.refresh_from_db()
    assert "order_events" in install.subscription_problem
    saleor.manifest = build_manifest()
    saleor.fail_next("app", status=502)
    assert audit_subscriptions_everywhere() == 0  # Saleor failing: nothing new recorded ...
    install.refresh_from_db()
    assert install.subscription_problem  # ... and what was found stays


def test_healthz_names_a_failing_check_without_its_error_text(monkeypatch):
    from saleor_loyalty.core import views

    def broken() -> str:
        raise OSError("could not connect to db.internal:5432 as loyalty:hunter2")

    monkeypatch.setattr(views, "_check_database", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "error: OSError"
    assert b"db.internal" not in response.content and b"hunter2" not in response.content


def test_open_and_closed_ports_on_a_refused_address_are_answered_alike(settings, internal_service):
    """Found on a real run with ALLOWED_SALEOR_URLS=*: checking only the connected socket let a refused
    address's open port (403 FORBIDDEN_URL) be told from a closed one (400 unreachable)."""
    url, service = internal_service
    settings.SALEOR_ALLOWED_NETWORKS = []
    settings.ALLOWED_SALEOR_URLS = ["*"]
    open_port = register_at(url)
    closed_port = register_at("http://127.0.0.1:9/graphql/")
    assert open_port == closed_port and open_port["code"] == "FORBIDDEN_URL"
    assert service.hits == 0


@pytest.mark.parametrize("change", ["deactivated", "deleted", "aimed elsewhere", "events removed"])
def test_an_own_webhook_switched_off_deleted_or_redirected_is_an_alteration(saleor, change):
    """Found on a real run: with our order webhook inactive, a forged refund-less body from another app's webhook
    was the only delivery of that order to arrive. The same holds for an event taken off it (the tenth real run:
    Saleor 3.23.28 lets staff keep only ORDER_CREATED and ORDER_FULLY_PAID, and the audit called that ours)."""
    install = _installed_with_manifest(saleor)
    assert saleor.manifest is not None
    webhooks = saleor.manifest["webhooks"]
    orders = next(w for w in webhooks if w["targetUrl"].endswith("/api/webhooks/orders"))
    if change == "deactivated":
        orders["isActive"] = False
    elif change == "deleted":
        webhooks.remove(orders)
    elif change == "events removed":
        orders["asyncEvents"] = ["ORDER_CREATED", "ORDER_FULLY_PAID"]  # no refunds, no cancellations
    else:
        orders["targetUrl"] = "https://elsewhere.example/hook"

    problem = audit_subscriptions(install)

    assert "order_events" in problem or "/hook" in problem or "no longer subscribes" in problem
    if change == "events removed":
        assert "ORDER_REFUNDED, ORDER_FULLY_REFUNDED, ORDER_CANCELLED" in problem
        assert saleor.webhook_updates == []  # held, not put back over the store's choice


def test_a_signed_order_whose_id_no_column_holds_is_malformed_not_retried(saleor):
    """Found by the fuzzer: an id over 255 characters failed with DataError and was retried eight times."""
    installed_from(saleor)
    order = fx.order(user={"id": fx.global_id("User", 44), "email": "d@example.com"})
    order["id"] = "T3JkZXI6" + "A" * 300
    assert _order_event(saleor, "OrderFullyPaid", "ORDER_FULLY_PAID", order).status_code == 200
    event = InboxEvent.objects.get()
    assert event.status == "failed" and event.last_error.startswith("malformed payload:")
    assert event.attempts >= 8  # never retried


def test_customer_updated_about_a_staff_user_is_ignored_not_malformed(saleor):
    """Found on the real Dashboard: saving a staff user's preferences sends CUSTOMER_UPDATED with ``user: null``
    (the app may not read staff); each became a failed 'malformed' event and an ERROR line."""
    installed_from(saleor)
    body = build_webhook_body(documents.subscription("customer_events"), fx.event("CustomerUpdated", user=None))
    assert _deliver(saleor, "customers", "CUSTOMER_UPDATED", body).status_code == 200
    event = InboxEvent.objects.get()
    assert (event.status, event.last_error) == ("processed", "")
    assert not Member.objects.exists()
