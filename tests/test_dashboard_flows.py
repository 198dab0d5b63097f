"""Merchants' flows through the dashboard pages, in Debian's Chromium, against the real staff API and database.

The app runs on a live server over the test database (`transactional_db`, so the server's thread sees the rows the
test commits); the store is a FakeSaleor whose JWKS the install holds, and the host page hands the pages a
dashboard token that store signed, through the real AppBridge handshake. Each flow asserts what the database holds
afterwards, and every GraphQL document the pages sent is checked against the staff schema.

`DASHBOARD_SCREENSHOTS=docs/dashboard` refreshes the committed screenshots (test_screenshots_with_realistic_data).
Under CI a missing Chromium fails these tests (tests/test_dashboard_browser.py's `browser` fixture).
"""

import base64
import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test.testcases import LiveServerThread
from django.utils import timezone

from saleor_loyalty.ledger.models import Transfer, TransferKind
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.memberships.configuration import set_paid_plan, set_return_origins
from saleor_loyalty.memberships.models import Membership, MembershipSettings, PaidPlan
from saleor_loyalty.notifications.configuration import update_notification_settings
from saleor_loyalty.notifications.models import NotificationSettings
from saleor_loyalty.payments.models import StripeAccount
from saleor_loyalty.program.configuration import create_campaign, deactivate_campaign, set_earn_rule
from saleor_loyalty.program.earning_actions import create_api_key, revoke_api_key, set_earning_action
from saleor_loyalty.program.models import Campaign, EarningAction, EarnRule, OrderAward, ServerApiKey, SettingsChange
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.settings_changes import update_program_settings
from saleor_loyalty.rebates.configuration import create_rebate_program, update_rebate_program
from saleor_loyalty.rebates.models import RebateAuditSnapshot, RebatePeriod, RebateProgram
from saleor_loyalty.rebates.periods import MONTHLY, period_of
from saleor_loyalty.redemption.configuration import create_reward
from saleor_loyalty.redemption.models import Reward
from saleor_loyalty.referrals.configuration import update_referral_program
from saleor_loyalty.referrals.models import Referral, ReferralProgram, ReferralStatus
from saleor_loyalty.tiers.configuration import set_tier
from saleor_loyalty.tiers.models import MemberTier, Tier, TierChange, TierSettings
from tests.factories import later, line, order
from tests.storefront import Store
from tests.stripe_helpers import connected
from tests.test_dashboard_browser import Dashboard, _NoStaticFiles, browser, host_server  # noqa: F401 (fixtures)
from tests.test_referrals import ALICE, BOB, apply, code_of, held_by_address, paid_order
from tests.test_staff_rebates import november
from tests.test_tiers import pay, setup_tiers

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
    assert "Points expiry policy: Points never expire → Points expire a set number of days after" in text
    assert "Points per currency unit: — → 2.5" in text
    assert MERCHANT in text

    frame.get_by_role("button", name="Switch off the rule of default-channel (USD)").click()
    wait_for_notification(dashboard, "Earn rule switched off")
    rule.refresh_from_db()
    assert rule.is_active is False
    row.get_by_text("Off").wait_for()
    assert SettingsChange.objects.count() == 3


def test_the_change_log_reads_as_names_labels_and_dates_in_the_dashboards_locale(store, open_dashboard):
    starts = datetime(2030, 3, 1, 12, tzinfo=UTC)
    create_campaign(
        store.install, name="Double week", starts_at=starts, ends_at=starts + timedelta(days=14), multiplier="2"
    )
    campaign = Campaign.objects.get()
    deactivate_campaign(campaign, actor=MERCHANT)
    update_notification_settings(store.install, {"disabled_kinds": ["expiry_reminder"]}, actor=MERCHANT)
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")

    log = frame.get_by_test_id("change-log")
    log.get_by_text("Campaign Double week").first.wait_for()
    text = log.inner_text()
    assert "Campaign 1" not in text and "Switched on: yes → no" in text  # the stop, named
    assert "Multiplier: — → ×2" in text and "Channel: — → every channel" in text
    assert "Ends: — → Mar 15, 2030" in text and "T12:00:00" not in text  # no ISO dates
    assert "Emails switched off: — → Points about to expire" in text  # a kind by its label, not its code
    assert "Products" not in text  # left empty on both sides: not listed

    dashboard.post({"type": "localeChanged", "payload": {"locale": "de"}})
    log.get_by_text("15.03.2030", exact=False).wait_for()  # the same date, now in the dashboard's new locale


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
    dashboard.page.keyboard.press("Tab")  # to the focused element, as a person's keys go
    assert frame.locator("html").evaluate("() => document.activeElement.textContent") == "Save settings"
    dashboard.page.keyboard.press("Enter")
    wait_for_notification(dashboard, "Program settings saved", count=2)
    assert program_settings(store.install).return_points_on_refund is (not was)

    # a select changes with the arrow keys
    guests = frame.get_by_label("Guest orders", exact=True)
    guests.focus()
    assert guests.input_value() == "EARN"
    guests.press("ArrowDown")
    assert guests.input_value() == "IGNORE"


