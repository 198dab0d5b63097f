"""Rebates paid through Stripe, against the fake Stripe (localstripe + the stand-in) with real signatures: a refund of
the order's PaymentIntent, made once whatever fails on the way, confirmed by Stripe's signed webhooks, and store
credit where no refund can go (nothing paid by Stripe, a refusal, a refund that failed later).
"""

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from django.test import Client

from saleor_loyalty.ledger.queries import integrity_problems
from saleor_loyalty.members.models import Member
from saleor_loyalty.payments.events import handlers_for
from saleor_loyalty.payments.models import StripeEvent
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.snapshots import PaymentSnapshot
from saleor_loyalty.rebates import payers
from saleor_loyalty.rebates.models import (
    PartKind,
    PartState,
    PayoutState,
    RebateOrder,
    RebatePayout,
    RebatePayoutPart,
    RebatePeriod,
)
from saleor_loyalty.rebates.payers import PayoutFailed, PayoutRequest
from saleor_loyalty.rebates.queries import ledger_problems, rebate_audit, rebate_statement
from saleor_loyalty.rebates.settlement import close_period, settle_rebates
from saleor_loyalty.rebates.stripe_payout import StripePayer, finish_waiting, record_payout_outcome
from saleor_loyalty.saleor.documents import subscription
from saleor_loyalty.webhooks.payloads import order_snapshot
from tests.factories import line, make_install, order, rebate_program
from tests.saleor_harness import build_webhook_body, event
from tests.saleor_harness import fixtures as saleor
from tests.stripe_helpers import WEBHOOK_SECRET, connected, event_body, paid_intent, refunds_on, signature

NOVEMBER = "2026-11"
NOVEMBER_CLOSED = datetime(2027, 1, 1, tzinfo=UTC)
TEN_PERCENT = [{"threshold": "0", "rate": "10"}]


class RecordingStoreCredit:
    """A store credit payer that records each request (the real one is built elsewhere); ``fail`` refuses."""

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[PayoutRequest] = []
        self.fail = fail

    def pay(self, request: PayoutRequest) -> str:
        self.requests.append(request)
        if self.fail:
            raise PayoutFailed("gift cards are off")
        return f"gift-{len(self.requests)}"


@pytest.fixture
def store_credit(monkeypatch):
    payer = RecordingStoreCredit()
    monkeypatch.setitem(payers._payers, "store_credit", payer)
    return payer


@pytest.fixture
def no_store_credit(monkeypatch):
    monkeypatch.delitem(payers._payers, "store_credit", raising=False)


def stripe_program(install, **fields):
    return rebate_program(install, currency="EUR", payout_method="stripe", bands=TEN_PERCENT, **fields)


def paid_order(install, order_id, unit, *payments):
    """An order of ``unit`` EUR, paid by ``payments`` ((PaymentIntent id, charged, Saleor-refunded) each)."""
    snapshot = replace(
        order(order_id, lines=(line(unit=unit),), currency="EUR"),
        payments=tuple(
            PaymentSnapshot(pi, "Stripe", "saleor.app.payment.stripe", "EUR", Decimal(charged), Decimal(refunded))
            for pi, charged, refunded in payments
        ),
    )
    reconcile_order(install, snapshot)
    return snapshot


def deliver(account, body: bytes, header: str | None = None):
    return Client().post(
        f"/stripe/webhooks/{account.webhook_token}/",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": header or signature(body)},
    )


def refund_event(event_type, refund) -> bytes:
    """A signed-to-be ``refund.*`` event for a refund object as the fake Stripe holds it."""
    body = json.loads(event_body(event_type))
    body["data"]["object"] = refund.to_dict()
    return json.dumps(body).encode()


def assert_reconciles(install):
    assert integrity_problems(install.pk) == []
    assert ledger_problems(install, "EUR") == []
    assert all(audit.problems == () for audit in rebate_audit(install, NOVEMBER))


