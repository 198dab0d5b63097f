"""A paid plan shows the shopper a price, but Stripe Checkout charges what the plan's Stripe Price says: a plan is
saved only when the two agree (amount, currency, interval), against the fake Stripe (localstripe's plans served as
Prices by the stand-in, tests/stripe_fake.py)."""

import re
from decimal import Decimal

import pytest
import stripe

from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, set_paid_plan, update_paid_plan
from saleor_loyalty.memberships.models import PaidPlan
from saleor_loyalty.tiers.configuration import set_tier
from tests.stripe_helpers import SECRET_KEY, connected
from tests.test_tiers import setup_tiers

pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_store(install, stripe_api):
    connected(install)
    setup_tiers(install)
    set_tier(install, name="VIP", rank=4, thresholds={"USD": "100000"})
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_api.url}, max_network_retries=0)
    product = client.v1.products.create(params={"name": "VIP"})

    def price(amount=999, currency="usd", interval="month", count=1, active=True):
        created = client.v1.plans.create(
            params={
                "amount": amount,
                "currency": currency,
                "interval": interval,
                "interval_count": count,
                "product": product.id,
            }
        )
        if not active:
            client.v1.plans.update(created.id, params={"active": False})
        return created.id

    return install, price


def vip(install, price_id, **terms):
    values = {"amount": "9.99", "currency": "USD", "interval": "month", **terms}
    return set_paid_plan(install, name="VIP monthly", tier_name="VIP", stripe_price_id=price_id, **values)


def test_a_plan_that_shows_what_its_stripe_price_charges_is_saved(stripe_store):
    install, price = stripe_store
    plan = vip(install, price())
    assert (plan.amount, plan.currency, plan.interval) == (Decimal("9.99"), "USD", "month")
    quarterly = vip(install, price(amount=2500, count=3), amount="25", interval_count=3)
    assert quarterly.interval_count == 3


@pytest.mark.parametrize(
    ("stripe_terms", "plan_terms", "field", "says"),
    [
        ({"amount": 1200}, {}, "amount", "charges 12.00 USD every month; this plan says 9.99 USD every month"),
        ({"currency": "eur"}, {}, "currency", "charges 9.99 EUR every month"),
        ({"interval": "year"}, {}, "interval", "charges 9.99 USD every year"),
        ({"count": 3}, {}, "interval", "charges 9.99 USD every 3 months"),
    ],
)
def test_a_plan_that_shows_another_price_than_stripe_charges_is_refused(
    stripe_store, stripe_terms, plan_terms, field, says
):
    install, price = stripe_store
    price_id = price(**stripe_terms)
    with pytest.raises(InvalidMembershipConfig) as refused:
        vip(install, price_id, **plan_terms)
    assert refused.value.field == field and says in str(refused.value) and price_id in str(refused.value)
    assert not PaidPlan.objects.exists()


def test_an_unknown_or_archived_price_is_refused(stripe_store):
    install, price = stripe_store
    with pytest.raises(InvalidMembershipConfig, match="Stripe has no price price_nosuch") as unknown:
        vip(install, "price_nosuch")
    assert unknown.value.field == "stripe_price_id"
    with pytest.raises(InvalidMembershipConfig, match="is archived in Stripe"):
        vip(install, price(active=False))
    assert not PaidPlan.objects.exists()


def test_an_edit_is_checked_when_it_changes_what_is_sold_and_an_archived_plan_is_not(stripe_store):
    install, price = stripe_store
    plan = vip(install, price())
    with pytest.raises(InvalidMembershipConfig, match=re.escape("charges 9.99 USD every month; this plan says 12.00")):
        update_paid_plan(plan, {"amount": "12"}, actor="merchant")
    update_paid_plan(plan, {"grace_days": 3}, actor="merchant")  # nothing Stripe charges changed
    archived = update_paid_plan(plan, {"is_active": False}, actor="merchant")
    new_price = price(amount=1200)
    update_paid_plan(archived, {"amount": "12", "stripe_price_id": new_price, "is_active": True}, actor="merchant")
    plan.refresh_from_db()
    assert (plan.amount, plan.stripe_price_id, plan.is_active) == (Decimal(12), new_price, True)


def test_stripe_failing_refuses_the_save(stripe_store, stripe_api):
    install, price = stripe_store
    price_id = price()
    stripe_api.fault("GET", f"/v1/prices/{price_id}", "error_after")
    with pytest.raises(InvalidMembershipConfig, match="Stripe could not be asked"):
        vip(install, price_id)
    assert not PaidPlan.objects.exists()


def test_a_store_without_stripe_saves_the_plan_unchecked(install):
    setup_tiers(install)
    set_tier(install, name="VIP", rank=4, thresholds={"USD": "100000"})
    assert vip(install, "price_notyetchecked").stripe_price_id == "price_notyetchecked"
