"""From Saleor's webhook to the ledger, with bodies Saleor itself would send.

Each body is built by executing the app's own subscription document (`graphql/subscriptions/*.graphql`) over a
harness fixture against Saleor's real schema — 3.22 and 3.23 — then signed by a `FakeSaleor` the app was installed
from, and posted to the app's webhook endpoint. Expected points are worked out from the fixture's prices.
"""

import random
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program import models as program_models
from saleor_loyalty.program.configuration import set_earn_rule
from saleor_loyalty.saleor.subscriptions import SUBSCRIPTIONS, Subscription
from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from tests.factories import installed_from
from tests.saleor_harness import SALEOR_VERSIONS, FakeSaleor, build_webhook_body
from tests.saleor_harness import fixtures as fx
from tests.saleor_harness.events import event_enum_value

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CUSTOMER = fx.user(pk=54, email="ada@example.com")
BY_CUSTOMER = {"__typename": "User", "id": CUSTOMER["id"]}
# Two lines with 20% tax, and taxed shipping: the default rule earns 1 point per unit of net line totals.
SHIRTS = fx.line(line_id=fx.global_id("OrderLine", "shirts"), quantity=2, unit_gross=12.0, unit_net=10.0)
SHOES = fx.line(
    line_id=fx.global_id("OrderLine", "shoes"),
    quantity=1,
    unit_gross=36.0,
    unit_net=30.0,
    variant_pk=2,
    product_pk=2,
    category_pk=2,
)
SHIRTS_POINTS = 2 * 10
SHOES_POINTS = 1 * 30
ORDER_POINTS = SHIRTS_POINTS + SHOES_POINTS
SHIPPING_GROSS, SHIPPING_NET = 10.0, 8.0
ORDER_GROSS = 2 * 12.0 + 36.0 + SHIPPING_GROSS


def at(step: int) -> str:
    return (T0 + timedelta(seconds=step)).isoformat()


def subscription_for(typename: str) -> Subscription:
    return next(s for s in SUBSCRIPTIONS if event_enum_value(typename) in s.events)


@dataclass
class Shop:
    """One Saleor store the app is installed in, delivering webhooks built for one Saleor line."""

    saleor: FakeSaleor
    install: Install
    version: str

    def body(self, typename: str, **objects: Any) -> bytes:
        event = fx.event(typename, version=f"{self.version}.0", **objects)
        return build_webhook_body(subscription_for(typename).query, event, version=self.version)

    def post(self, typename: str, body: bytes) -> None:
        response = Client().post(
            f"/api/webhooks/{subscription_for(typename).path}",
            data=body,
            content_type="application/json",
            headers=self.saleor.signed_headers(event_enum_value(typename), body),
        )
        assert response.status_code == 200, response.content

    def send(self, typename: str, **objects: Any) -> None:
        self.post(typename, self.body(typename, **objects))

    def member(self, user: dict[str, Any] = CUSTOMER) -> Member:
        return Member.objects.get(install=self.install, saleor_user_id=user["id"])

    def award(self, order: dict[str, Any]) -> program_models.OrderAward:
        return program_models.OrderAward.objects.get(install=self.install, order_id=order["id"])


@pytest.fixture(params=SALEOR_VERSIONS)
def version(request) -> str:
    return str(request.param)


@pytest.fixture
def open_shop(version) -> Iterator[Callable[[], Shop]]:
    """Start a FakeSaleor on the `version` line and install the app from it; each call is another store."""
    with ExitStack() as stack:
        stores: list[FakeSaleor] = []

        def open_one() -> Shop:
            saleor = stack.enter_context(FakeSaleor(schema_version=version))
            stores.append(saleor)
            return Shop(saleor, installed_from(saleor), version)

        yield open_one
        for saleor in stores:
            saleor.assert_all_documents_valid()


@pytest.fixture
def shop(open_shop: Callable[[], Shop]) -> Shop:
    return open_shop()


def order_state(name: str, step: int, **fields: Any) -> dict[str, Any]:
    """The order `name` as Saleor describes it at `step` (same id, lines and customer every time)."""
    base: dict[str, Any] = {
        "pk": f"00000000-0000-4000-8000-{int(name):012d}",
        "number": name,
        "user": CUSTOMER,
        "lines": [SHIRTS, SHOES],
        "shipping_gross": SHIPPING_GROSS,
        "shipping_net": SHIPPING_NET,
        "created": at(0),
        "updated_at": at(step),
    }
    return fx.order(**{**base, **fields})


def shoes_refunded_by_granted_refund(name: str, step: int) -> dict[str, Any]:
    return order_state(name, step, total_refunded=36.0, granted_refunds=[fx.granted_refund(36.0, lines=[(SHOES, 1)])])