def _wait_for(condition, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


# -- capturing the payment -------------------------------------------------------------------------------------


def test_the_order_webhook_carries_the_stripe_payment_and_the_rebate_order_keeps_it(install):

    stripe_payment = saleor.transaction("pi_3Qexample", 120.0, currency="EUR", refunded=20.0, refund_pending=5.0)
    other = saleor.transaction("", 10.0, currency="EUR", app_identifier=None, name="Cash")
    body = build_webhook_body(
        subscription("order_events"),
        event("OrderFullyPaid", order=saleor.order(currency="EUR", transactions=[stripe_payment, other])),
    )
    snapshot = order_snapshot(json.loads(body))

    assert snapshot.payments == (
        PaymentSnapshot(
            "pi_3Qexample", "Stripe", "saleor.app.payment.stripe", "EUR", Decimal("120.00"), Decimal("25.00")
        ),
    )
    stripe_program(install)
    reconcile_order(install, replace(snapshot, payment_vouched=True))
    assert RebateOrder.objects.get().payments == [
        {"psp_reference": "pi_3Qexample", "name": "Stripe", "app": "saleor.app.payment.stripe",
         "charged": 12000, "refunded": 2500},
    ]  # fmt: skip


def test_a_payload_without_transactions_or_with_odd_ones_still_earns():

    body = build_webhook_body(subscription("order_events"), event("OrderFullyPaid", order=saleor.order()))
    data = json.loads(body)
    del data["order"]["transactions"]
    assert order_snapshot(data).payments == ()
    data["order"]["transactions"] = [
        None,
        {"pspReference": 7},
        {"pspReference": "pi_1", "chargedAmount": "x"},
        {"pspReference": "pi_2", "chargedAmount": {"amount": 5, "currency": "EUR"}},
    ]
    assert order_snapshot(data).payments == ()  # another currency than the order's (USD) is left out too


# -- the whole way, with localstripe's own signed webhooks -----------------------------------------------------


def test_a_stripe_payout_is_refunded_once_and_paid_when_stripe_confirms_it(stripe_api, live_server, transactional_db):
    install = make_install()
    account = connected(install)
    stripe_program(install)
    intent = paid_intent(stripe_api.url, 50000, "eur")
    paid_order(install, "o-1", "500.00", (intent, "500.00", "0"))  # 10 %: 50.00
    name = f"rebates-{account.webhook_token[:8]}"
    stripe_api.send_webhooks_to(
        name, f"{live_server.url}/stripe/webhooks/{account.webhook_token}/", WEBHOOK_SECRET, events=["charge.refunded"]
    )
    try:
        closed = close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)
        payout = RebatePayout.objects.get()
        [refund] = refunds_on(stripe_api.url, intent)
        assert (refund.amount, refund.status, closed.payouts) == (5000, "succeeded", [payout.pk])
        assert refund.metadata["rebate_payout"] == str(payout.pk)
        assert _wait_for(lambda: RebatePayout.objects.get().state == PayoutState.PAID)
    finally:
        stripe_api.stop_webhooks(name)
    payout.refresh_from_db()
    assert (payout.method, payout.reference, payout.settled_amount) == ("stripe", refund.id, 5000)
    [part] = payout.parts.all()
    assert (part.kind, part.state, part.stripe_status, part.reference) == (
        "stripe_refund",
        "done",
        "succeeded",
        refund.id,
    )
    assert StripeEvent.objects.filter(type="charge.refunded", processed_at__isnull=False).exists()
    settle_rebates(now=NOVEMBER_CLOSED)  # later runs send nothing more
    assert len(refunds_on(stripe_api.url, intent)) == 1
    period = RebatePeriod.objects.get()
    assert (period.payable, period.paid) == (0, 5000)
    assert_reconciles(install)

    [statement] = rebate_statement(Member.objects.get(), NOVEMBER)
    [shown] = statement.payouts
    assert (shown.method, shown.state, shown.stripe_refunds) == ("stripe", "paid", ((refund.id, "succeeded"),))
    assert statement.paid == Decimal("50.00")


