"""Paid memberships on the fake Stripe: the shopper's Checkout, then Stripe's own events (made by localstripe and the
stand-in, delivered with real signatures of the store's endpoint secret) grant, keep and remove the tier, and each
paid period's free-shipping voucher is made in the contract harness once.
"""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import stripe
from django.test import Client
from django.utils import timezone

from saleor_loyalty.api.core.ids import global_id
from saleor_loyalty.memberships.configuration import set_paid_plan, set_return_origins
from saleor_loyalty.memberships.models import BenefitStatus, Membership, MembershipBenefit, MembershipStatus
from saleor_loyalty.memberships.state import end_lapsed
from saleor_loyalty.payments.models import StripeEvent
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.tiers.configuration import configure_tiers, pin_tier, set_tier
from saleor_loyalty.tiers.models import ChangeReason, MemberTier, TierChange
from saleor_loyalty.tiers.tasks import review_tiers
from tests.factories import line, order
from tests.storefront import gql
from tests.stripe_helpers import SECRET_KEY, connected, signature

pytestmark = pytest.mark.django_db
CHANNEL = "Q2hhbm5lbDox"  # the fake store's default-channel
SHOP = "https://shop.example.com"

START = """
mutation Start($plan: ID!, $success: String!, $cancel: String!, $key: String) {
  startPaidMembership(plan: $plan, successUrl: $success, cancelUrl: $cancel, idempotencyKey: $key) {
    url sessionId errors { field code message }
  }
}
"""
MINE = """
{ myMembership { status tierHeld graceUntil accessEndsAt plan { name tier } benefits { kind code } }
  myTier { current { name paid } } }
"""


class Paid:
    """A store selling "VIP monthly" (the VIP tier, 9.99 USD a month, a free-shipping voucher per period) on the
    fake Stripe, and what its shopper did there."""

    def __init__(self, store, stripe_api):
        self.store, self.server = store, stripe_api
        self.account = connected(store.install)
        self.stripe = stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_api.url}, max_network_retries=0)
        configure_tiers(store.install, basis="spend", window_kind="rolling", window_days=365, grace_days=30)
        set_tier(store.install, name="Silver", rank=2, thresholds={"USD": "100"})
        self.vip = set_tier(store.install, name="VIP", rank=3, thresholds={"USD": "100000"}, perks=["Free shipping"])
        product = self.stripe.v1.products.create(params={"name": "VIP"})
        price = self.stripe.v1.plans.create(
            params={"amount": 999, "currency": "usd", "interval": "month", "product": product.id}
        )  # localstripe has no Prices: its plan id stands in for one
        self.plan = set_paid_plan(
            store.install,
            name="VIP monthly",
            tier_name="VIP",
            amount="9.99",
            currency="USD",
            interval="month",
            stripe_price_id=price.id,
            grace_days=7,
            benefits=[{"kind": "free_shipping", "channel_id": CHANNEL}],
        )
        set_return_origins(store.install, [SHOP])
        self.delivered: set[str] = set()
        self.metadata: list = []
        store.saleor.resolvers["updatePrivateMetadata"] = self._metadata

    def _metadata(self, call, id, input):
        self.metadata.append((id, input))
        return {"item": {"__typename": "User"}, "errors": []}

    def start(self, token=None, **variables):
        values = {"plan": global_id("PaidPlan", self.plan.pk), "success": f"{SHOP}/vip/thanks", "cancel": f"{SHOP}/vip"}
        result = gql(START, {**values, **variables}, token=token or self.store.token())
        assert "errors" not in result, result
        return result["data"]["startPaidMembership"]

    def complete(self, session_id, **data):
        answer = requests.post(f"{self.server.url}/_config/standin/checkout/sessions/{session_id}/complete", data=data)
        answer.raise_for_status()
        return answer.json()

    def renew(self, subscription_id, fail=False):
        path = f"/_config/standin/subscriptions/{subscription_id}/renew"
        requests.post(f"{self.server.url}{path}", data={"fail": "true" if fail else "false"}).raise_for_status()

    def pay(self, subscription_id):
        requests.post(f"{self.server.url}/_config/standin/subscriptions/{subscription_id}/pay").raise_for_status()

    def events(self, customer):
        """Every event the fake Stripe made about this customer, oldest first (not yet delivered ones only)."""
        found, after = [], None
        while True:
            params = {"limit": "100", **({"starting_after": after} if after else {})}
            page = requests.get(f"{self.server.url}/v1/events", params=params, auth=(SECRET_KEY, "")).json()
            found += page["data"]
            if not page["has_more"]:
                break
            after = page["data"][-1]["id"]
        mine = [e for e in found if (e["data"]["object"].get("customer") == customer) and e["id"] not in self.delivered]
        return sorted(mine, key=lambda e: e["created"])

    def deliver(self, event, capture):
        """POST the event as Stripe does: the exact body, signed with the endpoint's secret."""
        body = json.dumps(event).encode()
        with capture(execute=True):
            answer = Client().post(
                f"/stripe/webhooks/{self.account.webhook_token}/",
                data=body,
                content_type="application/json",
                headers={"Stripe-Signature": signature(body)},
            )
        assert answer.status_code == 200, answer.content
        self.delivered.add(event["id"])
        stored = StripeEvent.objects.get(event_id=event["id"])
        assert stored.processed_at is not None and not stored.last_error, stored.last_error
        return answer.json()

    def deliver_new(self, customer, capture, types=None):
        events = [e for e in self.events(customer) if types is None or e["type"] in types]
        for event in events:
            self.deliver(event, capture)
        return events

    def membership(self):
        return Membership.objects.get(install=self.store.install)

    def tier(self):
        state = MemberTier.objects.filter(member=self.store.member()).select_related("tier").first()
        return state.tier.name if state and state.tier else None