def shoes_refunded_by_fulfillment(name: str, step: int) -> dict[str, Any]:
    return order_state(name, step, total_refunded=36.0, fulfillments=[fx.fulfillment([(SHOES, 1)], status="REFUNDED")])


def fully_refunded(name: str, step: int) -> dict[str, Any]:
    return order_state(name, step, total_refunded=ORDER_GROSS)


def cancelled(name: str, step: int) -> dict[str, Any]:
    return order_state(name, step, status="CANCELED")  # the money stays captured until a refund


# -- earning and taking back -----------------------------------------------------------------------------------


def test_a_paid_order_earns_a_point_per_unit_net_of_tax_without_shipping_pending(shop):
    created = order_state("1001", 1)
    shop.send("OrderCreated", order=created, issuing_principal=BY_CUSTOMER)
    shop.send("OrderFullyPaid", order=order_state("1001", 2))

    assert shop.award(created).points == ORDER_POINTS
    balances = member_balances(shop.member())
    assert (balances.pending, balances.available, balances.lifetime) == (ORDER_POINTS, 0, ORDER_POINTS)
    assert not InboxEvent.objects.exclude(status=InboxStatus.PROCESSED).exists()
    assert integrity_problems(shop.install.pk) == []


def test_an_order_not_yet_paid_in_full_earns_nothing(shop):
    unpaid = order_state("1002", 1, total_charged=0.0)
    shop.send("OrderCreated", order=unpaid, issuing_principal=BY_CUSTOMER)
    assert shop.award(unpaid).points == 0


@pytest.mark.parametrize(
    "refund", [shoes_refunded_by_granted_refund, shoes_refunded_by_fulfillment], ids=["granted refund", "fulfillment"]
)
def test_refund_of_one_line_takes_back_only_its_points(shop, refund):
    shop.send("OrderFullyPaid", order=order_state("1003", 2))

    shop.send("OrderRefunded", order=refund("1003", 3))

    # Line-level: exactly the shoes' points, not a share of the order proportional to the money refunded.
    assert shop.award(order_state("1003", 3)).points == SHIRTS_POINTS
    balances = member_balances(shop.member())
    assert (balances.pending, balances.lifetime) == (SHIRTS_POINTS, SHIRTS_POINTS)
    assert integrity_problems(shop.install.pk) == []


def test_a_full_refund_takes_back_every_point(shop):
    shop.send("OrderFullyPaid", order=order_state("1004", 2))
    shop.send("OrderRefunded", order=shoes_refunded_by_granted_refund("1004", 3))

    shop.send("OrderFullyRefunded", order=fully_refunded("1004", 4))

    assert shop.award(order_state("1004", 4)).points == 0
    balances = member_balances(shop.member())
    assert (balances.pending, balances.available, balances.lifetime) == (0, 0, 0)
    assert integrity_problems(shop.install.pk) == []


def test_cancelling_a_paid_order_takes_back_every_point(shop):
    shop.send("OrderFullyPaid", order=order_state("1005", 2))

    shop.send("OrderCancelled", order=cancelled("1005", 3))

    assert shop.award(order_state("1005", 3)).points == 0
    assert member_balances(shop.member()).pending == 0
    assert integrity_problems(shop.install.pk) == []


# -- retries, duplicates, reordering ---------------------------------------------------------------------------


def story() -> list[tuple[str, dict[str, Any]]]:
    """Four orders of one customer: one partly refunded, one fully refunded, one cancelled, one kept."""
    events: list[tuple[str, dict[str, Any]]] = []
    for name in ("2001", "2002", "2003", "2004"):
        events.append(("OrderCreated", order_state(name, 1)))
        events.append(("OrderFullyPaid", order_state(name, 2)))
    events.append(("OrderRefunded", shoes_refunded_by_granted_refund("2001", 3)))
    events.append(("OrderRefunded", shoes_refunded_by_fulfillment("2002", 3)))
    events.append(("OrderFullyRefunded", fully_refunded("2002", 4)))
    events.append(("OrderCancelled", cancelled("2003", 3)))
    return events


def ledger_state(shop: Shop) -> dict[str, Any]:
    awards = program_models.OrderAward.objects.filter(install=shop.install)
    return {
        "balances": member_balances(shop.member()),
        "awards": {award.order_number: (award.points, award.exact_points) for award in awards},
    }


def deliver_all(shop: Shop, events: list[tuple[str, dict[str, Any]]]) -> None:
    bodies = {id(order): shop.body(typename, order=order) for typename, order in events}
    for typename, order in events:
        shop.post(typename, bodies[id(order)])