def test_a_refund_that_fails_later_falls_back_to_store_credit_once(
    stripe_api, live_server, transactional_db, store_credit
):
    install = make_install()
    account = connected(install)
    stripe_program(install)
    intent = paid_intent(stripe_api.url, 20000, "eur")
    paid_order(install, "o-1", "200.00", (intent, "200.00", "0"))  # 20.00
    name = f"rebates-{account.webhook_token[:8]}"
    stripe_api.send_webhooks_to(
        name,
        f"{live_server.url}/stripe/webhooks/{account.webhook_token}/",
        WEBHOOK_SECRET,
        events=["charge.refunded", "refund.updated", "refund.failed"],
    )
    try:
        close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)
        assert _wait_for(lambda: RebatePayout.objects.get().state == PayoutState.PAID)
        [refund] = refunds_on(stripe_api.url, intent)
        requests.post(f"{stripe_api.url}/_config/standin/refunds/{refund.id}/fail", timeout=5).raise_for_status()
        assert _wait_for(lambda: StripeEvent.objects.filter(type="refund.failed", processed_at__isnull=False).exists())
        assert _wait_for(lambda: StripeEvent.objects.filter(type="refund.updated", processed_at__isnull=False).exists())
    finally:
        stripe_api.stop_webhooks(name)
    assert [(r.key, r.amount, r.method) for r in store_credit.requests] == [
        (f"{RebatePayout.objects.get().idempotency_key}:credit:{intent}", Decimal("20.00"), "store_credit")
    ]
    failed, fallback = RebatePayoutPart.objects.order_by("pk")
    assert (failed.state, failed.stripe_status, fallback.fallback_for_id) == ("failed", "failed", failed.pk)
    assert (fallback.kind, fallback.state, fallback.reference) == ("store_credit", "done", "gift-1")
    finish_waiting()
    settle_rebates(now=NOVEMBER_CLOSED)
    assert len(store_credit.requests) == 1 and len(refunds_on(stripe_api.url, intent)) == 1
    [shown] = rebate_statement(Member.objects.get(), NOVEMBER)[0].payouts
    assert [(p.kind, p.state, p.instead_of) for p in shown.parts] == [
        ("stripe_refund", "failed", ""), ("store_credit", "done", refund.id),
    ]  # fmt: skip
    assert_reconciles(install)


# -- faults, retries, duplicates (webhooks posted to the endpoint, signed with the endpoint's secret) ------------


@pytest.fixture
def stripe_store(install, stripe_api):
    account = connected(install)
    stripe_program(install)
    return account


def test_a_timeout_on_the_refund_then_a_retry_makes_one_refund(stripe_store, stripe_api, settings):
    install = stripe_store.install
    settings.STRIPE_READ_TIMEOUT = 1.0
    intent = paid_intent(stripe_api.url, 30000, "eur")
    paid_order(install, "o-1", "300.00", (intent, "300.00", "0"))  # 30.00
    stripe_api.fault("POST", "/v1/refunds", "hang_after", seconds=3)

    closed = close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)

    payout = RebatePayout.objects.get()
    assert (closed.paid, closed.failed, payout.state) == (0, 0, PayoutState.CREATED)  # unknown: not failed
    [made] = refunds_on(stripe_api.url, intent)  # Stripe did it; the app did not hear
    assert payout.parts.get().state == PartState.PLANNED
    time.sleep(2.5)  # the fake's hang ends

    assert settle_rebates(now=NOVEMBER_CLOSED)["sent"] == 1  # the same part, the same key: found, not made again
    assert [r.id for r in refunds_on(stripe_api.url, intent)] == [made.id]
    payout.refresh_from_db()
    assert (payout.state, payout.reference) == (PayoutState.SENT, made.id)
    posted = [
        r["idempotency_key"]
        for r in stripe_api.requests()
        if (r["method"], r["path"]) == ("POST", "/v1/refunds") and (r["idempotency_key"] or "").endswith(intent)
    ]
    assert posted == [f"saleor-loyalty:{install.pk}:{payout.idempotency_key}:refund:{intent}"]  # never re-posted

    # Stripe's charge.refunded as API versions since 2022 send it: no refunds in the charge; read back from Stripe.
    body = event_body("charge.refunded", payment_intent=intent, amount=30000, amount_refunded=3000)
    assert deliver(stripe_store, body).status_code == 200
    payout.refresh_from_db()
    assert (payout.state, payout.settled_amount) == (PayoutState.PAID, 3000)
    assert_reconciles(install)