@pytest.fixture
def paid(store, stripe_api):
    return Paid(store, stripe_api)


def subscribe(paid, capture):
    started = paid.start()
    assert started["errors"] == [], started
    session = paid.complete(started["sessionId"])
    events = paid.deliver_new(session["customer"], capture)
    return session, events


def test_checkout_then_the_completed_webhook_grants_the_tier_and_one_voucher(paid, django_capture_on_commit_callbacks):
    started = paid.start(key="k1")
    assert started["errors"] == [] and started["url"].endswith(started["sessionId"])
    session = requests.get(
        f"{paid.server.url}/v1/checkout/sessions/{started['sessionId']}", auth=(SECRET_KEY, "")
    ).json()
    member = paid.store.member()
    assert (session["mode"], session["client_reference_id"]) == (
        "subscription",
        f"loyalty-{paid.store.install.pk}-{member.pk}",
    )
    assert session["metadata"] == {
        "saleor_loyalty_install": str(paid.store.install.pk),
        "saleor_loyalty_member": str(member.pk),
        "saleor_loyalty_plan": str(paid.plan.pk),
    }
    creates = [r for r in paid.server.requests() if r["path"] == "/v1/checkout/sessions"]
    assert creates[-1]["idempotency_key"].endswith(f"membership-checkout:{member.pk}:{paid.plan.pk}:k1")
    assert paid.tier() is None  # nothing before Stripe says it is paid

    done = paid.complete(started["sessionId"])
    types = [e["type"] for e in paid.deliver_new(done["customer"], django_capture_on_commit_callbacks)]

    assert "checkout.session.completed" in types
    membership = paid.membership()
    assert (membership.status, membership.tier_held, membership.subscription_id) == (
        MembershipStatus.ACTIVE, True, done["subscription"],
    )  # fmt: skip
    assert paid.tier() == "VIP"
    change = TierChange.objects.get(member=member)
    assert (change.reason, change.to_tier_id, change.is_upgrade) == (ChangeReason.PAID, paid.vip.pk, True)
    [benefit] = MembershipBenefit.objects.all()
    assert benefit.status == BenefitStatus.ISSUED
    voucher = paid.store.shop.voucher_by_code(benefit.code)
    assert voucher["input"]["type"] == "SHIPPING" and voucher["input"]["singleUse"] is True
    assert voucher["channels"] == {"default-channel": Decimal(100)}
    assert paid.metadata[-1][1][0] == {"key": "loyalty_tier", "value": "VIP"}
    mine = gql(MINE, token=paid.store.token())["data"]
    assert mine["myMembership"]["status"] == "ACTIVE" and mine["myMembership"]["benefits"][0]["code"] == benefit.code
    assert mine["myTier"]["current"] == {"name": "VIP", "paid": True}

    # Stripe delivers the same events again: nothing more happens
    for event_id in list(paid.delivered):
        stored = StripeEvent.objects.get(event_id=event_id)
        answer = Client().post(
            f"/stripe/webhooks/{paid.account.webhook_token}/",
            data=stored.payload.encode(),
            content_type="application/json",
            headers={"Stripe-Signature": signature(stored.payload.encode())},
        )
        assert answer.json()["duplicate"] is True
    assert MembershipBenefit.objects.count() == 1 and len(paid.store.shop.vouchers) == 1
    assert TierChange.objects.filter(member=member).count() == 1


