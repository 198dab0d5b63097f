"""Shopper emails: sent once per decision, after commit, to shoppers who did not opt out."""

import threading
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.members.models import Member
from saleor_loyalty.notifications import outbox
from saleor_loyalty.notifications.actions import notify
from saleor_loyalty.notifications.models import EmailPreference, Notification, NotificationKind, NotificationStatus
from saleor_loyalty.notifications.outbox import send_emails
from saleor_loyalty.notifications.tasks import (
    MAX_ATTEMPTS,
    requeue_stuck_notifications,
    retry_delay,
    send_notification,
)
from saleor_loyalty.program.enrolment import enrol_customer
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.snapshots import CustomerSnapshot
from tests.factories import later, line, make_install, order

pytestmark = pytest.mark.django_db

USER = "VXNlcjox"  # the customer of factories.order()


def customer(
    email: str = "shopper@example.com",
    metadata: dict[str, str] | None = None,
    private_metadata: dict[str, str] | None = None,
    first_name: str = "Ada",
    is_active: bool = True,
) -> CustomerSnapshot:
    return CustomerSnapshot(
        user_id=USER,
        email=email,
        is_confirmed=True,
        is_active=is_active,
        first_name=first_name,
        metadata=metadata or {},
        private_metadata=private_metadata or {},
    )


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (sending) of what happens inside, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def statuses(kind: NotificationKind | None = None) -> list[str]:
    rows = Notification.objects.order_by("pk")
    return list((rows.filter(kind=kind) if kind else rows).values_list("status", flat=True))


def html_of(message: mail.EmailMessage) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    return str(content)


# Points earned


def test_earned_email_is_sent_once_per_increase(install, committed):
    snapshot = order()
    with committed():
        reconcile_order(install, snapshot)
        reconcile_order(install, snapshot)  # Saleor redelivers the same state
        reconcile_order(install, later(snapshot))  # a newer payload, same worth
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["shopper@example.com"]
    assert message.subject == f"You earned 100 points at {urlparse(install.saleor_api_url).hostname}"
    assert "It earned you 100 points." in message.body
    assert "become yours to spend on" in message.body  # pending through the return window
    notification = Notification.objects.get()
    assert notification.context["points"] == 100 and notification.context["balance"] == 0
    assert notification.context["pending_points"] == 100

    with committed():  # the order was edited and is now worth more
        reconcile_order(install, order(lines=(line(quantity=3),), version=5))
        reconcile_order(install, order(lines=(line(quantity=3),), version=6))
    assert len(mail.outbox) == 2
    assert "It earned you 200 points." in mail.outbox[1].body
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 2


def test_refunds_and_fraction_only_changes_send_nothing(install, committed):
    snapshot = order(lines=(line(unit="10.40"),))
    with committed():
        reconcile_order(install, snapshot)  # 10.4 points: 10 awarded
        reconcile_order(install, later(snapshot, status="CANCELED"))
        reconcile_order(install, order("other", lines=(line(unit="0.30"),)))  # 0.3: only a fraction
    assert len(mail.outbox) == 1
    assert statuses() == [NotificationStatus.SENT]


def test_earned_emails_of_a_drain_round_go_as_one_task(install, committed, monkeypatch):
    published: list[list[dict]] = []
    monkeypatch.setattr(send_emails, "delay", published.append)
    with outbox.batched():
        for number in range(3):
            with committed():
                reconcile_order(install, order(f"order-{number}"))
        assert published == []  # nothing in the orders' transactions, nothing before the round ends
    assert [[email["key"] for email in batch] for batch in published] == [[f"earned:order-{n}:1" for n in range(3)]]
    assert not Notification.objects.exists()
    send_emails(published[0])  # what the worker runs
    assert statuses(NotificationKind.EARNED) == [NotificationStatus.SENT] * 3
    assert len(mail.outbox) == 3
    send_emails(published[0])  # delivered twice: recorded and sent once
    assert len(mail.outbox) == 3


def test_earned_email_has_the_html_part_and_a_stable_message_id(install, committed):
    with committed():
        reconcile_order(install, order())
    (message,) = mail.outbox
    assert "<strong>100 points</strong>" in html_of(message)
    notification = Notification.objects.get()
    assert message.extra_headers["Message-ID"] == f"<loyalty-notification.{notification.pk}@testserver>"


# Welcome


def test_welcome_on_customer_created_only_and_once(install, committed):
    with committed():
        enrol_customer(install, customer(), event="customer_updated")
        enrol_customer(install, customer(), event="account_confirmed")
    assert mail.outbox == []

    with committed():
        enrol_customer(install, customer(), event="customer_created")
        enrol_customer(install, customer(), event="customer_created")  # redelivered
    (message,) = mail.outbox
    assert message.subject == f"Welcome to the {Notification.objects.get().context['shop_name']} loyalty program"
    assert message.body.startswith("Hi Ada,")
    assert statuses() == [NotificationStatus.SENT]


