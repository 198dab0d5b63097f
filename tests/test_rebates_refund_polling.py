"""Rebate refunds whose webhook never came are read back from Stripe (the fake Stripe: localstripe + the stand-in) and
applied the way the webhook would: confirmed and paid, or failed and given as store credit — once, whichever of the
poll and the webhook comes first, and the shopper emailed once."""

import json
from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.utils import timezone

from saleor_loyalty.notifications.models import Notification, NotificationKind
from saleor_loyalty.rebates import payers, refund_polling
from saleor_loyalty.rebates.models import PartKind, PartState, PayoutState, RebatePayout, RebatePayoutPart
from saleor_loyalty.rebates.refund_polling import POLL_AFTER, poll_refunds
from saleor_loyalty.rebates.settlement import close_period
from saleor_loyalty.schedule import JOBS
from tests.stripe_helpers import connected, event_body, paid_intent, refunds_on
from tests.test_rebates_stripe import (
    NOVEMBER,
    NOVEMBER_CLOSED,
    RecordingStoreCredit,
    assert_reconciles,
    deliver,
    paid_order,
    refund_event,
    stripe_program,
)


@pytest.fixture
def store_credit(monkeypatch):
    payer = RecordingStoreCredit()
    monkeypatch.setitem(payers._payers, "store_credit", payer)
    return payer


@pytest.fixture
def stripe_store(install, stripe_api):
    account = connected(install)
    stripe_program(install)
    return account


