"""The dashboard pages in Debian's Chromium, embedded the way the Saleor dashboard embeds them.

A host page on another origin (another local port, standing in for the dashboard) frames the app and performs the
real AppBridge handshake with a dashboard token signed like Saleor's, then posts a `theme` message. Here the
staff GraphQL API is answered by the test (it is asserted to receive the handshake's token), so these tests pin
the page's shell: handshake, theme, tabs, error states. tests/test_dashboard_flows.py drives the same pages against
the real staff API and database (and takes the screenshots).

Chromium comes from Debian (`apt-get install chromium`; .ci/run installs it), never from `playwright install`.
Under CI a missing Chromium fails these tests; elsewhere they are skipped.
"""

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test.testcases import LiveServerThread
from graphql import build_schema, parse, validate

from tests.saleor_harness import FakeSaleor

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SETTINGS = {"returnWindowDays": 14, "expiryPolicy": "AFTER_EARNING", "isActive": True, "defaultPointsPerUnit": "1"}
# What the stub answers: every field a page may ask for (a query ignores the others).
EMAIL_SETTINGS = {
    "fromEmail": "",
    "fromName": "",
    "kinds": [{"kind": "EARNED", "label": "Points earned", "enabled": True}],
}
EMAIL_PREVIEW = {
    "sender": "loyalty@shop.example",
    "subject": "You earned points",
    "text": "Hi Ada",
    "html": "<html><body><p>Hi Ada</p></body></html>",
}
STUB_DATA = {
    "programSettings": SETTINGS,
    "earnRules": [],
    "settingsChanges": [],
    "emailSettings": EMAIL_SETTINGS,
    "emailPreview": EMAIL_PREVIEW,
    "catalogRewards": [],
}

STAFF_SCHEMA = build_schema((Path(__file__).resolve().parents[1] / "graphql" / "staff-schema.graphql").read_text())

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run the browser tests: .ci/run installs Debian's chromium)")
    pytest.skip(reason)


class _NoStaticFiles(WSGIHandler):
    """The live server's static-files handler stand-in (this app serves its own assets)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.application(environ, start_response)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app on a real port. The pages touch no database, so no database fixture is needed."""
    thread = LiveServerThread("127.0.0.1", _NoStaticFiles)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture(scope="module")
def host_server() -> Iterator["HostServer"]:
    server = HostServer()
    yield server
    server.close()