def test_duplicate_and_repeated_webhooks_change_nothing(
    stripe_store, stripe_api, store_credit, django_capture_on_commit_callbacks
):
    install = stripe_store.install
    intent = paid_intent(stripe_api.url, 10000, "eur")
    paid_order(install, "o-1", "100.00", (intent, "100.00", "0"))  # 10.00
    close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)
    [refund] = refunds_on(stripe_api.url, intent)
    succeeded = refund_event("refund.updated", refund)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(stripe_store, succeeded).json() == {"received": True, "duplicate": False}
        assert deliver(stripe_store, succeeded).json() == {"received": True, "duplicate": True}
    assert RebatePayout.objects.get().state == PayoutState.PAID

    failed_refund = requests.post(f"{stripe_api.url}/_config/standin/refunds/{refund.id}/fail", timeout=5).json()
    failed = json.loads(event_body("refund.updated"))
    failed["data"]["object"] = failed_refund
    failed_body = json.dumps(failed).encode()
    also_failed = json.loads(event_body("refund.failed"))
    also_failed["data"]["object"] = failed_refund
    stale = refund_event("refund.updated", refund)  # an older "succeeded", delivered late
    with django_capture_on_commit_callbacks(execute=True):
        for body in (failed_body, failed_body, json.dumps(also_failed).encode(), stale):
            assert deliver(stripe_store, body).status_code == 200

    assert len(store_credit.requests) == 1
    assert RebatePayoutPart.objects.filter(kind=PartKind.STORE_CREDIT).count() == 1
    assert RebatePayoutPart.objects.get(kind=PartKind.STRIPE_REFUND).state == PartState.FAILED
    payout = RebatePayout.objects.get()
    assert (payout.state, payout.settled_amount) == (PayoutState.PAID, 1000)
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert_reconciles(install)


def test_a_payout_beyond_what_stripe_can_refund_is_split_largest_first_and_the_rest_is_store_credit(
    stripe_store, stripe_api, store_credit, django_capture_on_commit_callbacks
):
    install = stripe_store.install
    small = paid_intent(stripe_api.url, 3000, "eur")  # 30.00 of a 500.00 order by card, the rest by gift card
    large = paid_intent(stripe_api.url, 4000, "eur")  # 40.00 of a 300.00 order, 5.00 of it refunded in Saleor
    paid_order(install, "o-a", "500.00", (small, "30.00", "0"))
    paid_order(install, "o-b", "300.00", (large, "40.00", "5.00"))  # 10 % of 800.00: 80.00

    close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)

    parts = [(p.kind, p.order_id, p.payment_intent, p.amount, p.state) for p in RebatePayoutPart.objects.order_by("pk")]
    assert parts == [
        ("stripe_refund", "o-b", large, 3500, "sent"),  # 40.00 − 5.00 refunded by Saleor
        ("stripe_refund", "o-a", small, 3000, "sent"),
        ("store_credit", "", "", 1500, "done"),
    ]
    assert [r.amount for r in refunds_on(stripe_api.url, large)] == [3500]
    assert [r.amount for r in refunds_on(stripe_api.url, small)] == [3000]
    assert [(r.amount, r.key.endswith(":credit:rest")) for r in store_credit.requests] == [(Decimal("15.00"), True)]
    assert RebatePayout.objects.get().state == PayoutState.SENT  # until Stripe confirms both refunds
    with django_capture_on_commit_callbacks(execute=True):
        for intent in (large, small):
            [refund] = refunds_on(stripe_api.url, intent)
            deliver(stripe_store, refund_event("refund.updated", refund))
    payout = RebatePayout.objects.get()
    assert (payout.state, payout.settled_amount) == (PayoutState.PAID, 8000)
    assert_reconciles(install)


def test_a_later_payout_refunds_only_what_earlier_rebates_left_on_the_payment(stripe_store, stripe_api, store_credit):
    install = stripe_store.install
    intent = paid_intent(stripe_api.url, 10000, "eur")
    paid_order(install, "o-1", "100.00", (intent, "100.00", "95.00"))  # 5.00 left on the card
    close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)  # 10.00: 5.00 refunded, 5.00 store credit
    assert [r.amount for r in refunds_on(stripe_api.url, intent)] == [500]
    assert [r.amount for r in store_credit.requests] == [Decimal("5.00")]