def test_no_welcome_for_an_inactive_customer(install, committed):
    with committed():
        enrol_customer(install, customer(is_active=False), event="customer_created")
    assert mail.outbox == []
    assert not Notification.objects.exists()


# Opt-out


@pytest.mark.parametrize(
    "metadata, private_metadata",
    [
        ({"loyalty_email_opt_out": "true"}, {}),
        ({"loyalty_email_opt_out": " YES "}, {}),
        ({}, {"loyalty_email_opt_out": "1"}),
    ],
)
def test_opted_out_customers_get_no_email_and_can_opt_back_in(install, committed, metadata, private_metadata):
    with committed():
        enrol_customer(install, customer(metadata=metadata, private_metadata=private_metadata))
        reconcile_order(install, order("order-1"))
    assert mail.outbox == []
    assert statuses() == [NotificationStatus.SKIPPED_OPT_OUT, NotificationStatus.SKIPPED_OPT_OUT]  # welcome, earned

    with committed():
        enrol_customer(install, customer(metadata={"loyalty_email_opt_out": "false"}), event="customer_updated")
        reconcile_order(install, order("order-2"))
    assert EmailPreference.objects.get().opted_out is False
    (message,) = mail.outbox  # the earned email; the welcome was decided once, when opted out
    assert message.subject.startswith("You earned 100 points")


def test_opting_out_after_the_email_was_queued_still_stops_it(install, committed):
    enrol_customer(install, customer(), event="customer_updated")
    with committed():
        reconcile_order(install, order())
        enrol_customer(install, customer(metadata={"loyalty_email_opt_out": "yes"}), event="customer_updated")
    assert mail.outbox == []
    assert statuses() == [NotificationStatus.SKIPPED_OPT_OUT]


def test_emails_go_to_the_customers_current_address(install, committed):
    # The points-earned email is recorded once its order's transaction commits (``notifications.outbox``), so the
    # address is the one current then: each order is its own transaction here, as each delivery is.
    with committed():
        reconcile_order(install, order("order-1", email="old@example.com"))
    with committed():
        enrol_customer(install, customer(email="new@example.com"), event="customer_updated")
        reconcile_order(install, order("order-2", email="new@example.com"))
    assert [m.to for m in mail.outbox] == [["old@example.com"], ["new@example.com"]]


# Who gets no email


def test_no_email_address_is_recorded_and_skipped(install, committed):
    with committed():
        reconcile_order(install, order(email=""))
    assert mail.outbox == []
    assert statuses() == [NotificationStatus.SKIPPED_NO_EMAIL]


def test_guests_get_no_email(install, committed):
    with committed():
        reconcile_order(install, order(user_id=None, email="guest@example.com"))
    assert mail.outbox == []
    assert statuses() == [NotificationStatus.SKIPPED_GUEST]


# notify, the API other features use


def test_notify_with_a_used_key_does_nothing(install, committed):
    member = enrol_customer(install, customer(), event="customer_updated")
    with committed():
        first = notify(member, NotificationKind.TIER_UP, key="tier_up:1", context={"tier_name": "Gold"})
        again = notify(member, NotificationKind.TIER_UP, key="tier_up:1", context={"tier_name": "Silver"})
    assert first is not None and again is None
    (message,) = mail.outbox
    assert message.subject == f"Welcome to Gold at {first.context['shop_name']}!"


def test_keys_are_unique_per_install_only(committed):
    members = [enrol_customer(make_install(), customer(), event="customer_updated") for _ in range(2)]
    with committed():
        for member in members:
            assert notify(member, NotificationKind.WELCOME, key="welcome:same") is not None
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    "kind, context, subject, body",
    [
        (NotificationKind.EARNED, {"points": 1, "order_number": "7"}, "You earned 1 point at", "order #7"),
        (
            NotificationKind.EXPIRY_REMINDER,
            {"points": 40, "expires_at": "2026-12-24T00:00:00+00:00"},
            "40 points at",
            "on December 24, 2026",
        ),
        (NotificationKind.TIER_UP, {"tier_name": "Gold", "previous_tier_name": "Silver"}, "Gold", "from Silver"),
        (NotificationKind.TIER_DOWN, {"tier_name": "Silver", "previous_tier_name": "Gold"}, "Silver", "from Gold"),
        (NotificationKind.REFERRAL_REWARD, {"points": 500, "friend_name": "Bob"}, "500 points", "Bob joined"),
        (NotificationKind.WELCOME, {}, "Welcome", "Welcome!"),
        (
            NotificationKind.REBATE_PAID,
            {
                "amount": "14.00",
                "currency": "USD",
                "period": "2026-11",
                "store_credit": "14.00",
                "store_credit_last4": "AB12",
                "card_refund": "",
                "voucher_code": "",
            },
            "14.00 USD",
            "gift card ending AB12",
        ),
    ],
)
def test_every_kind_renders_text_and_html(install, committed, kind, context, subject, body):
    member = enrol_customer(install, customer(first_name="Tom & Jerry"), event="customer_updated")
    with committed():
        notify(member, kind, key=f"test:{kind}", context=context)
    (message,) = mail.outbox
    text, html = str(message.body), html_of(message)
    assert subject in message.subject and "\n" not in message.subject
    assert body in text and body.split()[-1] in html
    assert "Hi Tom & Jerry," in text  # text is not HTML-escaped
    assert "Hi Tom &amp; Jerry," in html
    assert "{{" not in text + html and "{%" not in text + html