@pytest.fixture
def sent(stripe_store, stripe_api, django_capture_on_commit_callbacks):
    """A 10.00 rebate refunded onto a 100.00 card payment; Stripe made the refund, no webhook came: ``sent``."""
    install = stripe_store.install
    intent = paid_intent(stripe_api.url, 10000, "eur")
    paid_order(install, "o-1", "100.00", (intent, "100.00", "0"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)
    [refund] = refunds_on(stripe_api.url, intent)
    part = RebatePayoutPart.objects.get()
    assert (RebatePayout.objects.get().state, part.state, part.reference) == (
        PayoutState.SENT,
        PartState.SENT,
        refund.id,
    )
    return refund


def later():
    return timezone.now() + POLL_AFTER + timedelta(seconds=1)


def rebate_emails():
    return [m for m in mail.outbox if "rebate" in m.subject.lower()]


def test_polling_runs_every_few_minutes_from_the_one_table_of_jobs():
    [job] = [job for job in JOBS if job.name == "poll-stripe-refunds"]
    assert (job.task, job.every, job.postgresql_only) == (
        "saleor_loyalty.rebates.tasks.poll_stripe_refunds",
        300.0,
        False,
    )


def test_a_refund_left_unconfirmed_is_read_back_confirmed_and_the_shopper_told_once(
    sent, stripe_store, django_capture_on_commit_callbacks
):
    assert poll_refunds() == {"polled": 0, "changed": 0, "unreadable": 0}  # too recent: the webhook may yet come

    with django_capture_on_commit_callbacks(execute=True):
        assert poll_refunds(later()) == {"polled": 1, "changed": 1, "unreadable": 0}

    payout = RebatePayout.objects.get()
    part = RebatePayoutPart.objects.get()
    assert (payout.state, payout.settled_amount, payout.reference) == (PayoutState.PAID, 1000, sent.id)
    assert (part.state, part.stripe_status) == (PartState.DONE, "succeeded")
    (message,) = rebate_emails()
    assert "10.00 EUR was refunded to the card you paid with" in message.body
    assert "store credit" not in message.body

    # Then the webhook arrives after all, and the poll runs again: nothing changes, nothing is sent again.
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(stripe_store, refund_event("refund.updated", sent)).status_code == 200
        assert poll_refunds(later())["polled"] == 0
    assert len(rebate_emails()) == 1
    assert Notification.objects.filter(kind=NotificationKind.REBATE_PAID).count() == 1
    assert_reconciles(stripe_store.install)


def test_a_refund_that_failed_without_a_webhook_is_given_as_store_credit_once(
    sent,
    stripe_api,
    store_credit,
    django_capture_on_commit_callbacks,
):
    requests.post(f"{stripe_api.url}/_config/standin/refunds/{sent.id}/fail", timeout=5).raise_for_status()

    with django_capture_on_commit_callbacks(execute=True):
        poll_refunds(later())
    with django_capture_on_commit_callbacks(execute=True):
        poll_refunds(later())

    failed, fallback = RebatePayoutPart.objects.order_by("pk")
    assert (failed.state, failed.stripe_status) == (PartState.FAILED, "failed")
    assert (fallback.kind, fallback.state, fallback.fallback_for_id) == (
        PartKind.STORE_CREDIT,
        PartState.DONE,
        failed.pk,
    )
    assert [request.key for request in store_credit.requests] == [fallback.idempotency_key]
    payout = RebatePayout.objects.get()
    assert (payout.state, payout.settled_amount) == (PayoutState.PAID, 1000)
    (message,) = rebate_emails()
    assert "10.00 EUR was added to your store credit" in message.body
    assert "refunded to the card" not in message.body


def test_a_webhook_that_arrives_while_the_poll_reads_stripe_wins_and_the_poll_changes_nothing(
    sent,
    stripe_store,
    stripe_api,
    store_credit,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """The poll reads "succeeded"; meanwhile the refund fails and its webhook is applied; then the poll applies its
    older read. Statuses only move forward: the refund stays failed, store credit is given once, the payout is
    settled once and the shopper told once."""
    read = refund_polling.retrieve_refund

    def read_then_the_webhook_overtakes(install, refund_id):
        found = read(install, refund_id)
        assert found["status"] == "succeeded"
        failed = requests.post(f"{stripe_api.url}/_config/standin/refunds/{refund_id}/fail", timeout=5).json()
        body = json.loads(event_body("refund.updated"))
        body["data"]["object"] = failed
        with django_capture_on_commit_callbacks(execute=True):
            assert deliver(stripe_store, json.dumps(body).encode()).status_code == 200
        return found

    monkeypatch.setattr(refund_polling, "retrieve_refund", read_then_the_webhook_overtakes)
    with django_capture_on_commit_callbacks(execute=True):
        assert poll_refunds(later()) == {"polled": 1, "changed": 0, "unreadable": 0}

    refund_part = RebatePayoutPart.objects.get(kind=PartKind.STRIPE_REFUND)
    assert (refund_part.state, refund_part.stripe_status) == (PartState.FAILED, "failed")
    assert len(store_credit.requests) == 1
    payout = RebatePayout.objects.get()
    assert (payout.state, payout.settled_amount) == (PayoutState.PAID, 1000)
    assert len(rebate_emails()) == 1
    assert_reconciles(stripe_store.install)


def test_a_webhook_confirming_first_leaves_the_poll_nothing_to_do(
    sent, stripe_store, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(stripe_store, refund_event("refund.updated", sent)).status_code == 200
    assert RebatePayout.objects.get().state == PayoutState.PAID

    with django_capture_on_commit_callbacks(execute=True):
        assert poll_refunds(later())["polled"] == 0

    assert len(rebate_emails()) == 1


def test_a_refund_still_pending_is_read_again_only_after_a_pause(sent, monkeypatch):
    monkeypatch.setattr(
        refund_polling, "retrieve_refund", lambda install, refund_id: {**sent.to_dict(), "status": "pending"}
    )

    first = later()
    assert poll_refunds(first)["polled"] == 1
    part = RebatePayoutPart.objects.get()
    assert part.state == PartState.SENT  # not confirmed: waits (a status never moves back to pending)
    assert poll_refunds(first + timedelta(minutes=5))["polled"] == 0  # looked at just now
    assert poll_refunds(first + POLL_AFTER)["polled"] == 1
    assert RebatePayout.objects.get().state == PayoutState.SENT
    assert rebate_emails() == []


def test_a_store_that_disconnected_stripe_is_skipped_and_tried_later(sent, stripe_store):
    stripe_store.delete()

    assert poll_refunds(later()) == {"polled": 0, "changed": 0, "unreadable": 1}
    assert RebatePayoutPart.objects.get().state == PartState.SENT
