"""The program's emails on the staff API: switch a kind off (it is then recorded, not sent), set the sender,
preview each kind with sample data."""

import pytest
from django.conf import settings
from django.core import mail

from saleor_loyalty.notifications.actions import notify
from saleor_loyalty.notifications.models import Notification, NotificationKind, NotificationStatus
from saleor_loyalty.program.enrolment import enrol_customer
from saleor_loyalty.program.models import SettingsChange
from tests.test_notifications import customer
from tests.test_staff_program_settings import error_codes, staff_call

pytestmark = pytest.mark.django_db

SETTINGS = "query { emailSettings { fromEmail fromName kinds { kind label enabled } } }"
UPDATE = """mutation($input: EmailSettingsInput!) { updateEmailSettings(input: $input) {
  settings { fromEmail fromName kinds { kind enabled } } errors { field code } } }"""
PREVIEW = "query($kind: NotificationKind!) { emailPreview(kind: $kind) { sender subject text html } }"


def token(store, *permissions: str) -> str:
    return str(store.saleor.app_token_for_dashboard(list(permissions or ("MANAGE_DISCOUNTS",)), email="m@shop.example"))


def test_every_kind_is_on_by_default_and_previews_with_sample_data(store):
    kinds = staff_call(SETTINGS, token(store))["data"]["emailSettings"]["kinds"]
    assert {k["kind"] for k in kinds} == {kind.name for kind in NotificationKind} and all(k["enabled"] for k in kinds)
    for kind in NotificationKind:
        shown = staff_call(PREVIEW, token(store), {"kind": kind.name})["data"]["emailPreview"]
        assert shown["subject"] and "Ada" in shown["text"] and "<html" in shown["html"].lower(), kind
        assert shown["sender"] == settings.DEFAULT_FROM_EMAIL  # no sender set: the deployment's


def test_a_kind_switched_off_is_recorded_not_sent_and_the_sender_is_the_merchants(
    store, django_capture_on_commit_callbacks
):
    payload = staff_call(
        UPDATE,
        token(store),
        {"input": {"disabledKinds": ["EARNED"], "fromEmail": "club@shop.example", "fromName": "Shop Club"}},
    )["data"]["updateEmailSettings"]
    assert payload["errors"] == [] and payload["settings"]["fromEmail"] == "club@shop.example"
    assert {k["kind"]: k["enabled"] for k in payload["settings"]["kinds"]}["EARNED"] is False

    member = enrol_customer(store.install, customer(), event="customer_updated")
    with django_capture_on_commit_callbacks(execute=True):
        notify(member, NotificationKind.EARNED, key="earned:1", context={"points": 10})
        notify(member, NotificationKind.TIER_UP, key="tier_up:1", context={"tier_name": "Gold"})

    assert Notification.objects.get(kind=NotificationKind.EARNED).status == NotificationStatus.SKIPPED_DISABLED
    [sent] = [m for m in mail.outbox if "Gold" in m.subject]
    assert sent.from_email == "Shop Club <club@shop.example>"
    # the preview shows the same sender (found inside the real Dashboard: it had no From line)
    shown = staff_call(PREVIEW, token(store), {"kind": "TIER_UP"})["data"]["emailPreview"]
    assert shown["sender"] == "Shop Club <club@shop.example>"
    assert SettingsChange.objects.get(subject="emails").after["disabled_kinds"] == ["earned"]


@pytest.mark.parametrize(("changes", "field"), [({"fromEmail": "not an email"}, "fromEmail"),
                                                ({"fromName": "Evil\r\nBcc: x@y"}, "fromName")])  # fmt: skip
def test_a_bad_sender_is_refused_with_its_field(store, changes, field):
    payload = staff_call(UPDATE, token(store), {"input": changes})["data"]["updateEmailSettings"]
    assert [e["field"] for e in payload["errors"]] == [field]
    assert not SettingsChange.objects.exists()


def test_emails_need_manage_discounts(store):
    assert error_codes(staff_call(SETTINGS, token(store, "MANAGE_USERS"))) == ["PERMISSION_DENIED"]