def test_a_renewal_issues_the_next_periods_voucher_once(paid, django_capture_on_commit_callbacks):
    session, _ = subscribe(paid, django_capture_on_commit_callbacks)
    first_end = paid.membership().current_period_end

    paid.renew(session["subscription"])
    [updated] = paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)
    assert updated["type"] == "customer.subscription.updated"

    membership = paid.membership()
    assert membership.current_period_start == first_end and membership.status == MembershipStatus.ACTIVE
    benefits = list(MembershipBenefit.objects.order_by("period_start"))
    assert [b.status for b in benefits] == [BenefitStatus.ISSUED, BenefitStatus.ISSUED]
    assert benefits[1].period_start == first_end and len(paid.store.shop.vouchers) == 2

    # the same renewal again (a redelivery with a new event id, or the sweep): no third voucher
    paid.deliver({**updated, "id": updated["id"] + "x"}, django_capture_on_commit_callbacks)
    assert MembershipBenefit.objects.count() == 2 and len(paid.store.shop.vouchers) == 2


def test_a_failed_payment_keeps_the_tier_through_grace_then_the_job_removes_it(
    paid, django_capture_on_commit_callbacks
):
    session, _ = subscribe(paid, django_capture_on_commit_callbacks)

    paid.renew(session["subscription"], fail=True)
    types = [e["type"] for e in paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)]
    assert set(types) >= {"invoice.payment_failed", "customer.subscription.updated"}

    membership = paid.membership()
    assert membership.status == MembershipStatus.PAST_DUE and membership.tier_held
    assert membership.grace_until is not None
    assert timedelta(days=6) < membership.grace_until - timezone.now() <= timedelta(days=7)
    assert MembershipBenefit.objects.count() == 1  # an unpaid period has no benefits
    assert end_lapsed() == 0 and paid.tier() == "VIP"  # within grace
    with django_capture_on_commit_callbacks(execute=True):
        review_tiers()
    assert paid.tier() == "VIP"  # the nightly review keeps a paying member's tier

    with django_capture_on_commit_callbacks(execute=True):
        assert end_lapsed(now=membership.grace_until + timedelta(seconds=1)) == 1
    assert paid.tier() is None and not paid.membership().tier_held
    last = TierChange.objects.filter(member=paid.store.member()).latest("id")
    assert (last.reason, last.from_tier_id, last.to_tier_id, last.is_upgrade) == (
        ChangeReason.PAID, paid.vip.pk, None, False,
    )  # fmt: skip
    assert end_lapsed(now=membership.grace_until + timedelta(days=1)) == 0  # idempotent


def test_a_payment_retried_within_grace_restores_the_membership_and_issues_the_period(
    paid, django_capture_on_commit_callbacks
):
    session, _ = subscribe(paid, django_capture_on_commit_callbacks)
    paid.renew(session["subscription"], fail=True)
    paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)

    paid.pay(session["subscription"])
    paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)

    membership = paid.membership()
    assert (membership.status, membership.grace_until, membership.tier_held) == (MembershipStatus.ACTIVE, None, True)
    assert MembershipBenefit.objects.filter(status=BenefitStatus.ISSUED).count() == 2


def test_a_deleted_subscription_keeps_the_tier_until_the_paid_period_ends(paid, django_capture_on_commit_callbacks):
    session, _ = subscribe(paid, django_capture_on_commit_callbacks)
    period_end = paid.membership().current_period_end

    paid.stripe.v1.subscriptions.cancel(session["subscription"])  # localstripe sends customer.subscription.deleted
    types = [e["type"] for e in paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)]
    assert types == ["customer.subscription.deleted"]

    membership = paid.membership()
    assert (membership.status, membership.access_ends_at, membership.tier_held) == (
        MembershipStatus.CANCELED, period_end, True,
    )  # fmt: skip
    assert end_lapsed() == 0 and paid.tier() == "VIP"
    with django_capture_on_commit_callbacks(execute=True):
        assert end_lapsed(now=period_end + timedelta(seconds=1)) == 1
    assert paid.tier() is None


def test_an_earned_tier_comes_back_when_the_membership_ends_and_a_pin_survives_it(
    paid, django_capture_on_commit_callbacks
):
    store = paid.store
    with django_capture_on_commit_callbacks(execute=True):
        reconcile_order(store.install, order("T3JkZXI6OTk=", lines=(line("l1", unit="150.00"),)))
    assert paid.tier() == "Silver"  # earned
    session, _ = subscribe(paid, django_capture_on_commit_callbacks)
    assert paid.tier() == "VIP"

    paid.stripe.v1.subscriptions.cancel(session["subscription"])
    paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        end_lapsed(now=timezone.now() + timedelta(days=40))
    assert paid.tier() == "Silver"  # back to what the orders earn, at once

    # a merchant's pin at VIP is not the membership's: it stays when a membership ends
    with django_capture_on_commit_callbacks(execute=True):
        pin_tier(store.member(), "VIP", reason="ambassador")
    assert MemberTier.objects.get(member=store.member()).pinned_tier_id == paid.vip.pk


