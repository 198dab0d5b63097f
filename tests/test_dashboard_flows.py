"""Merchants' flows through the dashboard pages, in Debian's Chromium, against the real staff API and database.

The app runs on a live server over the test database (`transactional_db`, so the server's thread sees the rows the
test commits); the store is a FakeSaleor whose JWKS the install holds, and the host page hands the pages a
dashboard token that store signed, through the real AppBridge handshake. Each flow asserts what the database holds
afterwards, and every GraphQL document the pages sent is checked against the staff schema.

`DASHBOARD_SCREENSHOTS=docs/dashboard` refreshes the committed screenshots (test_screenshots_with_realistic_data).
Under CI a missing Chromium fails these tests (tests/test_dashboard_browser.py's `browser` fixture).
"""

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test.testcases import LiveServerThread

from saleor_loyalty.ledger.models import Transfer, TransferKind
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.program.configuration import set_earn_rule
from saleor_loyalty.program.models import EarnRule, SettingsChange
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.settings_changes import update_program_settings
from saleor_loyalty.referrals.models import Referral, ReferralStatus
from tests.factories import later, line, order
from tests.storefront import Store
from tests.test_dashboard_browser import Dashboard, _NoStaticFiles, browser, host_server  # noqa: F401 (fixtures)
from tests.test_referrals import ALICE, BOB, held_by_address

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MERCHANT = "merchant@shop.example"

# Every field of the Program tab, by its label: each must be reachable by its label (and so has one).
PROGRAM_LABELS = [
    "Program active",
    "Points per currency unit (default)",
    "Return window (days)",
    "The part paid with points earns too",
    "Points expiry policy",
    "Points expire after (days)",
    "Inactivity before expiry (days)",
    "Reminder before expiry (days)",
    "Grace after expiry (days)",
    "When spent points are refunded",
    "Give redeemed points back on refund",
    "Guest orders",
    "Guest orders with a customer's email",
    "Redemption hold (minutes)",
    "Redemptions per shopper per minute",
    "Sign-up bonus (points)",
    "First-order bonus (points)",
    "Birthday bonus (points)",
    "Birthday metadata key",
    "Channel (slug)",
    "Currency",
    "Points per currency unit",
    "Minimum order amount",
    "Tax earns points",
    "Shipping earns points",
]