def test_an_order_paid_otherwise_is_paid_as_store_credit_recorded_as_such(stripe_store, store_credit):
    install = stripe_store.install
    paid_order(install, "o-1", "100.00")  # no Stripe payment at all

    closed = close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)

    payout = RebatePayout.objects.get()
    assert (closed.paid, payout.state, payout.method, payout.reference) == (1, "paid", "store_credit", "gift-1")
    assert [(r.key, r.amount, r.method) for r in store_credit.requests] == [
        (payout.idempotency_key, Decimal("10.00"), "store_credit")
    ]
    assert not payout.parts.exists()


def test_a_store_without_stripe_and_without_store_credit_waits(install, no_store_credit):
    stripe_program(install)  # no Stripe account connected
    paid_order(install, "o-1", "100.00", ("pi_3Qnotours", "100.00", "0"))

    closed = close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)

    payout = RebatePayout.objects.get()
    assert (closed.paid, closed.failed, payout.state, payout.method) == (0, 0, "created", "store_credit")
    credit = RecordingStoreCredit()
    payers.register_payer("store_credit", credit)
    try:
        assert settle_rebates(now=NOVEMBER_CLOSED)["paid"] == 1
    finally:
        payers._payers.pop("store_credit", None)
    assert [r.amount for r in credit.requests] == [Decimal("10.00")]


def test_refused_by_stripe_for_every_order_fails_the_payout_without_store_credit(
    stripe_store, stripe_api, no_store_credit
):
    install = stripe_store.install
    paid_order(install, "o-1", "100.00", ("pi_3Qunknownatstripe", "100.00", "0"))

    closed = close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)

    payout = RebatePayout.objects.get()
    assert (closed.failed, payout.state) == (1, PayoutState.FAILED)
    assert "refused every refund" in payout.failure
    parts = RebatePayoutPart.objects.order_by("pk")
    assert [(p.kind, p.state, p.stripe_status) for p in parts] == [
        ("stripe_refund", "failed", "refused"), ("store_credit", "failed", ""),
    ]  # fmt: skip
    period = RebatePeriod.objects.get()
    assert (period.payable, period.paid) == (1000, 0)  # payable again
    assert_reconciles(install)


def test_refused_by_stripe_falls_back_to_store_credit_when_there_is_one(stripe_store, stripe_api, store_credit):
    install = stripe_store.install
    paid_order(install, "o-1", "100.00", ("pi_3Qunknownatstripe", "100.00", "0"))

    close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)

    payout = RebatePayout.objects.get()
    assert (payout.state, payout.settled_amount, payout.reference) == (PayoutState.PAID, 1000, "gift-1")
    refused, credit = RebatePayoutPart.objects.order_by("pk")
    assert (refused.stripe_status, credit.fallback_for_id, credit.state) == ("refused", refused.pk, "done")
    assert len(store_credit.requests) == 1


def test_store_credit_that_fails_too_pays_the_payout_in_part_and_the_rest_is_payable_again(
    stripe_store, stripe_api, monkeypatch
):
    install = stripe_store.install
    monkeypatch.setitem(payers._payers, "store_credit", RecordingStoreCredit(fail=True))
    intent = paid_intent(stripe_api.url, 1000, "eur")
    paid_order(install, "o-1", "100.00", (intent, "10.00", "0"))  # 10.00 of it by card
    paid_order(install, "o-2", "100.00")  # paid otherwise: 20.00 in all, 10.00 refunded, 10.00 store credit

    close_period(install, NOVEMBER, now=NOVEMBER_CLOSED)
    [refund] = refunds_on(stripe_api.url, intent)
    deliver(stripe_store, refund_event("refund.updated", refund))

    payout = RebatePayout.objects.get()
    assert (payout.state, payout.amount, payout.settled_amount) == (PayoutState.PAID, 2000, 1000)
    period = RebatePeriod.objects.get()
    assert (period.paid, period.payable) == (1000, 1000)
    assert_reconciles(install)


def test_the_handlers_are_registered_for_stripes_refund_events():
    for event_type in ("charge.refunded", "refund.updated", "refund.failed", "charge.refund.updated"):
        assert record_payout_outcome in handlers_for(event_type)
    assert isinstance(payers.payer_for("stripe"), StripePayer)