def test_events_out_of_order_and_twice_end_in_the_state_of_the_newest(paid, django_capture_on_commit_callbacks):
    started = paid.start()
    session = paid.complete(started["sessionId"])
    events = paid.events(session["customer"])
    completed = next(e for e in events if e["type"] == "checkout.session.completed")
    paid.delivered.update(e["id"] for e in events)

    # the cancellation overtakes everything: its event is the newest (one second later)
    time.sleep(1.1)
    paid.stripe.v1.subscriptions.cancel(session["subscription"])
    [deleted] = paid.events(session["customer"])
    paid.deliver(deleted, django_capture_on_commit_callbacks)
    assert paid.membership().status == MembershipStatus.CANCELED  # found through the subscription's metadata

    paid.deliver(completed, django_capture_on_commit_callbacks)  # older: changes nothing
    paid.deliver({**completed, "id": completed["id"] + "b"}, django_capture_on_commit_callbacks)
    membership = paid.membership()
    assert membership.status == MembershipStatus.CANCELED and membership.subscription_id == session["subscription"]
    # the completed Checkout says the period was paid for: the tier holds until it ends, then goes
    assert membership.access_ends_at == membership.current_period_end and membership.tier_held
    assert paid.tier() == "VIP"
    with django_capture_on_commit_callbacks(execute=True):
        assert end_lapsed(now=membership.current_period_end) == 1
    assert paid.tier() is None


def test_a_stale_past_due_after_a_newer_payment_changes_nothing(paid, django_capture_on_commit_callbacks):
    session, _ = subscribe(paid, django_capture_on_commit_callbacks)
    paid.renew(session["subscription"], fail=True)
    failures = paid.events(session["customer"])
    paid.delivered.update(e["id"] for e in failures)
    time.sleep(1.1)
    paid.pay(session["subscription"])
    paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)  # the newer "active" first
    for event in failures:  # then the older failure and its update
        paid.deliver(event, django_capture_on_commit_callbacks)

    membership = paid.membership()
    assert (membership.status, membership.grace_until) == (MembershipStatus.ACTIVE, None)
    assert membership.current_period_start is not None
    assert MembershipBenefit.objects.filter(status=BenefitStatus.ISSUED).count() == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/phish",
        "http://shop.example.com/vip",  # not https
        "https://shop.example.com.evil.example/",
        "https://user@shop.example.com/",
        "https://shop.example.com:8443/",
        "javascript:alert(1)",
        "//evil.example/",
        "",
    ],
)
def test_a_redirect_url_off_the_storefront_is_refused_and_nothing_is_made(paid, url):
    paid.server.forget_requests()
    for field in ("success", "cancel"):
        result = paid.start(**{field: url})
        assert result["url"] is None
        [error] = result["errors"]
        assert error["code"] == "INVALID" and error["field"] == ("successUrl" if field == "success" else "cancelUrl")
    assert paid.server.requests() == [] and Membership.objects.count() == 0


def test_a_checkout_session_id_template_in_the_success_url_is_allowed(paid):
    result = paid.start(success=f"{SHOP}/vip/thanks?session={{CHECKOUT_SESSION_ID}}")
    assert result["errors"] == []


def test_a_shopper_starts_a_membership_for_themselves_only(paid, django_capture_on_commit_callbacks):
    store = paid.store
    other_token = store.token("VXNlcjoy", "other@example.com")
    started = paid.start(token=other_token)
    session = paid.complete(started["sessionId"])
    paid.deliver_new(session["customer"], django_capture_on_commit_callbacks)

    other = store.member("VXNlcjoy")
    membership = Membership.objects.get()
    assert membership.member_id == other.pk and membership.member_id != store.member().pk
    assert paid.tier() is None  # the first shopper got nothing
    assert gql(MINE, token=store.token())["data"]["myMembership"] is None
    # no token: no membership at all
    anonymous = gql(START, {"plan": "UGFpZFBsYW46MQ==", "success": SHOP, "cancel": SHOP})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # a member who holds a membership cannot start a second one
    again = paid.start(token=other_token)
    assert again["errors"][0]["code"] == "ALREADY_MEMBER"


def test_a_plan_of_another_store_is_not_found(paid):
    result = paid.start(plan=global_id("PaidPlan", paid.plan.pk + 1000))
    assert result["errors"][0]["code"] == "NOT_FOUND"


def test_an_event_naming_another_store_is_ignored(paid, django_capture_on_commit_callbacks):
    started = paid.start()
    session = paid.complete(started["sessionId"])
    completed = next(e for e in paid.events(session["customer"]) if e["type"] == "checkout.session.completed")
    forged = json.loads(json.dumps(completed))
    forged["id"] += "other"
    forged["data"]["object"]["metadata"]["saleor_loyalty_install"] = str(paid.store.install.pk + 1)
    paid.deliver(forged, django_capture_on_commit_callbacks)
    assert paid.membership().status == MembershipStatus.INCOMPLETE and paid.tier() is None