UNLABELLED_FIELDS = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
  .map((el) => el.outerHTML)"""


@pytest.fixture(scope="module", autouse=True)
def _django_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in this thread; the test's own ORM calls are still plain
    synchronous code, which Django would otherwise refuse (SynchronousOnlyOperation)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def app_url(transactional_db) -> Iterator[str]:
    """The app on a real port over the test database (committed rows: the server's thread sees them)."""
    thread = LiveServerThread("127.0.0.1", _NoStaticFiles)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture
def open_dashboard(browser, app_url, host_server, store) -> Iterator[Callable[..., Dashboard]]:  # noqa: F811
    """A stand-in dashboard for `store`, signed in as a staff user with the given permissions (real staff API)."""
    opened: list[Dashboard] = []

    def make(*permissions: str, email: str = MERCHANT) -> Dashboard:
        host = Dashboard(browser, app_url, host_server, store.saleor, list(permissions), stub_api=False, email=email)
        opened.append(host)
        return host

    yield make
    for host in opened:
        host.page.close()
        assert not host.errors, f"the page raised: {host.errors}"
        host.assert_documents_valid()


def notifications(dashboard: Dashboard) -> list[dict[str, Any]]:
    return [m["payload"] for m in dashboard.app_messages() if m.get("type") == "notification"]


def wait_for_notification(dashboard: Dashboard, title: str, count: int = 1) -> dict[str, Any]:
    """The `count`th notification titled `title` the page asked the dashboard to show."""
    dashboard.page.wait_for_function(
        "([title, count]) => window.fromApp.filter((m) => m.type === 'notification' && m.payload.title === title)"
        ".length >= count",
        arg=[title, count],
    )
    return [payload for payload in notifications(dashboard) if payload["title"] == title][count - 1]


# -- Program tab ------------------------------------------------------------------------------------------------


def test_a_merchant_changes_a_setting_and_an_earn_rule_and_sees_both_in_the_change_log(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")

    window = frame.get_by_label("Return window (days)")
    window.wait_for()
    assert window.input_value() == "14"
    window.fill("30")
    frame.get_by_label("Points expiry policy").select_option(label="A fixed time after earning")
    frame.get_by_label("Points expire after (days)").fill("365")
    frame.get_by_role("button", name="Save settings").click()

    assert wait_for_notification(dashboard, "Program settings saved")["status"] == "success"
    settings = program_settings(store.install)
    assert (settings.return_window_days, settings.expiry_policy, settings.points_expire_after_days) == (
        30,
        "after_earning",
        365,
    )
    assert settings.signup_bonus_points == 0  # unchanged fields are not sent, so not touched
    [change] = SettingsChange.objects.all()
    assert change.actor == MERCHANT and set(change.after) == {
        "return_window_days",
        "expiry_policy",
        "points_expire_after_days",
    }

    frame.get_by_label("Channel (slug)").fill("default-channel")
    frame.get_by_label("Currency", exact=True).fill("usd")
    frame.get_by_label("Points per currency unit", exact=True).fill("2.5")
    frame.get_by_label("Tax earns points").check()
    frame.get_by_role("button", name="Save earn rule").click()

    wait_for_notification(dashboard, "Earn rule saved")
    rule = EarnRule.objects.get(install=store.install, channel_slug="default-channel", currency="USD")
    assert (rule.points_per_unit, rule.include_tax, rule.include_shipping, rule.is_active) == (
        Decimal("2.5"),
        True,
        False,
        True,
    )
    row = frame.get_by_test_id("earn-rule-default-channel-USD")
    assert "2.5" in row.inner_text() and "Active" in row.inner_text()
    log = frame.get_by_test_id("change-log")
    log.get_by_text("Earn rule of default-channel (USD)").wait_for()
    text = log.inner_text()
    assert "Return window (days): 14 → 30" in text
    assert "Points expiry policy: Points never expire → A fixed time after earning" in text
    assert "Points per unit: — → 2.5" in text
    assert MERCHANT in text

    frame.get_by_role("button", name="Switch off the rule of default-channel (USD)").click()
    wait_for_notification(dashboard, "Earn rule switched off")
    rule.refresh_from_db()
    assert rule.is_active is False
    row.get_by_text("Off").wait_for()
    assert SettingsChange.objects.count() == 3


def test_a_field_error_is_shown_next_to_its_field_and_nothing_is_saved(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")

    window = frame.get_by_label("Return window (days)")
    window.wait_for()
    window.fill("400")
    frame.get_by_label("Sign-up bonus (points)").fill("25")
    frame.get_by_role("button", name="Save settings").click()

    assert wait_for_notification(dashboard, "Program settings not saved")["status"] == "error"
    error = frame.locator("#program-returnWindowDays-error")
    assert "365" in error.inner_text()  # the server's message, under the field it names
    assert window.get_attribute("aria-invalid") == "true"
    assert window.get_attribute("aria-describedby") == "program-returnWindowDays-error"
    assert frame.locator("[data-field-error]").count() == 1
    settings = program_settings(store.install)
    assert (settings.return_window_days, settings.signup_bonus_points) == (14, 0)  # all or nothing
    assert not SettingsChange.objects.exists()

    frame.get_by_label("Channel (slug)").fill("default-channel")
    frame.get_by_label("Currency", exact=True).fill("USD")
    frame.get_by_label("Points per currency unit", exact=True).fill("0.000001")
    frame.get_by_role("button", name="Save earn rule").click()

    rate_error = frame.locator("#earn-rule-pointsPerUnit-error")
    rate_error.wait_for()
    assert "decimals" in rate_error.inner_text()
    assert frame.get_by_label("Points per currency unit", exact=True).get_attribute("aria-invalid") == "true"
    assert not EarnRule.objects.exists()
    assert not SettingsChange.objects.exists()


def test_the_program_forms_are_labelled_and_work_with_the_keyboard(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_label("Return window (days)").wait_for()
    frame.get_by_text("No changes yet.").wait_for()

    for label in PROGRAM_LABELS:
        assert frame.get_by_label(label, exact=True).count() == 1, label
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []

    # Enter in a field submits its form
    bonus = frame.get_by_label("Birthday bonus (points)")
    bonus.focus()
    bonus.press("Control+a")
    bonus.press_sequentially("40")
    bonus.press("Enter")
    wait_for_notification(dashboard, "Program settings saved")
    assert program_settings(store.install).birthday_bonus_points == 40

    # Space toggles a checkbox; Tab from the form's last field reaches Save; Enter presses it
    refund = frame.get_by_label("Give redeemed points back on refund")
    was = refund.is_checked()
    refund.focus()
    refund.press("Space")
    frame.get_by_label("Birthday metadata key").focus()
    frame.locator("body").press("Tab")
    assert frame.locator("html").evaluate("() => document.activeElement.textContent") == "Save settings"
    frame.locator("body").press("Enter")
    wait_for_notification(dashboard, "Program settings saved", count=2)
    assert program_settings(store.install).return_points_on_refund is (not was)

    # a select changes with the arrow keys
    guests = frame.get_by_label("Guest orders", exact=True)
    guests.focus()
    assert guests.input_value() == "EARN"
    guests.press("ArrowDown")
    assert guests.input_value() == "IGNORE"


# -- Referrals tab ----------------------------------------------------------------------------------------------


def test_a_reviewer_approves_a_held_referral(store, open_dashboard):
    held_by_address(store)
    dashboard = open_dashboard("MANAGE_USERS", email="ops@shop.example")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Referrals").click()

    held = frame.get_by_test_id("held-referral")
    held.wait_for()
    text = held.inner_text()
    assert f"{ALICE[1]} referred {BOB[1]}" in text
    assert "The order ships to an address the referrer's orders used" in text  # the flag, readable
    assert "200 points to the referrer, 100 points to the friend" in text
    held.get_by_label(f"Note on {BOB[1]} (optional)").fill("flatmates, checked by phone")
    held.get_by_role("button", name="Approve").click()

    wait_for_notification(dashboard, "Referral approved")
    frame.get_by_test_id("queue-empty").wait_for()  # the queue was read again
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.QUALIFIED
    assert (referral.reviewed_by, referral.review_note) == ("ops@shop.example", "flatmates, checked by phone")
    decisions = frame.get_by_test_id("decisions").inner_text()
    assert "Approved (points pending)" in decisions and "flatmates, checked by phone" in decisions
    assert "ops@shop.example" in decisions


def test_a_reviewer_rejects_a_held_referral_with_the_keyboard(store, open_dashboard):
    held_by_address(store)
    dashboard = open_dashboard("MANAGE_USERS", email="ops@shop.example")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Program").focus()
    frame.locator("body").press("End")
    frame.locator("body").press("ArrowLeft")  # API keys → Referrals
    assert frame.get_by_role("tab", name="Referrals").get_attribute("aria-selected") == "true"

    note = frame.get_by_label(f"Note on {BOB[1]} (optional)")
    note.focus()
    note.press_sequentially("same household")
    frame.locator("body").press("Tab")  # Approve
    frame.locator("body").press("Tab")  # Reject
    assert frame.locator("html").evaluate("() => document.activeElement.textContent") == "Reject"
    frame.locator("body").press("Enter")

    wait_for_notification(dashboard, "Referral rejected")
    frame.get_by_test_id("queue-empty").wait_for()
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.REJECTED and referral.review_note == "same household"


# -- the customer widget ----------------------------------------------------------------------------------------


def test_staff_adjust_a_customers_points_from_the_widget(store, open_dashboard):
    member = store.give_points(100)
    reconcile_order(store.install, order("T3JkZXI6NQ==", user_id="VXNlcjox", lines=(line(unit="40.00"),)))
    dashboard = open_dashboard("MANAGE_USERS", email="agent@shop.example")
    frame = dashboard.open("/app/widget/customer", theme="light", customerId="VXNlcjox")

    available = frame.get_by_test_id("balance-available")
    available.get_by_text("100 points").wait_for()
    assert frame.get_by_test_id("balance-pending").inner_text() == "40 points"
    assert "40 points on" in frame.get_by_test_id("pending-unlocks").inner_text()
    assert frame.get_by_test_id("last-activity").inner_text().startswith("Earned +40 points")

    points = frame.get_by_label("Points (negative to deduct)")
    points.fill("25")
    frame.get_by_label("Reason").fill("Goodwill: late parcel")
    frame.get_by_label("Reason").press("Enter")  # keyboard submit

    frame.get_by_test_id("adjust-result").get_by_text("New balance: 125 points available.").wait_for()
    available.get_by_text("125 points").wait_for()  # the account was read again
    assert member_balances(member).available == 125
    transfer = Transfer.objects.get(kind=TransferKind.ADJUST)
    assert transfer.memo["actor"] == "agent@shop.example"
    keys = [r["body"]["variables"].get("idempotencyKey") for r in dashboard.graphql_requests]
    assert len([key for key in keys if key]) == 1

    # deducting more than is available is refused, next to the points field, and changes nothing
    points.fill("-1000")
    frame.get_by_label("Reason").fill("typo")
    frame.get_by_role("button", name="Adjust points").click()
    error = frame.locator("#adjust-points-error")
    error.wait_for()
    assert points.get_attribute("aria-invalid") == "true"
    assert member_balances(member).available == 125
    assert Transfer.objects.filter(kind=TransferKind.ADJUST).count() == 1
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []
    dashboard.page.wait_for_function("window.fromApp.some((m) => m.type === 'widgetResize' && m.payload.height > 0)")


def test_the_customer_widget_of_a_customer_without_points(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_USERS")
    frame = dashboard.open("/app/widget/customer", theme="dark", query_theme=None, customerId="VXNlcjo5")

    frame.get_by_test_id("no-activity").wait_for()
    assert "No loyalty activity yet" in frame.get_by_test_id("no-activity").inner_text()


# -- the order widget -------------------------------------------------------------------------------------------


def test_the_order_widget_shows_what_an_order_earned_and_lost(store, open_dashboard):
    paid = order("T3JkZXI6Nw==", user_id="VXNlcjox", lines=(line(quantity=2, unit="50.00"),))
    reconcile_order(store.install, paid)
    reconcile_order(store.install, later(paid, total_charged=Decimal("50.00"), total_refunded=Decimal("50.00")))
    dashboard = open_dashboard("MANAGE_ORDERS")
    frame = dashboard.open("/app/widget/order", theme="light", orderId="T3JkZXI6Nw==")

    frame.get_by_test_id("order-earned").get_by_text("100 points").wait_for()
    assert frame.get_by_test_id("order-clawed-back").inner_text() == "50 points"
    assert frame.get_by_test_id("order-points").inner_text() == "50 points"
    assert frame.get_by_test_id("order-redeemed").inner_text() == "0 points"
    assert frame.get_by_test_id("order-spend").inner_text() == "$50.00"
    assert frame.get_by_test_id("rule-rate").inner_text() == "1 per USD"
    transfers = frame.get_by_test_id("transfers").inner_text()
    assert "Earned" in transfers and "+100 points" in transfers and "Taken back" in transfers


def test_the_order_widget_of_an_order_the_app_never_saw(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_ORDERS")
    frame = dashboard.open("/app/widget/order", theme="light", orderId="T3JkZXI6OTk=")

    frame.get_by_test_id("order-unknown").wait_for()


def test_a_widget_without_the_permission_says_why(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_USERS")
    frame = dashboard.open("/app/widget/order", theme="light", orderId="T3JkZXI6Nw==")

    alert = frame.get_by_role("alert")
    alert.wait_for()
    assert "MANAGE_ORDERS" in alert.inner_text()


# -- screenshots ------------------------------------------------------------------------------------------------


def _realistic_program(store: Store) -> None:
    update_program_settings(
        store.install,
        {"return_window_days": 30, "expiry_policy": "after_earning", "points_expire_after_days": 365},
        actor="maria@shop.example",
    )
    update_program_settings(store.install, {"signup_bonus_points": 100, "birthday_bonus_points": 250}, actor=MERCHANT)
    set_earn_rule(store.install, channel_slug="default-channel", currency="USD", points_per_unit="1", actor=MERCHANT)
    set_earn_rule(
        store.install,
        channel_slug="channel-pln",
        currency="PLN",
        points_per_unit="0.25",
        include_tax=True,
        actor="maria@shop.example",
    )


def _shoot(dashboard: Dashboard, frame, folder: Path, name: str, *, widget: bool = False) -> Path:
    theme = "dark" if name.endswith("dark") else "light"
    frame.locator(f"html[data-theme={theme}]").wait_for(state="attached")
    dashboard.page.wait_for_timeout(300)  # the font swap
    if widget:  # as tall as the widget told the dashboard it is
        height = dashboard.page.evaluate(
            "Math.max(...window.fromApp.filter((m) => m.type === 'widgetResize').map((m) => m.payload.height))"
        )
        dashboard.page.set_viewport_size({"width": 420, "height": int(height) + 2})
    else:
        height = frame.locator("html").evaluate("() => document.documentElement.scrollHeight")
        dashboard.page.set_viewport_size({"width": 1200, "height": min(int(height), 2600)})
    dashboard.page.wait_for_timeout(200)
    path = folder / f"{name}.png"
    dashboard.page.screenshot(path=str(path))
    return path


def test_screenshots_with_realistic_data(store, open_dashboard, tmp_path):
    """The pages with data, light and dark (docs/dashboard/ keeps them: DASHBOARD_SCREENSHOTS=docs/dashboard)."""
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    _realistic_program(store)
    held_by_address(store)
    customer = store.give_points(1240, user_id="VXNlcjox")
    paid = order(
        "T3JkZXI6MjA0OA==",
        user_id="VXNlcjox",
        lines=(line(quantity=2, unit="64.50", net_unit="52.44"), line("line-2", unit="19.00")),
        shipping="7.50",
    )
    reconcile_order(store.install, paid)
    reconcile_order(store.install, later(paid, total_charged=Decimal("155.50"), total_refunded=Decimal("19.00")))
    assert member_balances(customer).available == 1240
    saved: list[Path] = []
    for theme in ("light", "dark"):
        dashboard = open_dashboard("MANAGE_DISCOUNTS", "MANAGE_USERS", "MANAGE_ORDERS")
        frame = dashboard.open("/app", theme=theme)
        frame.get_by_test_id("change-log").wait_for()
        frame.get_by_test_id("earn-rule-channel-pln-PLN").wait_for()
        saved.append(_shoot(dashboard, frame, folder, f"app-page-program-{theme}"))
        dashboard.page.set_viewport_size({"width": 1200, "height": 760})
        frame.get_by_role("tab", name="Referrals").click()
        frame.get_by_test_id("held-referral").wait_for()
        saved.append(_shoot(dashboard, frame, folder, f"app-page-referrals-{theme}"))

        dashboard = open_dashboard("MANAGE_USERS")
        frame = dashboard.open("/app/widget/customer", theme=theme, customerId="VXNlcjox")
        frame.get_by_test_id("balance-available").get_by_text("1,240 points").wait_for()
        saved.append(_shoot(dashboard, frame, folder, f"customer-widget-{theme}", widget=True))

        dashboard = open_dashboard("MANAGE_ORDERS")
        frame = dashboard.open("/app/widget/order", theme=theme, orderId="T3JkZXI6MjA0OA==")
        frame.get_by_test_id("transfers").wait_for()
        saved.append(_shoot(dashboard, frame, folder, f"order-widget-{theme}", widget=True))
    for path in saved:
        assert path.read_bytes().startswith(b"\x89PNG"), path