def test_the_same_events_once_five_times_or_shuffled_give_an_identical_ledger(open_shop):
    events = story()
    once = open_shop()
    deliver_all(once, events)
    expected = ledger_state(once)
    assert {number: points for number, (points, _) in expected["awards"].items()} == {
        "2001": SHIRTS_POINTS,
        "2002": 0,
        "2003": 0,
        "2004": ORDER_POINTS,
    }
    assert expected["balances"].pending == SHIRTS_POINTS + ORDER_POINTS

    five_times = open_shop()
    deliver_all(five_times, [event for event in events for _ in range(5)])
    shuffled = []
    for seed in range(3):
        rng = random.Random(seed)
        deliveries = events * 2
        rng.shuffle(deliveries)  # refunds and cancellations land before, between and after the payments
        shop = open_shop()
        deliver_all(shop, deliveries)
        shuffled.append(shop)

    for shop in [once, five_times, *shuffled]:
        assert ledger_state(shop) == expected
        assert integrity_problems(shop.install.pk) == []
        assert InboxEvent.objects.filter(install=shop.install).count() == len(events)  # duplicates stored once


# -- stores and currencies -------------------------------------------------------------------------------------


def test_two_stores_stay_isolated_even_with_the_same_saleor_ids(open_shop):
    first, second = open_shop(), open_shop()

    first.send("OrderFullyPaid", order=order_state("3001", 2))
    second.send("OrderFullyPaid", order=order_state("3001", 2))  # same order and customer ids, another store
    second.send("OrderFullyRefunded", order=fully_refunded("3001", 3))

    assert first.member().pk != second.member().pk
    assert first.award(order_state("3001", 2)).points == ORDER_POINTS
    assert second.award(order_state("3001", 2)).points == 0
    assert member_balances(first.member()).pending == ORDER_POINTS
    assert member_balances(second.member()).pending == 0
    assert integrity_problems(first.install.pk) == []
    assert integrity_problems(second.install.pk) == []


def test_each_channel_earns_by_its_own_currency_rate(shop):
    set_earn_rule(shop.install, channel_slug="us", currency="USD", points_per_unit=2)
    set_earn_rule(shop.install, channel_slug="jp", currency="JPY", points_per_unit="0.01")
    dollars = fx.order(
        user=CUSTOMER, channel_slug="us", channel_pk=2, lines=[fx.line(quantity=3, unit_gross=12.0, unit_net=10.0)]
    )
    yen = fx.order(
        user=CUSTOMER,
        channel_slug="jp",
        channel_pk=3,
        currency="JPY",
        lines=[fx.line(quantity=2, unit_gross=2750.0, unit_net=2500.0, currency="JPY")],
        shipping_gross=800.0,
        shipping_net=700.0,
    )
    default_channel = fx.order(user=CUSTOMER, lines=[fx.line(quantity=1, unit_gross=7.0)])

    for order in (dollars, yen, default_channel):
        shop.send("OrderFullyPaid", order=order)

    assert shop.award(dollars).points == 2 * (3 * 10)
    assert shop.award(yen).points == (2 * 2500) // 100
    assert shop.award(default_channel).points == 7  # no rule for the channel: the default, 1 per unit
    assert member_balances(shop.member()).pending == 60 + 50 + 7
    assert integrity_problems(shop.install.pk) == []


# -- customers -------------------------------------------------------------------------------------------------


def test_customer_created_enrols_a_member(shop):
    customer = fx.customer(pk=77, email="grace@example.com")

    shop.send("CustomerCreated", user=customer)

    member = shop.member(customer)
    assert member.email == "grace@example.com"
    balances = member_balances(member)
    assert (balances.available, balances.pending, balances.lifetime) == (0, 0, 0)


def test_a_customers_orders_earn_for_the_member_enrolled_at_registration(shop):
    customer = fx.customer(pk=78, email="alan@example.com")
    shop.send("CustomerCreated", user=customer)
    enrolled = shop.member(customer)

    shop.send("OrderFullyPaid", order=order_state("4001", 2, user=fx.user(pk=78, email="alan@example.com")))

    assert Member.objects.filter(install=shop.install, saleor_user_id=customer["id"]).count() == 1
    assert member_balances(enrolled).pending == ORDER_POINTS


def test_a_confirmed_registration_claims_the_guest_points_of_its_email(shop):
    guest_order = order_state("4002", 2, user=None, user_email="linus@example.com")
    shop.send("OrderFullyPaid", order=guest_order)
    customer = fx.customer(pk=79, email="linus@example.com", is_confirmed=True)

    shop.send("CustomerCreated", user=customer)

    assert member_balances(shop.member(customer)).pending == ORDER_POINTS
    assert integrity_problems(shop.install.pk) == []