class HostServer:
    """Serves the stand-in dashboard's pages on a local port (Chromium refuses to let a page that is not itself
    on the local network frame a loopback app, so a routed, fake-origin page would not do)."""

    def __init__(self) -> None:
        pages: dict[str, str] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (it is in the dev extras)")
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _unavailable(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def saleor() -> Iterator[FakeSaleor]:
    with FakeSaleor() as store:
        yield store


class Dashboard:
    """A browser page that plays the Saleor dashboard around one app iframe."""

    def __init__(
        self,
        browser,
        app_url: str,
        host: HostServer,
        saleor: FakeSaleor,
        permissions: list[str],
        *,
        stub_api: bool = True,
        email: str = "staff@shop.example",
    ) -> None:
        self.host = host
        self.page = browser.new_page(viewport={"width": 1200, "height": 760})
        self.app_url = app_url
        self.saleor = saleor
        self.token = saleor.app_token_for_dashboard(permissions, email=email)
        self.graphql_requests: list[dict[str, Any]] = []
        self.graphql_answer: tuple[int, dict[str, Any]] = (200, {"data": STUB_DATA})
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", self._record)
        if stub_api:
            self.page.route(f"{app_url}/dashboard/graphql/", self._answer_graphql)

    def _record(self, request) -> None:
        if request.url == f"{self.app_url}/dashboard/graphql/" and request.method == "POST":
            self.graphql_requests.append(
                {"authorization": request.headers.get("authorization"), "body": json.loads(request.post_data or "{}")}
            )

    def _answer_graphql(self, route) -> None:
        status, body = self.graphql_answer
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    def assert_documents_valid(self) -> None:
        """Every document the pages sent is one the staff API's schema (graphql/staff-schema.graphql) accepts."""
        for request in self.graphql_requests:
            assert request["authorization"] == f"Bearer {self.token}"
            assert not validate(STAFF_SCHEMA, parse(request["body"]["query"])), request["body"]["query"]

    def open(self, path: str, theme: str, *, query_theme: str | None = "light", **context: str):
        params = {"domain": self.saleor.domain, "saleorApiUrl": self.saleor.api_url, "id": self.saleor.app_id}
        params |= context
        if query_theme:
            params["theme"] = query_theme
        src = f"{self.app_url}{path}?{urlencode(params)}"
        handshake = {
            "type": "handshake",
            "payload": {"token": self.token, "version": 1, "saleorVersion": "3.23.0", "dashboardVersion": "3.23.0"},
        }
        host = _HOST_PAGE.replace("__SRC__", json.dumps(src)).replace(
            "__MESSAGES__", json.dumps([handshake, {"type": "theme", "payload": {"theme": theme}}])
        )
        path = f"/dashboard/{len(self.host.pages)}"
        self.host.pages[path] = host
        self.page.goto(self.host.url + path)
        return self.page.frame_locator("#app")

    def open_beside(self, frame_id: str, path: str, **context: str):
        """Another of the app's frames on the same host page, with the same handshake and theme as the first."""
        params = {"domain": self.saleor.domain, "saleorApiUrl": self.saleor.api_url, "id": self.saleor.app_id}
        url = f"{self.app_url}{path}?{urlencode(params | context)}"
        self.page.evaluate("([id, url]) => window.openBeside(id, url)", [frame_id, url])
        return self.page.frame_locator(f"#{frame_id}")

    def app_messages(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.fromApp"))

    def post(self, message: dict[str, Any]) -> None:
        self.page.evaluate("(message) => window.toApp(message)", message)


# Like the dashboard: post the handshake as soon as the iframe loads, without waiting for the app; answer each of
# the app's actions; accept messages only from the app's origin.
_HOST_PAGE = """<!doctype html>
<html><head><title>Dashboard</title><style>body{margin:0}iframe{border:0;width:100%;height:100vh}</style></head>
<body><iframe id="app" title="Loyalty"></iframe><script>
const frame = document.getElementById("app");
const src = __SRC__;
const appOrigin = new URL(src).origin;
window.fromApp = [];
window.toApp = (message) => frame.contentWindow.postMessage(message, appOrigin);
window.addEventListener("message", (event) => {
  if (event.origin !== appOrigin) return;
  window.fromApp.push(event.data);
  const actionId = event.data && event.data.payload && event.data.payload.actionId;
  if (actionId) event.source.postMessage({type: "response", payload: {actionId, ok: true}}, appOrigin);
});
// Another of the app's frames on the same page (e.g. the customer popup over the customer widget).
window.openBeside = (id, url) => {
  const other = document.createElement("iframe");
  other.id = id;
  other.addEventListener("load", () => __MESSAGES__.forEach((m) => other.contentWindow.postMessage(m, appOrigin)));
  other.src = url;
  document.body.append(other);
};
frame.addEventListener("load", () => __MESSAGES__.forEach(window.toApp));
frame.src = src;
</script></body></html>"""


@pytest.fixture
def dashboard(browser, app_url, host_server, saleor) -> Iterator[Dashboard]:
    host = Dashboard(browser, app_url, host_server, saleor, ["MANAGE_USERS", "MANAGE_ORDERS"])
    yield host
    host.page.close()
    assert not host.errors, f"the page raised: {host.errors}"


def _html(frame, expression: str) -> Any:
    return frame.locator("html").evaluate(expression)


def test_the_app_page_renders_its_tabs_after_the_handshake(dashboard):
    frame = dashboard.open("/app", theme="light")

    tabs = frame.get_by_role("tab")
    tabs.first.wait_for()
    assert tabs.all_inner_texts() == [
        "Program",
        "Rewards",
        "Campaigns",
        "Tiers",
        "Rebates",
        "Payments",
        "Referrals",
        "API keys",
    ]
    assert frame.get_by_role("tab", name="Program").get_attribute("aria-selected") == "true"
    assert frame.get_by_role("tablist", name="Loyalty program").is_visible()
    assert frame.get_by_role("heading", name="Loyalty", level=1).is_visible()
    assert [m["type"] for m in dashboard.app_messages()][:1] == ["notifyReady"]


def test_the_program_tab_shows_the_settings_read_with_the_dashboard_token(dashboard):
    frame = dashboard.open("/app/", theme="light")

    field = frame.get_by_label("Return window (days)")
    field.wait_for()
    assert field.input_value() == "14"
    assert frame.get_by_label("Points expiry policy").input_value() == "AFTER_EARNING"
    assert frame.get_by_label("Program active").is_checked()
    frame.get_by_text("No changes yet.").wait_for()
    frame.get_by_test_id("email-preview").wait_for()
    # settings, earn rules, the change log, email settings and a preview: each with the handshake's token and
    # valid for the staff schema
    assert len(dashboard.graphql_requests) == 5
    dashboard.assert_documents_valid()


def test_the_program_tab_shows_the_apis_error(dashboard):
    dashboard.graphql_answer = (403, {"errors": [{"message": "You need the MANAGE_USERS permission."}]})
    frame = dashboard.open("/app", theme="light")

    alert = frame.get_by_role("alert").filter(has_text="Program settings could not be loaded")
    alert.wait_for()
    assert "Program settings could not be loaded" in alert.inner_text()
    assert "You need the MANAGE_USERS permission." in alert.inner_text()


def test_an_answer_without_a_field_the_page_needs_is_an_error_not_a_crash(dashboard):
    dashboard.graphql_answer = (200, {"data": {k: v for k, v in STUB_DATA.items() if k != "emailSettings"}})
    frame = dashboard.open("/app", theme="light")

    alert = frame.get_by_role("alert").filter(has_text="Email settings could not be loaded")
    alert.wait_for()
    assert "no emailSettings" in alert.inner_text()
    assert frame.get_by_label("Return window (days)").is_visible()  # the rest of the tab still works


def test_the_page_follows_the_dashboards_theme_message_not_the_query(dashboard):
    frame = dashboard.open("/app", theme="dark", query_theme="light")

    frame.locator("html[data-theme=dark]").wait_for(state="attached")
    dark = _html(frame, "() => getComputedStyle(document.body).backgroundColor")
    dashboard.post({"type": "theme", "payload": {"theme": "light"}})
    frame.locator("html[data-theme=light]").wait_for(state="attached")
    light = _html(frame, "() => getComputedStyle(document.body).backgroundColor")

    assert _luminance(dark) < 0.2 < 0.8 < _luminance(light), (dark, light)


def test_the_tabs_are_keyboard_navigable(dashboard):
    frame = dashboard.open("/app", theme="light")
    program = frame.get_by_role("tab", name="Program")
    program.wait_for()
    program.focus()
    keyboard = dashboard.page.keyboard  # keys go to the focused element, as a person's would

    def assert_focused(name: str) -> None:
        # focus moves in a React effect after the key: wait for it rather than read it at once
        deadline = time.monotonic() + 5
        while _html(frame, "() => document.activeElement.textContent") != name and time.monotonic() < deadline:
            dashboard.page.wait_for_timeout(25)
        assert _html(frame, "() => document.activeElement.textContent") == name

    keyboard.press("ArrowRight")
    assert_focused("Rewards")
    assert frame.get_by_role("tab", name="Rewards").get_attribute("aria-selected") == "true"
    frame.get_by_role("heading", name="Rewards catalog").wait_for()
    keyboard.press("End")
    assert_focused("API keys")
    keyboard.press("ArrowRight")  # wraps around
    assert_focused("Program")
    keyboard.press("ArrowLeft")
    assert_focused("API keys")
    keyboard.press("Home")
    assert_focused("Program")
    # one tab stop for the tab list: Tab moves on to the panel
    keyboard.press("Tab")
    assert _html(frame, "() => document.activeElement.getAttribute('role')") == "tabpanel"
    assert [tab.get_attribute("tabindex") for tab in frame.get_by_role("tab").all()] == ["0"] + ["-1"] * 7


def test_the_rebates_tab_reads_its_programs_periods_and_changes_with_the_dashboard_token(dashboard):
    dashboard.graphql_answer = (200, {"data": {**STUB_DATA, "rebatePrograms": [], "tiers": [], "rebatePeriods": []}})
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Rebates").click()

    frame.get_by_test_id("rebate-programs-empty").wait_for()
    frame.get_by_test_id("rebate-periods-empty").wait_for()
    frame.get_by_role("heading", name="Changes to rebates").wait_for()
    assert frame.get_by_role("heading", name="Start rebates in a channel").is_visible()
    assert frame.get_by_role("button", name="Add a tier rate").is_disabled()  # no tiers to pick from
    rebates = [r for r in dashboard.graphql_requests if "rebate" in r["body"]["query"].lower()]
    assert len(rebates) == 1  # programs, tiers and periods in one request; the change log in its own
    dashboard.assert_documents_valid()


def test_the_customer_widget_says_when_there_is_no_activity_and_follows_the_theme_without_a_query(dashboard):
    dashboard.graphql_answer = (200, {"data": {"customerLoyalty": None, "customerRebates": None}})
    frame = dashboard.open("/app/widget/customer", theme="dark", query_theme=None, customerId="VXNlcjo0Mg==")

    frame.get_by_text("No loyalty activity yet", exact=False).wait_for()
    # the account and the rebates: two requests for the customer, sent together; no rebates, no section
    frame.get_by_label("Points (negative to deduct)").wait_for()
    assert frame.get_by_test_id("customer-rebates").count() == 0
    assert not frame.get_by_role("alert").count()
    frame.locator("html[data-theme=dark]").wait_for(state="attached")
    assert frame.get_by_role("main", name="Loyalty").count() == 1  # named by its heading, for screen readers only
    assert frame.get_by_label("Points (negative to deduct)").is_visible()
    assert [r["body"]["variables"] for r in dashboard.graphql_requests] == [{"customerId": "VXNlcjo0Mg=="}] * 2
    dashboard.assert_documents_valid()
    # it tells the dashboard its height, so the card fits its content
    dashboard.page.wait_for_function("window.fromApp.some((m) => m.type === 'widgetResize' && m.payload.height > 0)")


def test_the_order_widget_says_when_the_app_never_saw_the_order(dashboard):
    dashboard.graphql_answer = (200, {"data": {"orderLoyalty": None}})
    frame = dashboard.open("/app/widget/order", theme="light", orderId="T3JkZXI6MQ==")

    frame.get_by_text("The app has not seen this order", exact=False).wait_for()
    assert dashboard.graphql_requests[0]["body"]["variables"] == {"orderId": "T3JkZXI6MQ=="}
    dashboard.assert_documents_valid()


def test_a_widget_opened_without_its_context_says_where_to_open_it(dashboard):
    frame = dashboard.open("/app/widget/order", theme="light")

    frame.get_by_text("Open this card from an order's page", exact=False).wait_for()
    assert dashboard.graphql_requests == []


def _luminance(css_color: str) -> float:
    red, green, blue = (int(part) for part in css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_the_payments_tab_reads_stripe_plans_and_changes_with_the_dashboard_token(dashboard):
    data: dict[str, Any] = {"stripeConnection": None, "paidPlans": [], "tiers": []}
    data["membershipSettings"] = {"returnOrigins": []}
    dashboard.graphql_answer = (200, {"data": {**STUB_DATA, **data}})
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Payments").click()

    frame.get_by_test_id("stripe-not-connected").wait_for()
    frame.get_by_test_id("paid-plans-empty").wait_for()
    frame.get_by_role("heading", name="Changes to payments").wait_for()
    assert frame.get_by_role("heading", name="Connect Stripe").is_visible()
    assert frame.get_by_label("Secret key").get_attribute("type") == "password"  # a secret is never shown
    assert frame.get_by_label("Webhook signing secret").get_attribute("type") == "password"
    assert frame.get_by_role("heading", name="Sell a tier").is_visible()
    plans = [r for r in dashboard.graphql_requests if "paidPlans" in r["body"]["query"]]
    assert len(plans) == 1  # plans, tiers and the return origins in one request
    dashboard.assert_documents_valid()