def test_a_merchant_switches_an_email_off_sets_the_sender_and_previews_an_email(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")

    preview = frame.frame_locator("iframe[title^='Preview of the']")
    frame.get_by_test_id("email-preview-subject").wait_for()
    assert frame.locator("iframe[title^='Preview of the']").get_attribute("sandbox") == ""  # no scripts, no origin
    assert "Ada" in preview.locator("body").inner_text()  # the sample customer
    first_subject = frame.get_by_test_id("email-preview-subject").inner_text()
    assert frame.get_by_test_id("email-preview-sender").inner_text() == django_settings.DEFAULT_FROM_EMAIL  # none yet
    frame.get_by_label("Email to preview").select_option("TIER_UP")
    frame.get_by_test_id("email-preview-subject").filter(has_not_text=first_subject).wait_for()

    sender = frame.get_by_label("Sender address")
    sender.fill("not an email")
    frame.get_by_role("button", name="Save email settings").click()
    assert wait_for_notification(dashboard, "Email settings not saved")["status"] == "error"
    assert sender.get_attribute("aria-invalid") == "true"
    assert not SettingsChange.objects.filter(subject="emails").exists()

    earned = frame.locator("#email-kind-EARNED")
    assert earned.is_checked()
    earned.uncheck()
    sender.fill("club@shop.example")
    frame.get_by_label("Sender name").fill("Shop Club")
    frame.get_by_role("button", name="Save email settings").click()
    wait_for_notification(dashboard, "Email settings saved")
    saved = NotificationSettings.objects.get(install=store.install)
    assert (saved.disabled_kinds, saved.from_email, saved.from_name) == (["earned"], "club@shop.example", "Shop Club")
    frame.get_by_test_id("change-log").get_by_text("Emails", exact=True).wait_for()  # logged, and the log read again
    # the preview is read again: its From line is the sender just set (the real Dashboard run found no From line)
    frame.get_by_test_id("email-preview-sender").get_by_text("Shop Club <club@shop.example>", exact=True).wait_for()


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
    dashboard.page.keyboard.press("End")
    dashboard.page.keyboard.press("ArrowLeft")  # API keys → Referrals
    referrals = frame.get_by_role("tab", name="Referrals")
    referrals.and_(frame.locator("[aria-selected=true]")).wait_for()

    note = frame.get_by_label(f"Note on {BOB[1]} (optional)")
    note.focus()
    note.press_sequentially("same household")
    dashboard.page.keyboard.press("Tab")  # Approve
    dashboard.page.keyboard.press("Tab")  # Reject
    assert frame.locator("html").evaluate("() => document.activeElement.textContent") == "Reject"
    dashboard.page.keyboard.press("Enter")

    wait_for_notification(dashboard, "Referral rejected")
    frame.get_by_test_id("queue-empty").wait_for()
    referral = Referral.objects.get()
    assert referral.status == ReferralStatus.REJECTED and referral.review_note == "same household"


def test_a_merchant_changes_the_referral_terms_and_sees_the_funnel(store, open_dashboard):
    held_by_address(store)
    dashboard = open_dashboard("MANAGE_DISCOUNTS", "MANAGE_USERS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Referrals").click()

    funnel = frame.get_by_test_id("funnel")
    funnel.wait_for()
    assert [frame.get_by_test_id(f"funnel-{n}").inner_text().split(" ")[0] for n in range(4)] == ["1", "1", "1", "0"]
    assert ALICE[1] in frame.get_by_test_id("top-referrers").inner_text()

    # a refused value is named under its field and changes nothing
    link = frame.get_by_label("Storefront page for links")
    link.fill("javascript:alert(1)")
    frame.get_by_role("button", name="Save referral terms").click()
    assert wait_for_notification(dashboard, "Referral terms not saved")["status"] == "error"
    assert frame.locator("#referral-program-storefrontUrl-error").is_visible()
    assert link.get_attribute("aria-invalid") == "true"
    assert not SettingsChange.objects.exists()

    link.fill("https://shop.example/join")
    frame.get_by_label("Referrer's reward (points)").fill("300")
    frame.get_by_label("Rewarded referrals per period (cap)").fill("")  # no cap
    frame.get_by_role("button", name="Save referral terms").click()
    wait_for_notification(dashboard, "Referral terms saved")
    program = ReferralProgram.objects.get(install=store.install)
    assert (program.storefront_url, program.referrer_reward_points, program.max_rewarded_per_period) == (
        "https://shop.example/join",
        300,
        None,
    )
    assert program.referee_reward_points == 100  # not sent, not touched
    [change] = SettingsChange.objects.filter(subject="referral_program")
    assert change.actor == MERCHANT


# -- Rewards and Campaigns tabs ---------------------------------------------------------------------------------


def test_a_merchant_adds_a_reward_and_switches_it_off(store, open_dashboard):
    set_earn_rule(store.install, channel_slug="default-channel", currency="USD", points_per_unit="1", actor=MERCHANT)
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Rewards").click()

    frame.get_by_label("Reward name").fill("10% off")
    kind = frame.get_by_label("Gives")
    kind.select_option(label="A free product")  # the fields follow the kind
    frame.get_by_label("Product variant (Saleor id)").wait_for()
    assert frame.get_by_label("Percent off").count() == 0
    kind.select_option(label="A percentage off")
    assert frame.get_by_label("Product variant (Saleor id)").count() == 0
    frame.get_by_label("Cost (points)").fill("500")
    frame.get_by_label("Channel (slug)").fill("default-channel")
    frame.get_by_label("Percent off").fill("150")
    frame.get_by_role("button", name="Create reward").click()
    assert wait_for_notification(dashboard, "Reward not created")["status"] == "error"
    assert frame.get_by_label("Percent off").get_attribute("aria-invalid") == "true"
    assert not Reward.objects.exists()

    frame.get_by_label("Percent off").fill("10")
    frame.get_by_label("At most (amount)").fill("25")
    frame.get_by_label("Times per shopper").fill("1")
    frame.get_by_role("button", name="Create reward").click()
    wait_for_notification(dashboard, "Reward created")
    reward = Reward.objects.get(install=store.install)
    assert (reward.kind, reward.points_cost, reward.channel_slug, reward.value, reward.max_amount) == (
        "percentage",
        500,
        "default-channel",
        Decimal(10),
        Decimal(25),
    )
    assert (reward.per_shopper_limit, reward.variant_id, reward.is_active) == (1, "", True)
    row = frame.get_by_test_id("reward-10% off")
    assert "10% off (at most $25.00)" in row.inner_text() and "1 per shopper" in row.inner_text()  # USD channel

    frame.get_by_role("button", name="Edit the reward 10% off").click()
    assert frame.get_by_label("Gives").count() == 0  # a reward's kind does not change
    frame.get_by_label("Cost (points)").fill("600")
    frame.get_by_role("button", name="Save reward").click()
    wait_for_notification(dashboard, "Reward saved")
    row.get_by_text("600 points").wait_for()
    reward.refresh_from_db()
    assert (reward.points_cost, reward.value) == (600, Decimal(10))

    frame.get_by_role("button", name="Switch off the reward 10% off").click()
    wait_for_notification(dashboard, "Reward switched off")
    row.get_by_text("Off", exact=True).wait_for()
    reward.refresh_from_db()
    assert reward.is_active is False


def test_a_merchant_runs_a_campaign_and_stops_it(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Campaigns").click()

    soon = datetime.now().replace(second=0, microsecond=0) + timedelta(days=9)
    frame.get_by_label("Campaign name").fill("Double shoes")
    frame.get_by_label("Starts").fill(soon.strftime("%Y-%m-%dT%H:%M"))
    frame.get_by_label("Ends").fill((soon - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))  # before it starts
    categories = frame.get_by_role("combobox", name="Categories")
    categories.fill("sho")
    frame.get_by_role("option", name="Shoes").click()
    categories.fill("sneak")
    frame.get_by_role("option", name="Sneakers · Shoes").click()
    frame.get_by_label("Tiers").fill("Gold")
    frame.get_by_role("button", name="Create campaign").click()
    assert wait_for_notification(dashboard, "Campaign not created")["status"] == "error"
    assert frame.locator("#campaign-endsAt-error").is_visible()
    assert not Campaign.objects.exists()

    frame.get_by_label("Ends").fill((soon + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    frame.get_by_role("button", name="Create campaign").click()
    wait_for_notification(dashboard, "Campaign created")
    campaign = Campaign.objects.get(install=store.install)
    assert (campaign.multiplier, campaign.channel_slug, campaign.tiers) == (Decimal(2), "", ["Gold"])
    assert campaign.category_ids == ["Q2F0ZWdvcnk6Mjg=", "Q2F0ZWdvcnk6Mjk="]
    assert campaign.ends_at - campaign.starts_at == timedelta(days=7)
    row = frame.get_by_test_id("campaign-Double shoes")
    row.get_by_text("every channel · categories: Shoes, Sneakers · tiers Gold").wait_for()
    assert "Scheduled" in row.inner_text()

    frame.get_by_role("button", name="Stop the campaign Double shoes").click()
    wait_for_notification(dashboard, "Campaign stopped")
    row.get_by_text("Stopped").wait_for()
    campaign.refresh_from_db()
    assert campaign.is_active is False
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


def test_a_merchant_edits_a_running_campaign_and_picks_a_product_with_the_keyboard(store, open_dashboard):
    started = timezone.now() - timedelta(days=1)
    ends = started + timedelta(days=7)
    campaign = create_campaign(store.install, name="Double week", starts_at=started, ends_at=ends, multiplier="2",
                               category_ids=["Q2F0ZWdvcnk6Mjg="], actor=MERCHANT)  # fmt: skip
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="dark")
    frame.get_by_role("tab", name="Campaigns").click()
    row = frame.get_by_test_id("campaign-Double week")
    row.get_by_text("every channel · category: Shoes").wait_for()  # names from the store, not ids
    assert "Running" in row.inner_text()

    frame.get_by_role("button", name="Edit the campaign Double week").click()
    frame.get_by_role("heading", name="Edit the campaign Double week").wait_for()
    assert frame.get_by_label("Campaign name").input_value() == "Double week"
    assert frame.get_by_label("Starts").count() == 0  # a running campaign keeps its start
    frame.get_by_test_id("campaign-started").wait_for()
    frame.get_by_label("Points multiplier").fill("3")

    picker = frame.get_by_role("combobox", name="Products")
    assert picker.get_attribute("aria-controls") == "campaign-products-listbox"
    picker.focus()
    picker.press_sequentially("sneak")
    frame.get_by_role("option", name="Dash Force sneakers · Sneakers").wait_for()
    assert picker.get_attribute("aria-expanded") == "true"
    assert picker.get_attribute("aria-activedescendant") == "campaign-products-option-0"
    picker.press("Enter")  # picks the highlighted product, does not submit the form
    frame.get_by_role("button", name="Remove the product Dash Force sneakers").wait_for()
    picker.press("Escape")
    assert picker.get_attribute("aria-expanded") == "false"
    assert not SettingsChange.objects.filter(subject=f"campaign:{campaign.pk}", actor=MERCHANT).exclude(before={})

    frame.get_by_role("button", name="Save campaign").click()
    wait_for_notification(dashboard, "Campaign saved")
    campaign.refresh_from_db()
    assert (campaign.multiplier, campaign.product_ids, campaign.starts_at) == (Decimal(3), ["UHJvZHVjdDoy"], started)
    change = SettingsChange.objects.filter(subject=f"campaign:{campaign.pk}").exclude(before={}).get()
    assert change.actor == MERCHANT and change.after == {"multiplier": "3.0000", "product_ids": ["UHJvZHVjdDoy"]}
    row.get_by_text("every channel · product: Dash Force sneakers · category: Shoes").wait_for()
    assert "×3" in row.inner_text()
    frame.get_by_role("heading", name="Start a campaign").wait_for()  # the form is back to a new campaign
    assert frame.get_by_role("combobox", name="Products").input_value() == ""  # no search left from the last form

    # An end in the past is refused next to its field, and nothing changes.
    frame.get_by_role("button", name="Edit the campaign Double week").click()
    frame.get_by_label("Ends").fill((datetime.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    frame.get_by_role("button", name="Save campaign").click()
    assert wait_for_notification(dashboard, "Campaign not saved")["status"] == "error"
    assert "switch it off" in frame.locator("#campaign-endsAt-error").inner_text()
    frame.get_by_role("button", name="Cancel editing").click()
    frame.get_by_role("heading", name="Start a campaign").wait_for()
    campaign.refresh_from_db()
    assert campaign.ends_at == started + timedelta(days=7)
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


# -- Tiers tab --------------------------------------------------------------------------------------------------


def test_a_merchant_creates_a_tier_and_sees_who_the_next_review_would_move(store, open_dashboard):
    pay(store.install, "o-1", "150.00")  # spent before any tier existed: in no tier yet
    pay(store.install, "o-2", "20.00", user_id="VXNlcjoy")  # below the tier about to be created
    dashboard = open_dashboard("MANAGE_DISCOUNTS", "MANAGE_USERS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Tiers").click()
    frame.get_by_test_id("tiers-empty").wait_for()
    assert frame.get_by_test_id("review-counts").inner_text().startswith("0 upgrades, 0 downgrades")

    # how tiers qualify (saving them is also what switches the review on: it runs over saved settings only)
    frame.get_by_label("Grace before a downgrade (days)").fill("7")
    frame.get_by_label("Counted over").select_option(label="The calendar year")
    frame.get_by_role("button", name="Save tier settings").click()
    wait_for_notification(dashboard, "Tier settings saved")
    settings = TierSettings.objects.get(install=store.install)
    assert (settings.grace_days, settings.window_kind) == (7, "calendar_year")

    # the server's errors land next to their fields: a multiplier out of range, a threshold that is no currency
    frame.get_by_label("Tier name").fill("Bronze")
    assert frame.get_by_label("Rank").input_value() == "1"
    frame.get_by_label("Currency 1 (or PTS)").fill("US1")
    frame.get_by_label("Reached at 1").fill("100")
    frame.get_by_label("Earn multiplier").fill("1000")
    frame.get_by_role("button", name="Save tier", exact=True).click()
    assert wait_for_notification(dashboard, "Tier not saved")["status"] == "error"
    assert frame.locator("#tier-multiplier-error").is_visible()
    assert frame.get_by_label("Earn multiplier").get_attribute("aria-invalid") == "true"
    assert not Tier.objects.exists()

    frame.get_by_label("Currency 1 (or PTS)").fill("usd")
    frame.get_by_label("Earn multiplier").fill("1.25")
    frame.get_by_role("button", name="Add a threshold").click()
    frame.get_by_label("Currency 2 (or PTS)").fill("EUR")
    frame.get_by_label("Reached at 2").fill("90")
    frame.get_by_label("Keep at 2").fill("80")
    frame.get_by_label("Bonus on reaching it (points)").fill("50")
    frame.get_by_label("Perks (one per line)").fill("Birthday gift\nFree shipping")
    frame.get_by_label("Access flags").fill("sale_preview")
    frame.get_by_label("Access flags").press("Enter")  # keyboard submit

    wait_for_notification(dashboard, "Tier saved")
    tier = Tier.objects.get(install=store.install)
    assert (tier.name, tier.rank, tier.multiplier, tier.bonus_points) == ("Bronze", 1, Decimal("1.25"), 50)
    assert (tier.perks, tier.access) == (["Birthday gift", "Free shipping"], ["sale_preview"])
    thresholds = {t.unit: (t.qualify, t.retain) for t in tier.thresholds.all()}
    assert thresholds == {"USD": (Decimal(100), None), "EUR": (Decimal(90), Decimal(80))}
    row = frame.get_by_test_id("tier-Bronze")
    row.wait_for()
    assert "90 EUR (keep at 80); 100 USD" in row.inner_text() and "×1.25" in row.inner_text()
    assert frame.get_by_label("Rank").input_value() == "2"  # the form is ready for the next tier

    # the review has not run: the preview says it would move the first member up, and moves nobody
    frame.get_by_test_id("review-counts").get_by_text("1 upgrade, 0 downgrades").wait_for()
    [move] = frame.get_by_test_id("review-move").all()
    assert "No tier → Bronze" in move.inner_text() and "Upgrade" in move.inner_text()
    assert not MemberTier.objects.filter(tier=tier).exists()
    assert {c.subject for c in SettingsChange.objects.all()} == {"tier:Bronze", "tier_settings"}

    # saving what is already saved sends nothing and says so (the settings, and a tier opened with Edit)
    logged = SettingsChange.objects.count()
    frame.get_by_role("button", name="Save tier settings").click()
    frame.get_by_text("Nothing changed.").first.wait_for()
    frame.get_by_role("button", name="Edit the tier Bronze").click()
    frame.get_by_role("button", name="Save tier", exact=True).click()
    frame.get_by_test_id("tier-status").get_by_text("Nothing changed.").wait_for()
    assert SettingsChange.objects.count() == logged


def test_the_tiers_tab_shows_members_and_movements(store, open_dashboard):
    setup_tiers(store.install)
    pay(store.install, "o-1", "600.00")  # Silver at once: an upgrade this week
    dashboard = open_dashboard("MANAGE_DISCOUNTS", "MANAGE_USERS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Tiers").click()

    silver = frame.get_by_test_id("tier-Silver")
    silver.wait_for()
    assert silver.locator("td").nth(5).inner_text() == "1"
    assert "450 EUR; 500 USD (keep at 400)" in silver.inner_text()
    chart = frame.get_by_role("img", name="Tier movements per week", exact=False)
    assert "1 upgrade and 0 downgrades" in (chart.get_attribute("aria-label") or "")
    # the chart (recharts, loaded with the tab): labelled axes, a zero line, every week labelled, a legend
    chart.locator(".recharts-bar-rectangle").first.wait_for()
    y_ticks = chart.locator(".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value").all_text_contents()
    assert y_ticks == ["1", "0", "1"]  # one member down … none … one member up: counts either side of 0
    x_ticks = chart.locator(".recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value").all_text_contents()
    assert len(x_ticks) == 12 and all(x_ticks)  # every week labelled, this week's too
    assert x_ticks[-1] in frame.locator("table[aria-label='Tier movements per week'] tbody tr").last.text_content()
    axis_labels = chart.locator("svg .recharts-label").all_text_contents()
    assert axis_labels == ["Week starting", "Members (up ↑ / down ↓)"]
    assert chart.locator(".recharts-legend-item-text").all_text_contents() == ["Upgrades", "Downgrades"]
    bars = chart.locator(".recharts-bar-rectangle path")
    assert bars.count() == 1  # the one week with an upgrade; weeks at 0 draw nothing
    fill = bars.first.evaluate("(bar) => getComputedStyle(bar).fill")
    assert fill == frame.locator("html").evaluate(
        "() => getComputedStyle(document.body).getPropertyValue('--mu-colors-text-accent1').trim() && "
        "(() => { const probe = document.createElement('span'); probe.style.color = "
        "'var(--mu-colors-text-accent1)'; document.body.append(probe); const c = getComputedStyle(probe).color; "
        "probe.remove(); return c; })()"
    )  # the theme's accent, so it follows light and dark
    bars.first.hover()
    tooltip = chart.locator(".recharts-tooltip-wrapper")
    tooltip.get_by_text("Week of", exact=False).wait_for()
    assert "Upgrades : 1" in tooltip.inner_text()
    frame.get_by_text("Show as a table").click()
    weeks = frame.get_by_role("table", name="Tier movements per week").locator("tbody tr")
    assert weeks.count() == 12  # every week of the chart, those without movements too
    assert [cell.inner_text() for cell in weeks.last.locator("td").all()][1:] == ["1", "0"]  # this week

    frame.get_by_role("button", name="Edit the tier Gold").click()
    assert frame.get_by_label("Tier name").input_value() == "Gold"
    assert [frame.get_by_label(f"Reached at {n}").input_value() for n in (1, 2)] == ["900", "1000"]
    assert frame.get_by_label("Access flags").input_value() == "early_access, sale_preview"
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


# -- Rebates tab -------------------------------------------------------------------------------------------------


def test_a_merchant_starts_rebates_fixing_a_field_error_then_edits_them(store, open_dashboard):
    setup_tiers(store.install)
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Rebates").click()
    frame.get_by_test_id("rebate-programs-empty").wait_for()
    frame.get_by_test_id("rebate-periods-empty").wait_for()

    frame.get_by_label("Channel (slug)").fill("default-channel")
    frame.get_by_label("Currency", exact=True).fill("usd")
    frame.get_by_label("Band 1: from (spend)").fill("500")
    frame.get_by_label("Band 1: rate (%)").fill("2")
    frame.get_by_role("button", name="Add a band").click()
    frame.get_by_label("Band 2: from (spend)").fill("400")  # not above the first: refused by the server
    frame.get_by_label("Band 2: rate (%)").fill("3")
    frame.get_by_role("button", name="Add a tier rate").click()
    frame.get_by_label("Tier 1", exact=True).select_option("Gold")
    frame.get_by_label("Tier 1: rate (%)").fill("1")
    picker = frame.get_by_role("combobox", name="Add products")
    picker.focus()
    picker.press_sequentially("sneak")
    frame.get_by_role("option", name="Dash Force sneakers · Sneakers").wait_for()
    picker.press("Enter")
    picker.press("Escape")
    frame.get_by_label("Rate for Dash Force sneakers (%)").fill("5")
    frame.get_by_label("Bonus on every Nth order").fill("3")
    frame.get_by_label("Bonus per Nth order (amount)").fill("5")
    frame.get_by_role("button", name="Create rebate program").click()

    assert wait_for_notification(dashboard, "Rebate program not created")["status"] == "error"
    error = frame.locator("#rebate-bands-error")
    assert "rising thresholds (band 2: 400 is not above 500)" in error.inner_text()  # under the bands it names
    assert frame.get_by_test_id("rebate-bands").get_attribute("aria-describedby") == "rebate-bands-error"
    assert frame.locator("[data-field-error]").count() == 1
    assert not RebateProgram.objects.exists()  # all or nothing
    assert not SettingsChange.objects.filter(subject__startswith="rebate_program:").exists()

    frame.get_by_label("Band 2: from (spend)").fill("1000")
    frame.get_by_role("button", name="Create rebate program").click()
    assert wait_for_notification(dashboard, "Rebate program created")["status"] == "success"
    program = RebateProgram.objects.get(install=store.install)
    assert (program.channel_slug, program.currency, program.is_active, program.period) == (
        "default-channel",
        "USD",
        True,
        "monthly",
    )
    assert program.bands == [{"threshold": "500", "rate": "2"}, {"threshold": "1000", "rate": "3"}]
    assert program.tier_rates == {"Gold": {"rate": "1", "mode": "bonus"}}
    assert program.line_rates == {"product:UHJvZHVjdDoy": "5"}
    assert (program.frequency_nth, program.frequency_bonus_amount) == (3, Decimal(5))
    row = frame.get_by_test_id("rebate-program-default-channel-USD")
    row.get_by_text("2% from $500.00; 3% from $1,000.00 (of all the spend)").wait_for()
    assert "Gold +1%" in row.inner_text() and "Dash Force sneakers 5%" in row.inner_text()
    assert "Active" in row.inner_text()
    frame.get_by_role("heading", name="Start rebates in a channel").wait_for()  # the form is back to a new program

    frame.get_by_role("button", name="Edit the rebates of default-channel (USD)").click()
    frame.get_by_role("heading", name="Edit the rebates of default-channel (USD)").wait_for()
    assert frame.get_by_label("Band 2: from (spend)").input_value() == "1000"
    assert frame.get_by_label("Rate for Dash Force sneakers (%)").input_value() == "5"  # named, as picked
    frame.get_by_label("A rate reached applies to").select_option("MARGINAL")
    frame.get_by_label("Return window (days)").fill("400")
    frame.get_by_role("button", name="Save rebate program").click()
    frame.locator("#rebate-returnWindowDays-error").wait_for()
    assert frame.get_by_label("Return window (days)").get_attribute("aria-invalid") == "true"
    program.refresh_from_db()
    assert (program.threshold_mode, program.return_window_days) == ("whole", 14)

    frame.get_by_label("Return window (days)").fill("30")
    assert frame.get_by_label("Periods' time zone").input_value() == "UTC"
    frame.get_by_label("Periods' time zone").select_option("Asia/Tokyo")  # from the browser's own list
    frame.get_by_label("Paid as").select_option(label="Stripe")
    frame.get_by_role("button", name="Remove the rate of Gold").click()
    frame.get_by_role("button", name="Save rebate program").click()
    wait_for_notification(dashboard, "Rebate program saved")
    program.refresh_from_db()
    assert (program.threshold_mode, program.return_window_days, program.payout_method) == ("marginal", 30, "stripe")
    assert program.time_zone == "Asia/Tokyo"
    frame.get_by_test_id("rebate-program-default-channel-USD").get_by_text("Monthly, Asia/Tokyo").wait_for()
    assert program.tier_rates == {} and program.line_rates == {"product:UHJvZHVjdDoy": "5"}  # only what changed
    edit = SettingsChange.objects.filter(subject="rebate_program:default-channel/USD").order_by("pk").last()
    assert edit and edit.actor == MERCHANT
    assert set(edit.after) == {"threshold_mode", "return_window_days", "payout_method", "tier_rates", "time_zone"}
    changes = frame.get_by_test_id("rebate-changes")
    changes.get_by_text("Return window (days): 14 → 30").wait_for()
    assert "Rebates in default-channel (USD)" in changes.inner_text()
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


def test_a_saved_line_rate_is_named_as_the_store_names_it_not_by_its_id(store, open_dashboard):
    create_rebate_program(
        store.install,
        channel_slug="default-channel",
        currency="USD",
        settings={"bands": [{"threshold": "0", "rate": "1"}], "line_rates": {"category:Q2F0ZWdvcnk6Mjk=": "4"}},
        actor=MERCHANT,
    )
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Rebates").click()
    row = frame.get_by_test_id("rebate-program-default-channel-USD")
    row.get_by_text("Sneakers 4%").wait_for()  # Category:29, as the store names it
    frame.get_by_role("button", name="Edit the rebates of default-channel (USD)").click()
    assert frame.get_by_label("Rate for Sneakers (%)").input_value() == "4"
    rates = frame.get_by_test_id("rebate-lineRates").inner_text()
    assert "Category · Shoes" in rates  # where it sits: its parent, as the store says
    assert "Q2F0ZWdvcnk6Mjk=" not in rates


# -- Payments tab -----------------------------------------------------------------------------------------------

STRIPE_SECRET = "sk_test_" + "a1B2c3D4" * 3
STRIPE_WEBHOOK_SECRET = "whsec_" + "Z9y8X7w6" * 3


def test_a_merchant_connects_stripe_fixing_a_refused_key_then_disconnects(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Payments").click()
    frame.get_by_test_id("stripe-not-connected").wait_for()

    frame.get_by_label("Secret key").fill("pk_test_" + "a1B2c3D4" * 3)  # a publishable key where the secret goes
    frame.get_by_label("Webhook signing secret").fill("sk_test_" + "a1B2c3D4" * 3)  # and the secret key here
    frame.get_by_role("button", name="Connect Stripe").click()
    assert wait_for_notification(dashboard, "Stripe not connected")["status"] == "error"
    frame.locator("#stripe-secretKey-error").wait_for()
    frame.locator("#stripe-webhookSecret-error").wait_for()  # both named at once
    assert frame.get_by_label("Secret key").get_attribute("aria-invalid") == "true"
    assert frame.locator("[data-field-error]").count() == 2
    assert not StripeAccount.objects.exists()

    frame.get_by_label("Webhook signing secret").fill(STRIPE_WEBHOOK_SECRET)

    frame.get_by_label("Secret key").fill(STRIPE_SECRET)  # the signing secret typed before is still there
    frame.get_by_role("button", name="Connect Stripe").click()
    assert wait_for_notification(dashboard, "Stripe connected")["status"] == "success"
    card = frame.get_by_test_id("stripe-connection")
    card.get_by_text("Connected, test mode").wait_for()
    assert not frame.get_by_label("Secret key").count()  # the form is gone, and the secrets typed with it
    account = StripeAccount.objects.get(install=store.install)
    assert account.secret_key == STRIPE_SECRET and account.webhook_secret == STRIPE_WEBHOOK_SECRET
    assert frame.get_by_test_id("stripe-secret-ending").inner_text() == "••••" + STRIPE_SECRET[-4:]
    assert (
        frame.get_by_test_id("stripe-webhook-url").inner_text().endswith(f"/stripe/webhooks/{account.webhook_token}/")
    )
    page = frame.locator("html").inner_html()
    assert STRIPE_SECRET not in page and STRIPE_WEBHOOK_SECRET not in page
    changes = frame.get_by_test_id("payment-changes")
    changes.get_by_text("Stripe account").first.wait_for()  # the connection is in the change log
    changes.get_by_text(f"Secret key ending in: — → {STRIPE_SECRET[-4:]}").wait_for()

    frame.get_by_role("button", name="Disconnect").click()
    frame.get_by_role("group", name="Confirm disconnecting Stripe").wait_for()
    assert StripeAccount.objects.exists()  # nothing until confirmed
    frame.get_by_role("button", name="Yes, disconnect").click()
    wait_for_notification(dashboard, "Stripe disconnected")
    frame.get_by_test_id("stripe-not-connected").wait_for()
    assert not StripeAccount.objects.exists()
    changes.get_by_text("Connected: yes → no").wait_for()
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


def test_a_merchant_sells_a_tier_fixing_a_field_error_then_edits_and_archives_it(store, open_dashboard):
    setup_tiers(store.install)
    set_tier(store.install, name="Bronze", rank=1, thresholds={"USD": "0", "EUR": "0"})  # the base: everyone's
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Payments").click()
    frame.get_by_test_id("paid-plans-empty").wait_for()

    frame.get_by_label("Plan name").fill("Gold monthly")
    options = frame.get_by_label("Tier it sells").locator("option").all_inner_texts()
    assert "Silver" in options and "Gold" in options and "Bronze" not in options  # nobody pays for the base tier
    frame.get_by_label("Tier it sells").select_option("Gold")
    frame.get_by_label("Price", exact=True).fill("9.999")  # more decimals than USD has: the server refuses
    frame.get_by_label("Currency", exact=True).fill("usd")
    frame.get_by_label("Stripe Price", exact=True).fill("price_1Q2w3E")
    frame.get_by_role("button", name="Add a benefit").click()
    channel = frame.get_by_label("Benefit 1: channel")  # the store's channels, by name and currency
    assert channel.locator("option").all_inner_texts() == ["Choose a channel", "Default Channel (USD)", "Jp (JPY)"]
    channel.select_option(label="Default Channel (USD)")
    frame.get_by_role("button", name="Create plan").click()
    assert wait_for_notification(dashboard, "Paid plan not created")["status"] == "error"
    error = frame.locator("#plan-amount-error")
    assert "more decimals than USD allows (at most 2 decimals)" in error.inner_text()
    assert frame.locator("[data-field-error]").count() == 1
    assert not PaidPlan.objects.exists()

    frame.get_by_label("Price", exact=True).fill("9.99")
    frame.get_by_role("button", name="Create plan").click()
    assert wait_for_notification(dashboard, "Paid plan created")["status"] == "success"
    plan = PaidPlan.objects.get(install=store.install)
    assert (plan.name, plan.tier.name, plan.amount, plan.currency, plan.interval, plan.stripe_price_id) == (
        "Gold monthly",
        "Gold",
        Decimal("9.99"),
        "USD",
        "month",
        "price_1Q2w3E",
    )
    assert plan.benefits == [{"kind": "free_shipping", "channel_id": "Q2hhbm5lbDox"}]
    row = frame.get_by_test_id("paid-plan-Gold monthly")
    row.get_by_text("$9.99 a month").wait_for()
    assert "Free shipping" in row.inner_text() and "None yet" in row.inner_text() and "On sale" in row.inner_text()
    frame.get_by_role("heading", name="Sell a tier").wait_for()  # the form is back to a new plan
    assert frame.get_by_test_id("plan-status").inner_text() != ""  # saying what the save did ...
    frame.get_by_label("Plan name").fill("Gold yearly")
    assert frame.get_by_test_id("plan-status").inner_text() == ""  # ... until a new plan is begun
    frame.get_by_label("Plan name").fill("")

    Membership.objects.create(
        install=store.install,
        member=store.member(),
        plan=plan,
        subscription_id="sub_1",
        status="active",
        tier_held=True,
    )
    frame.get_by_role("button", name="Edit Gold monthly").click()
    frame.get_by_role("heading", name="Edit Gold monthly").wait_for()
    frame.get_by_label("Tier it sells").select_option("Silver")
    frame.get_by_role("button", name="Save plan").click()
    frame.locator("#plan-tier-error").get_by_text("One member subscribes to this plan").wait_for()
    assert PaidPlan.objects.get().tier.name == "Gold"

    frame.get_by_label("Tier it sells").select_option("Gold")
    frame.get_by_label("Price", exact=True).fill("12")
    frame.get_by_label("Grace after a failed payment (days)").fill("3")
    frame.get_by_role("button", name="Save plan").click()
    wait_for_notification(dashboard, "Paid plan saved")
    plan.refresh_from_db()
    assert (plan.amount, plan.grace_days, plan.tier.name) == (Decimal("12"), 3, "Gold")
    edit = SettingsChange.objects.filter(subject="paid_plan:Gold monthly").order_by("pk").last()
    assert edit and edit.actor == MERCHANT and set(edit.after) == {"amount", "grace_days"}
    row.get_by_text("$12.00 a month").wait_for()
    assert "1 active" in row.inner_text()
    frame.get_by_test_id("payment-changes").get_by_text("Price shown: 9.99 → 12").wait_for()

    frame.get_by_role("button", name="Archive Gold monthly").click()
    frame.get_by_role("button", name="Yes, archive").click()
    wait_for_notification(dashboard, "Paid plan archived")
    row.get_by_text("Archived").wait_for()
    plan.refresh_from_db()
    assert not plan.is_active and Membership.objects.filter(plan=plan).exists()  # archived, never deleted

    frame.get_by_label("Storefront addresses").fill("https://shop.example.com\nhttp://shop.example.com")
    frame.get_by_role("button", name="Save return addresses").click()
    frame.locator("#plan-returnOrigins-error").wait_for()
    frame.get_by_label("Storefront addresses").fill("https://shop.example.com")
    frame.get_by_role("button", name="Save return addresses").click()
    wait_for_notification(dashboard, "Return addresses saved")
    assert MembershipSettings.objects.get(install=store.install).return_origins == ["https://shop.example.com"]
    frame.get_by_test_id("origins-status").get_by_text("Checkout may return to https://shop.example.com.").wait_for()
    assert frame.get_by_label("Storefront addresses").input_value() == "https://shop.example.com"
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


def test_a_merchant_sees_a_periods_totals_reconciled_and_downloads_its_csvs(store, open_dashboard):
    november(store.install)
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Rebates").click()

    picker = frame.get_by_label("Totals of")
    picker.wait_for()
    assert picker.input_value() == period_of(timezone.now(), MONTHLY).key  # the newest period first
    picker.select_option(label="November 2026")
    totals = frame.get_by_test_id("rebate-totals")
    totals.get_by_text("$48.00").wait_for()
    figures = {
        name: frame.get_by_test_id(f"rebate-total-{name}").locator("td").inner_text()
        for name in ("members", "accrued", "reversed", "rebate", "pending", "payable", "paid", "owed", "writtenOff")
    }
    assert figures == {
        "members": "2",
        "accrued": "$48.00",
        "reversed": "$18.00",
        "rebate": "$30.00",
        "pending": "$0.00",
        "payable": "$0.00",
        "paid": "$30.00",
        "owed": "$0.00",
        "writtenOff": "$0.00",
    }
    audit = frame.get_by_test_id("rebate-audit")
    assert "Reconciles with the ledger" in audit.inner_text()
    assert frame.get_by_test_id("rebate-total-ledger").locator("td").inner_text() == "Agrees"
    assert "Ledger's transfers read" in frame.get_by_test_id("rebate-audit-checked").inner_text()
    kept = RebateAuditSnapshot.objects.get(install=store.install, period="2026-11").checked_at
    frame.get_by_role("button", name="Check against the ledger now").click()  # the transfers read again
    for _ in range(100):
        if RebateAuditSnapshot.objects.get(install=store.install, period="2026-11").checked_at > kept:
            break
        time.sleep(0.1)
    assert RebateAuditSnapshot.objects.get(install=store.install, period="2026-11").checked_at > kept
    totals.get_by_text("$48.00").wait_for()

    with dashboard.page.expect_download() as started:
        frame.get_by_role("button", name="Download statements (CSV)").click()
    statements = list(csv.DictReader(io.StringIO(Path(started.value.path()).read_text())))
    assert started.value.suggested_filename.endswith(".csv")
    payouts = [(r["email"], r["paid"], r["method"], r["reference"]) for r in statements if r["line"] == "payout"]
    assert sorted(payouts) == [
        ("b@example.com", "12.00", "store_credit", "ref-2"),
        ("shopper@example.com", "18.00", "store_credit", "ref-1"),
    ]
    assert sum(Decimal(r["accrued"]) for r in statements if r["line"] == "order") == Decimal("48.00")
    frame.get_by_test_id("rebate-download-status").get_by_text("Downloaded").wait_for()

    with dashboard.page.expect_download() as started:
        frame.get_by_role("button", name="Download audit (CSV)").click()
    audit_rows = list(csv.DictReader(io.StringIO(Path(started.value.path()).read_text())))
    assert [(r["source"], r["accrued"], r["paid"], r["problems"]) for r in audit_rows] == [
        ("periods", "48.00", "30.00", ""),
        ("ledger", "48.00", "30.00", ""),
    ]

    # one cent that the ledger does not have: the page says so, and what
    row = RebatePeriod.objects.get(install=store.install, period="2026-11", member__saleor_user_id="VXNlcjox")
    RebatePeriod.objects.filter(pk=row.pk).update(pending=row.pending + 1, accrued=row.accrued + 1)
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="dark")
    frame.get_by_role("tab", name="Rebates").click()
    frame.get_by_label("Totals of").select_option("2026-11")
    problems = frame.get_by_test_id("rebate-audit-problems")
    problems.get_by_text("default-channel USD: accrued: rows 3001 ≠ ledger 3000").wait_for()
    assert "Does not reconcile with the ledger" in frame.get_by_test_id("rebate-audit").inner_text()
    assert frame.get_by_test_id("rebate-total-ledger").locator("td").inner_text() == "Differs"
    frame.get_by_text("Show the audit's figures").click()
    pending = frame.get_by_test_id("rebate-audit-default-channel-USD").get_by_role("row", name="Pending")
    assert pending.locator("td").all_inner_texts() == ["Pending", "$0.01", "$0.00", "$0.01"]


def test_a_csv_download_the_app_refuses_says_why(store, open_dashboard):
    november(store.install)
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="Rebates").click()
    frame.get_by_label("Totals of").wait_for()
    refusal = {"errors": [{"message": "You need the MANAGE_DISCOUNTS permission.", "extensions": {}}]}
    dashboard.page.route(
        f"{dashboard.app_url}/dashboard/rebates/**", lambda route: route.fulfill(status=403, json=refusal)
    )
    frame.get_by_role("button", name="Download audit (CSV)").click()
    frame.get_by_test_id("rebate-download-status").get_by_text(
        "Not downloaded: You need the MANAGE_DISCOUNTS"
    ).wait_for()
    assert wait_for_notification(dashboard, "Download failed")["status"] == "error"


# -- API keys tab ------------------------------------------------------------------------------------------------


def test_a_merchant_defines_an_action_and_creates_a_key_shown_once_then_revokes_it(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_DISCOUNTS")
    frame = dashboard.open("/app", theme="light")
    frame.get_by_role("tab", name="API keys").click()

    frame.get_by_label("Code").fill("product_review")
    frame.get_by_label("Action name").fill("Product review")
    frame.get_by_label("Points per action").fill("0")
    frame.get_by_role("button", name="Save action").click()
    frame.locator("#action-points-error").wait_for()  # the server's refusal, under its field
    assert not EarningAction.objects.exists()
    frame.get_by_label("Points per action").fill("25")
    frame.get_by_label("Times per customer per period").fill("2")
    frame.get_by_role("button", name="Save action").click()
    wait_for_notification(dashboard, "Earning action saved")
    action = EarningAction.objects.get(install=store.install)
    assert (action.code, action.points, action.max_per_period, action.period_days) == ("product_review", 25, 2, 30)
    frame.get_by_test_id("action-product_review").get_by_text("2 per 30 days").wait_for()
    frame.get_by_role("button", name="Switch off the action product_review").click()
    wait_for_notification(dashboard, "Earning action switched off")
    action.refresh_from_db()
    assert action.is_active is False

    frame.get_by_label("What uses it").fill("reviews service")
    frame.get_by_role("button", name="Create key").click()
    wait_for_notification(dashboard, "API key created")
    shown = frame.get_by_test_id("new-key")
    assert "Store it now: this is the only time it is shown." in shown.inner_text()
    key = frame.get_by_label("New API key").input_value()
    stored = ServerApiKey.objects.get(install=store.install)
    assert key.startswith("lsk_") and stored.prefix == key[:10] and stored.revoked_at is None
    assert stored.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    frame.get_by_role("button", name="Copy key").click()
    assert frame.get_by_test_id("copy-status").inner_text()  # copied, or told how to copy it by hand
    frame.get_by_role("button", name="I have stored it").click()
    shown.wait_for(state="detached")
    assert key not in frame.locator("html").inner_html()  # gone from the page for good

    row = frame.get_by_test_id(f"api-key-{stored.prefix}")
    row.get_by_text("Active").wait_for()
    frame.get_by_role("button", name=f"Revoke the key reviews service ({stored.prefix})").click()
    frame.get_by_role("button", name="Keep it").click()  # a second thought: nothing happens
    stored.refresh_from_db()
    assert stored.revoked_at is None
    frame.get_by_role("button", name=f"Revoke the key reviews service ({stored.prefix})").click()
    frame.get_by_role("group", name="Confirm revoking reviews service").get_by_role(
        "button", name="Yes, revoke"
    ).click()
    wait_for_notification(dashboard, "API key revoked")
    stored.refresh_from_db()
    assert stored.revoked_at is not None
    row.get_by_text("Revoked").wait_for()
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []
    assert not any(key in json.dumps(request["body"]) for request in dashboard.graphql_requests)  # never sent back


# -- the customer widget ----------------------------------------------------------------------------------------


def assert_titled_for_screen_readers_only(frame: Any, title: str) -> None:
    """The dashboard heads a widget's card (and a popup's dialog) with the extension's label: the page's own heading
    still names it for screen readers, but takes no room, so the card does not show its title twice."""
    heading = frame.get_by_role("heading", name=title, level=1)
    assert heading.count() == 1 and heading.bounding_box()["height"] <= 1
    assert heading.evaluate("(el) => el.className") == "loyalty-visually-hidden"
    assert frame.get_by_role("main", name=title).count() == 1  # the page's landmark, named by it
    assert frame.get_by_text(title, exact=True).count() == 1  # no other, visible title


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
    assert_titled_for_screen_readers_only(frame, "Loyalty")  # the real Dashboard's card already says "Loyalty"

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


def test_staff_pin_and_unpin_a_customers_tier_from_the_widget(store, open_dashboard):
    setup_tiers(store.install)
    pay(store.install, "o-1", "150.00")  # Bronze
    dashboard = open_dashboard("MANAGE_USERS", email="agent@shop.example")
    frame = dashboard.open("/app/widget/customer", theme="light", customerId="VXNlcjox")
    frame.get_by_test_id("tier").get_by_text("Bronze").wait_for()

    frame.get_by_label("Tier", exact=True).fill("Platinum")
    frame.get_by_label("Why").fill("VIP guest")
    frame.get_by_role("button", name="Pin tier").click()
    frame.locator("#pin-tier-error").wait_for()  # no such tier: said under the field
    assert frame.get_by_label("Tier", exact=True).get_attribute("aria-invalid") == "true"

    frame.get_by_label("Tier", exact=True).fill("Gold")
    frame.get_by_label("Why").press("Enter")
    wait_for_notification(dashboard, "Tier pinned")
    frame.get_by_test_id("tier").get_by_text("Gold (pinned)").wait_for()  # the account was read again
    state = MemberTier.objects.select_related("tier", "pinned_tier").get()
    assert state.tier and state.pinned_tier
    assert (state.tier.name, state.pinned_tier.name, state.pin_reason) == ("Gold", "Gold", "VIP guest")
    assert state.pinned_by == "agent@shop.example"

    frame.get_by_role("button", name="Unpin Gold").click()
    wait_for_notification(dashboard, "Tier unpinned")
    frame.get_by_test_id("tier").get_by_text("Gold", exact=True).wait_for()
    state.refresh_from_db()
    assert state.pinned_tier is None and state.tier and state.tier.name == "Gold"  # kept until a review says


def test_the_customer_widget_of_a_customer_without_points(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_USERS")
    frame = dashboard.open("/app/widget/customer", theme="dark", query_theme=None, customerId="VXNlcjo5")

    frame.get_by_test_id("no-activity").wait_for()
    assert "No loyalty activity yet" in frame.get_by_test_id("no-activity").inner_text()
    assert frame.get_by_test_id("customer-rebates").count() == 0  # no rebates: no section


def test_the_customer_widget_shows_a_shoppers_rebates(store, open_dashboard):
    november(store.install)
    dashboard = open_dashboard("MANAGE_USERS")
    frame = dashboard.open("/app/widget/customer", theme="light", customerId="VXNlcjox")

    rebates = frame.get_by_test_id("customer-rebates")
    rebates.wait_for()
    frame.get_by_test_id("balance-available").wait_for()  # the points still read beside the rebates
    assert frame.get_by_role("alert").count() == 0
    assert frame.get_by_test_id("rebate-spend").inner_text() == "$100.00"  # this month's order so far
    assert frame.get_by_test_id("rebate-rate").inner_text() == "0%"
    assert frame.get_by_test_id("rebate-next").inner_text() == "2% after $400.00 more"
    assert frame.get_by_test_id("rebate-accrued").inner_text() == "$0.00"
    payouts = frame.get_by_test_id("rebate-payouts").inner_text()
    assert "$18.00" in payouts and "Store credit" in payouts and "ref-1" in payouts and "November 2026" in payouts
    statement = frame.get_by_test_id("rebate-statement")
    assert "Statement" in statement.inner_text() and "$0.00 rebate" in statement.inner_text()
    assert frame.get_by_role("heading", name="Rebates", level=2).is_visible()
    sent = sorted(r["body"]["query"].split("(")[0] for r in dashboard.graphql_requests)
    assert sent == ["query CustomerLoyalty", "query CustomerRebates"]  # one extra request, beside the account's
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []


# -- the customer popup (more actions) --------------------------------------------------------------------------


def popup_closes(dashboard: Dashboard) -> int:
    return len([m for m in dashboard.app_messages() if m.get("type") == "popupClose"])


def test_staff_adjust_a_customers_points_from_the_more_actions_popup(store, open_dashboard):
    member = store.give_points(100)
    dashboard = open_dashboard("MANAGE_USERS", email="agent@shop.example")
    frame = dashboard.open("/app/popup/customer", theme="dark", customerId="VXNlcjox")

    frame.get_by_test_id("balance-available").get_by_text("100 points").wait_for()
    # the dashboard titles the dialog: the page's own heading is for screen readers only, not a second title
    assert_titled_for_screen_readers_only(frame, "Loyalty points")
    assert frame.get_by_test_id("tier").inner_text() == "None"
    assert frame.get_by_role("button", name="Pin tier").is_visible()
    assert frame.locator("html").evaluate(UNLABELLED_FIELDS) == []

    # a refused deduction says why under the field, and the popup stays open
    points = frame.get_by_label("Points (negative to deduct)")
    points.fill("-1000")
    frame.get_by_label("Reason").fill("typo")
    frame.get_by_role("button", name="Adjust points").click()
    frame.locator("#adjust-points-error").wait_for()
    assert points.get_attribute("aria-invalid") == "true"
    assert not Transfer.objects.filter(kind=TransferKind.ADJUST).exists()
    assert popup_closes(dashboard) == 0

    points.fill("30")
    frame.get_by_label("Reason").fill("Goodwill: late parcel")
    frame.get_by_label("Reason").press("Enter")
    notification = wait_for_notification(dashboard, "Points adjusted")
    assert notification["status"] == "success" and "130 points" in notification["text"]
    dashboard.page.wait_for_function("window.fromApp.some((m) => m.type === 'popupClose')")
    messages = [m["type"] for m in dashboard.app_messages()]
    assert messages.index("notification") < messages.index("popupClose")  # notified, then closed
    assert popup_closes(dashboard) == 1
    assert member_balances(member).available == 130
    transfer = Transfer.objects.get(kind=TransferKind.ADJUST)
    assert transfer.memo["actor"] == "agent@shop.example"


def test_the_customer_card_shows_what_the_popup_saved_without_a_reload(store, open_dashboard):
    """The card and the popup are two frames of the app on one customer page: after the popup saves, the card reads
    the account again by itself (a BroadcastChannel between the two), as the dashboard reloads neither."""
    setup_tiers(store.install)
    member = store.give_points(100)
    dashboard = open_dashboard("MANAGE_USERS", email="agent@shop.example")
    card = dashboard.open("/app/widget/customer", theme="light", customerId="VXNlcjox")
    card.get_by_test_id("balance-available").get_by_text("100 points").wait_for()
    other = dashboard.open_beside("other", "/app/widget/customer", customerId="VXNlcjoy")  # another customer's card
    other.get_by_test_id("no-activity").wait_for()
    reads = len(dashboard.graphql_requests)

    popup = dashboard.open_beside("popup", "/app/popup/customer", customerId="VXNlcjox")
    popup.get_by_test_id("balance-available").get_by_text("100 points").wait_for()
    popup.get_by_label("Points (negative to deduct)").fill("30")
    popup.get_by_label("Reason").fill("Goodwill")
    popup.get_by_label("Reason").press("Enter")
    wait_for_notification(dashboard, "Points adjusted")

    card.get_by_test_id("balance-available").get_by_text("130 points").wait_for()  # no reload of the card
    assert member_balances(member).available == 130
    assert card.get_by_test_id("last-activity").inner_text().startswith("Adjusted by staff +30 points")
    customers = [r["body"]["variables"].get("customerId") for r in dashboard.graphql_requests[reads:]]
    assert "VXNlcjoy" not in customers  # only the card of the customer that changed read again

    popup.get_by_label("Tier", exact=True).fill("Gold")
    popup.get_by_label("Why").fill("VIP guest")
    popup.get_by_role("button", name="Pin tier").click()
    wait_for_notification(dashboard, "Tier pinned")
    card.get_by_test_id("tier").get_by_text("Gold (pinned)").wait_for()


def test_staff_pin_a_tier_from_the_more_actions_popup(store, open_dashboard):
    setup_tiers(store.install)
    pay(store.install, "o-1", "150.00")  # Bronze
    dashboard = open_dashboard("MANAGE_USERS", email="agent@shop.example")
    frame = dashboard.open("/app/popup/customer", theme="light", customerId="VXNlcjox")
    frame.get_by_test_id("tier").get_by_text("Bronze").wait_for()

    frame.get_by_label("Tier", exact=True).fill("Gold")
    frame.get_by_label("Why").fill("VIP guest")
    frame.get_by_role("button", name="Pin tier").click()
    wait_for_notification(dashboard, "Tier pinned")
    dashboard.page.wait_for_function("window.fromApp.some((m) => m.type === 'popupClose')")
    state = MemberTier.objects.select_related("pinned_tier").get()
    assert state.pinned_tier and state.pinned_tier.name == "Gold" and state.pinned_by == "agent@shop.example"


def test_the_popup_closes_on_request_and_without_a_customer_says_where_it_belongs(store, open_dashboard):
    dashboard = open_dashboard("MANAGE_USERS")
    frame = dashboard.open("/app/popup/customer", theme="light")
    frame.get_by_text("Open this from a customer's page").wait_for()
    assert not dashboard.graphql_requests  # nothing to load without a customer

    frame.get_by_role("button", name="Close").click()
    dashboard.page.wait_for_function("window.fromApp.some((m) => m.type === 'popupClose')")


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
    assert_titled_for_screen_readers_only(frame, "Loyalty points")


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


SHOPPERS = [  # (user id, email, spend in USD, weeks ago)
    ("VXNlcjoxMQ==", "maya.chen@example.com", "1240.00", 1),
    ("VXNlcjoxMg==", "liam.okafor@example.com", "620.00", 2),
    ("VXNlcjoxMw==", "sofia.rossi@example.com", "180.00", 2),
    ("VXNlcjoxNA==", "noah.berg@example.com", "540.00", 4),
    ("VXNlcjoxNQ==", "emma.novak@example.com", "130.00", 5),
    ("VXNlcjoxNg==", "lucas.moreau@example.com", "1010.00", 7),
    ("VXNlcjoxNw==", "olivia.hart@example.com", "260.00", 9),
    ("VXNlcjoxOA==", "ava.silva@example.com", "115.00", 10),
]


def _realistic_tiers(store: Store) -> None:
    """Tiers with members, twelve weeks of movements, and a next review that would move two members."""
    pending = order(
        "T3JkZXI6OTAx", user_id="VXNlcjoxOQ==", email="jonas.weber@example.com", lines=(line(unit="560.00"),)
    )
    reconcile_order(store.install, pending)  # paid before tiers ran: the review will place them
    setup_tiers(store.install, grace_days=0)
    reconcile_order(store.install, order("T3JkZXI6OTAz", user_id="VXNlcjox", lines=(line(unit="24.00"),)))  # → Bronze
    now = timezone.now()
    for n, (user_id, email, spend, weeks_ago) in enumerate(SHOPPERS):
        reconcile_order(store.install, order(f"T3JkZXI6OD{n}", user_id=user_id, email=email, lines=(line(unit=spend),)))
        member = member_for_user(store.install, user_id)
        TierChange.objects.filter(member=member).update(at=now - timedelta(weeks=weeks_ago, hours=n))
    lapsed = order("T3JkZXI6OTAy", user_id="VXNlcjoyMA==", email="ella.kim@example.com", lines=(line(unit="640.00"),))
    reconcile_order(store.install, lapsed)  # Silver, on spend that falls out of the window
    OrderAward.objects.filter(install=store.install, order_id=lapsed.id).update(first_paid_at=now - timedelta(days=400))
    TierChange.objects.filter(member=member_for_user(store.install, "VXNlcjoyMA==")).update(
        at=now - timedelta(weeks=11)
    )
    silver = Tier.objects.get(install=store.install, name="Silver")
    for weeks_ago, user_id in ((3, "VXNlcjoxMg=="), (6, "VXNlcjoxNA=="), (8, "VXNlcjoxNg==")):
        TierChange.objects.create(  # earlier downgrades, for the chart
            install=store.install,
            member=member_for_user(store.install, user_id),
            from_tier=silver,
            to_tier=None,
            is_upgrade=False,
            reason="review",
            at=now - timedelta(weeks=weeks_ago),
            effects_applied=True,
        )


def _realistic_referrals(store: Store) -> None:
    """Beside the held referral: members sharing codes, friends signing up, some ordering (and so rewarded)."""
    update_referral_program(store.install, {"storefront_url": "https://shop.example/join"}, actor=MERCHANT)
    friends = iter(range(40, 60))
    for referrer, signed_up, ordered in (
        (SHOPPERS[0], 4, 3),
        (SHOPPERS[1], 3, 2),
        (SHOPPERS[3], 2, 1),
        (SHOPPERS[5], 1, 0),
    ):
        code = code_of(store, referrer[:2])
        for n in range(signed_up):
            number = next(friends)
            friend = (base64.b64encode(f"User:{number}".encode()).decode(), f"friend{number}@example.com")
            apply(store, code, who=friend)
            if n < ordered:
                reconcile_order(store.install, paid_order(f"ref-{number}", who=friend, unit="80.00"))
    for shopper in SHOPPERS[6:]:
        code_of(store, shopper[:2])  # shared, nobody signed up yet
    qualified = Referral.objects.filter(status=ReferralStatus.QUALIFIED).order_by("pk")
    earlier = [referral.pk for referral in qualified][:4]  # ordered weeks ago: their return windows are over
    Referral.objects.filter(pk__in=earlier).update(rewards_unlock_at=timezone.now() - timedelta(days=3))


def _realistic_catalog(store: Store) -> None:
    now = timezone.now()
    for name, kind, cost, extra in (
        ("$5 off", "fixed_amount", 500, {"value": "5"}),
        ("15% off (up to $30)", "percentage", 1200, {"value": "15", "max_amount": "30", "per_shopper_limit": 2}),
        ("Free shipping", "free_shipping", 300, {"ends_at": now + timedelta(days=60)}),
        ("Tote bag", "free_product", 2000, {"variant_id": "UHJvZHVjdFZhcmlhbnQ6MzQ4"}),
    ):
        create_reward(
            store.install,
            name=name,
            kind=kind,
            points_cost=cost,
            channel_slug="default-channel",
            actor=MERCHANT,
            **extra,
        )
    create_campaign(
        store.install,
        name="Double points weekend",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=2),
        multiplier="2",
        actor=MERCHANT,
    )
    create_campaign(
        store.install,
        name="Spring shoes",
        starts_at=now + timedelta(days=20),
        ends_at=now + timedelta(days=34),
        multiplier="1.5",
        fixed_bonus=50,
        category_ids=["Q2F0ZWdvcnk6Mjg=", "Q2F0ZWdvcnk6Mjk="],
        tiers=["Silver", "Gold"],
        actor=MERCHANT,
    )
    set_earning_action(
        store.install, code="product_review", name="Product review", points=25, max_per_period=3, actor=MERCHANT
    )
    set_earning_action(
        store.install,
        code="newsletter_signup",
        name="Newsletter sign-up",
        points=50,
        max_per_period=1,
        period_days=365,
        actor=MERCHANT,
    )
    update_notification_settings(
        store.install,
        {"from_email": "club@shop.example", "from_name": "Shop Club", "disabled_kinds": ["tier_down"]},
        actor=MERCHANT,
    )
    create_api_key(store.install, "reviews service", actor=MERCHANT)
    old = create_api_key(store.install, "legacy importer", actor=MERCHANT)
    revoke_api_key(store.install, old.record.pk, actor=MERCHANT)


def _realistic_rebates(store: Store) -> None:
    """November's rebates of two shoppers (a refund, two payouts), then the program given a tier rate, a category
    rate and a bonus."""
    november(store.install)
    program = RebateProgram.objects.get(install=store.install)
    update_rebate_program(
        program,
        {
            "tier_rates": {"Gold": {"rate": "1", "mode": "bonus"}},
            "line_rates": {"category:Q2F0ZWdvcnk6Mjk=": "4"},  # Sneakers: named on the page
            "frequency_nth": 5,
            "frequency_bonus_amount": "5",
            "minimum_payout": "25",
        },
        actor=MERCHANT,
    )
    create_rebate_program(
        store.install,
        channel_slug="channel-pln",
        currency="PLN",
        settings={"period": "quarterly", "bands": [{"threshold": "0", "rate": "1"}], "is_active": False},
        actor="maria@shop.example",
    )


def _realistic_payments(store: Store) -> None:
    """Stripe connected (test mode), a VIP tier sold monthly and yearly with members, an archived plan, the
    storefront Checkout returns to. (Stripe is connected after the plans are made: its Prices are not in the fake
    Stripe, and a plan saved while Stripe is connected is checked against its Price.)"""
    set_tier(
        store.install, name="VIP", rank=4, thresholds={"USD": "1000000"}, perks=["Free shipping", "Members' prices"]
    )
    plans = {}
    for name, tier, amount, interval, count, benefits, active in (
        ("VIP monthly", "VIP", "9.99", "month", 1, [("free_shipping", None), ("fixed_amount", "5")], True),
        ("VIP yearly", "VIP", "99.00", "year", 1, [("free_shipping", None)], True),
        ("Gold quarterly", "Gold", "24.00", "month", 3, [], False),
    ):
        plans[name] = set_paid_plan(
            store.install,
            name=name,
            tier_name=tier,
            amount=amount,
            currency="USD",
            interval=interval,
            interval_count=count,
            stripe_price_id=f"price_1Q{name.replace(' ', '')}",
            benefits=[{"kind": kind, "channel_id": "Q2hhbm5lbDox", "value": value} for kind, value in benefits],
            is_active=active,
            actor=MERCHANT,
        )
    for n, (plan, status) in enumerate(
        [("VIP monthly", "active")] * 3
        + [
            ("VIP monthly", "past_due"),
            ("VIP monthly", "canceled"),
            ("VIP yearly", "active"),
            ("Gold quarterly", "canceled"),
        ]
    ):
        Membership.objects.create(
            install=store.install,
            member=member_for_user(store.install, SHOPPERS[n][0]),
            plan=plans[plan],
            subscription_id=f"sub_{n}",
            status=status,
            tier_held=status != "canceled",
        )
    set_return_origins(store.install, ["https://shop.example.com"], actor=MERCHANT)
    connected(store.install)


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
        dashboard.page.set_viewport_size({"width": 1200, "height": min(int(height), 3800)})
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
    _realistic_tiers(store)
    _realistic_referrals(store)
    _realistic_catalog(store)
    _realistic_rebates(store)
    _realistic_payments(store)
    saved: list[Path] = []
    for theme in ("light", "dark"):
        dashboard = open_dashboard("MANAGE_DISCOUNTS", "MANAGE_USERS", "MANAGE_ORDERS")
        frame = dashboard.open("/app", theme=theme)
        frame.get_by_test_id("change-log").wait_for()
        frame.get_by_test_id("earn-rule-channel-pln-PLN").wait_for()
        frame.get_by_test_id("email-preview-subject").wait_for()
        saved.append(_shoot(dashboard, frame, folder, f"app-page-program-{theme}"))
        for tab, ready, name in (
            ("Referrals", "held-referral", "referrals"),
            ("Tiers", "review-move", "tiers"),
            ("Rebates", "rebate-programs", "rebates"),
            ("Payments", "paid-plans", "payments"),
            ("Rewards", "rewards", "rewards"),
            ("Campaigns", "campaigns", "campaigns"),
            ("API keys", "api-keys", "api-keys"),
        ):
            dashboard.page.set_viewport_size({"width": 1200, "height": 760})
            frame.get_by_role("tab", name=tab).click()
            frame.get_by_test_id(ready).first.wait_for()
            if name == "referrals":
                frame.get_by_test_id("funnel").wait_for()
                frame.get_by_label("Storefront page for links").wait_for()
            if name == "rebates":  # November's totals, reconciled
                frame.get_by_label("Totals of").select_option("2026-11")
                frame.get_by_test_id("rebate-audit").wait_for()
                frame.get_by_test_id("rebate-changes").wait_for()
            if name == "payments":
                frame.get_by_test_id("stripe-connection").wait_for()
                frame.get_by_test_id("payment-changes").wait_for()
            if name == "api-keys":  # a key just created, shown this once
                frame.get_by_test_id("earning-actions").wait_for()
                frame.get_by_label("What uses it").fill("mobile app")
                frame.get_by_role("button", name="Create key").click()
                frame.get_by_test_id("new-key").wait_for()
            saved.append(_shoot(dashboard, frame, folder, f"app-page-{name}-{theme}"))
        ServerApiKey.objects.filter(name="mobile app").delete()  # the next theme shows its own, once

        dashboard = open_dashboard("MANAGE_USERS")
        frame = dashboard.open("/app/widget/customer", theme=theme, customerId="VXNlcjox")
        frame.get_by_test_id("rebate-payouts").wait_for()  # November's rebates, after the points
        saved.append(_shoot(dashboard, frame, folder, f"customer-widget-{theme}", widget=True))

        dashboard = open_dashboard("MANAGE_ORDERS")
        frame = dashboard.open("/app/widget/order", theme=theme, orderId="T3JkZXI6MjA0OA==")
        frame.get_by_test_id("transfers").wait_for()
        saved.append(_shoot(dashboard, frame, folder, f"order-widget-{theme}", widget=True))
    for path in saved:
        assert path.read_bytes().startswith(b"\x89PNG"), path