def test_a_merchant_template_directory_wins(install, committed, settings, tmp_path):
    emails = tmp_path / "loyalty" / "emails"
    emails.mkdir(parents=True)
    (emails / "welcome.subject.txt").write_text("Hello from the merchant, {{ first_name }}\n")
    (emails / "base.html").write_text("<html><body>Merchant layout {% block content %}{% endblock %}</body></html>")
    settings.LOYALTY_EMAIL_TEMPLATE_DIRS = [str(tmp_path)]
    with committed():
        enrol_customer(install, customer(), event="customer_created")
    (message,) = mail.outbox
    assert message.subject == "Hello from the merchant, Ada"
    assert html_of(message).startswith("<html><body>Merchant layout")  # the built-in welcome.html
    assert "You're now a member" in message.body  # not overridden: the built-in text


# Sending exactly once


def test_running_the_task_twice_sends_once(install):
    member = enrol_customer(install, customer(), event="customer_updated")
    notification = notify(member, NotificationKind.WELCOME, key="welcome:x")  # not committed: not sent yet
    assert notification is not None and mail.outbox == []
    assert send_notification(notification.pk) == NotificationStatus.SENT
    assert send_notification.delay(notification.pk).get() == NotificationStatus.SENT
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)
    assert notification.sent_at is not None


class FailingBackend(EmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("smtp down")


def test_failures_are_retried_then_given_up(install, settings):
    settings.EMAIL_BACKEND = "tests.test_notifications.FailingBackend"
    member = enrol_customer(install, customer(), event="customer_updated")
    notification = notify(member, NotificationKind.WELCOME, key="welcome:x")
    assert notification is not None
    for attempt in range(1, MAX_ATTEMPTS):  # as a worker runs it, once per retry
        with pytest.raises(Retry):
            send_notification(notification.pk)
        notification.refresh_from_db()
        assert (notification.status, notification.attempts) == (NotificationStatus.QUEUED, attempt)
    assert send_notification(notification.pk) == NotificationStatus.FAILED
    assert send_notification(notification.pk) == NotificationStatus.FAILED  # given up: no more attempts
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, MAX_ATTEMPTS)
    assert notification.error == "ConnectionRefusedError: smtp down"
    assert mail.outbox == []
    assert [retry_delay(n) for n in range(1, MAX_ATTEMPTS)] == [60, 240, 960, 3840]


def test_stuck_queued_notifications_are_requeued(install):
    member = enrol_customer(install, customer(), event="customer_updated")
    notification = notify(member, NotificationKind.WELCOME, key="welcome:x")  # its on-commit send never ran
    assert notification is not None
    assert requeue_stuck_notifications() == 0  # too recent: may still be on its way
    Notification.objects.update(updated_at=timezone.now() - timedelta(hours=3))
    assert requeue_stuck_notifications() == 1
    assert len(mail.outbox) == 1
    assert requeue_stuck_notifications() == 0


# Real transactions


@pytest.mark.django_db(transaction=True)
def test_rolled_back_transaction_sends_nothing():
    install = make_install()
    with pytest.raises(RuntimeError), transaction.atomic():
        reconcile_order(install, order())
        raise RuntimeError("something after the order failed")
    assert mail.outbox == []
    assert not Notification.objects.exists()

    reconcile_order(install, order())  # committed for real (autocommit + on_commit): sent
    assert len(mail.outbox) == 1


class GateBackend(EmailBackend):
    entered = threading.Event()
    release = threading.Event()

    def send_messages(self, email_messages):
        GateBackend.entered.set()
        GateBackend.release.wait(5)
        return super().send_messages(email_messages)


@pytest.mark.django_db(transaction=True)
def test_concurrent_task_runs_send_once(settings):
    install = make_install()
    member = Member.objects.create(install=install, saleor_user_id=USER, email="shopper@example.com")
    notification = Notification.objects.create(
        install=install, member=member, kind=NotificationKind.WELCOME, key="welcome:x", to_email=member.email
    )
    settings.EMAIL_BACKEND = "tests.test_notifications.GateBackend"
    GateBackend.entered.clear()
    GateBackend.release.clear()

    results: list[str] = []

    def run() -> None:
        try:
            results.append(send_notification(notification.pk))
        finally:
            connection.close()

    first = threading.Thread(target=run)
    first.start()
    assert GateBackend.entered.wait(5)  # the first run holds the row lock, mid-send
    second = threading.Thread(target=run)
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for the lock
    GateBackend.release.set()
    first.join(5)
    second.join(5)
    assert sorted(results) == [NotificationStatus.SENT, NotificationStatus.SENT]
    assert len(mail.outbox) == 1
    assert Notification.objects.get().attempts == 1
