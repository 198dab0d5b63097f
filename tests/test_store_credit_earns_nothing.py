"""Store credit spent on an order earns neither points nor rebates: cash back is earned on cash, not on cash back.

Orders arrive as Saleor 3.23 builds them from the app's 3.23 order document (the contract harness executes it over
Saleor's schema): the program's own gift card, spent through Saleor's gift-card gateway, is a transaction with
`GiftCardPaymentMethodDetails { lastChars }`. Other gift cards earn like cash; 3.22's document has no such details.
"""

import json
from decimal import Decimal

import pytest

from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.orders import Outcome, reconcile_order
from saleor_loyalty.rebates.models import RebateOrder, RebatePeriod, StoreCredit
from saleor_loyalty.saleor.documents import subscription
from saleor_loyalty.webhooks.payloads import order_snapshot
from tests.factories import rebate_program
from tests.saleor_harness import build_webhook_body, event
from tests.saleor_harness import fixtures as saleor

pytestmark = pytest.mark.django_db

OURS = "AB12"
TEN_PERCENT = [{"threshold": "0", "rate": "10"}]
ORDER_ID = "T3JkZXI6c3RvcmUtY3JlZGl0"


def paid(*transactions, refunded=0.0, updated_at="2026-11-02T10:00:00+00:00", typename="OrderFullyPaid", v="3.23"):
    """An order of one 100.00 line, paid by ``transactions``, as Saleor ``v`` delivers it."""
    document = subscription("order_events_3_23" if v == "3.23" else "order_events")
    data = saleor.order(
        pk=ORDER_ID,
        lines=[saleor.line(unit_gross=100.0, product_pk=1)],
        total_refunded=refunded,
        transactions=list(transactions),
        created="2026-11-02T09:00:00+00:00",
        updated_at=updated_at,
    )
    body = build_webhook_body(document, event(typename, order=data), version=v)
    return order_snapshot(json.loads(body))


def card(amount, last_chars=OURS, refunded=0.0):
    return saleor.transaction(
        "6f1c1c7e-8b0a-4f7e-9d43-3f1ad1b7c1aa", amount, refunded=refunded, gift_card_last_chars=last_chars
    )


def cash(amount, refunded=0.0):
    return saleor.transaction("pi_3Qcash", amount, refunded=refunded)


@pytest.fixture
def member(install):
    """The shopper of the harness's default order, who has the program's store credit card ****AB12."""
    found = Member.objects.create(
        install=install, saleor_user_id=saleor.user_fixture()["id"], email="customer@example.com"
    )
    StoreCredit.objects.create(install=install, member=found, currency="USD", saleor_id="R2lmdENhcmQ6MQ==", last4=OURS)
    return found


def points(install):
    return OrderAward.objects.get(install=install).points


def tier_spend(install):
    """What the order counts toward a spend-based tier."""
    return OrderAward.objects.get(install=install).spend


def rebate(install):
    return RebatePeriod.objects.get(install=install).accrued


def test_the_3_23_document_carries_the_gift_card_and_3_22s_does_not():
    snapshot = paid(card(30.0), cash(70.0))
    assert [p.gift_card_last_chars for p in snapshot.payments] == [OURS, None]
    assert all(p.gift_card_last_chars is None for p in paid(card(30.0), cash(70.0), v="3.22").payments)


def test_the_part_paid_with_our_store_credit_earns_neither_points_nor_rebates(install, member):
    rebate_program(install, bands=TEN_PERCENT)

    assert reconcile_order(install, paid(card(30.0), cash(70.0))) == Outcome.EARNED

    assert points(install) == 70  # 1 point per unit on the 70.00 paid in cash
    assert rebate(install) == 700  # 10 % of 70.00
    assert RebateOrder.objects.get().spend == Decimal("70.0000")  # the bands count the cash only
    assert tier_spend(install) == Decimal("70.00")  # and so do spend-based tiers


def test_another_gift_card_earns_like_cash(install, member):
    rebate_program(install, bands=TEN_PERCENT)

    reconcile_order(install, paid(card(30.0, last_chars="ZZ99"), cash(70.0)))

    assert (points(install), rebate(install), tier_spend(install)) == (100, 1000, Decimal("100.00"))


def test_an_order_paid_wholly_with_store_credit_earns_nothing(install, member):
    rebate_program(install, bands=TEN_PERCENT)

    reconcile_order(install, paid(card(100.0)))

    assert (points(install), tier_spend(install)) == (0, Decimal(0))
    assert not RebateOrder.objects.exists()  # it never joined its period: nothing to rebate


def test_a_repeated_delivery_changes_nothing_and_an_older_one_is_ignored(install, member):
    rebate_program(install, bands=TEN_PERCENT)
    first = paid(card(30.0), cash(70.0))
    reconcile_order(install, first)

    assert reconcile_order(install, first) == Outcome.UNCHANGED
    newer = paid(
        card(30.0), cash(70.0), refunded=35.0, typename="OrderRefunded", updated_at="2026-11-03T10:00:00+00:00"
    )
    reconcile_order(install, newer)
    assert reconcile_order(install, first) in (Outcome.STALE, Outcome.UNCHANGED)

    # 35.00 refunded to the cash payment: the order keeps 65.00, of which 30.00 store credit.
    assert (points(install), rebate(install), tier_spend(install)) == (35, 350, Decimal("35.00"))


def test_a_refund_to_the_card_gives_the_cash_its_full_worth_again(install, member):
    """Refunded back onto the card, the credit no longer paid for anything: the 70.00 cash keeps its 70 points."""
    rebate_program(install, bands=TEN_PERCENT)
    reconcile_order(install, paid(card(30.0), cash(70.0)))

    refunded = paid(
        card(30.0, refunded=30.0),
        cash(70.0),
        refunded=30.0,
        typename="OrderRefunded",
        updated_at="2026-11-03T10:00:00+00:00",
    )
    reconcile_order(install, refunded)

    assert (points(install), rebate(install), tier_spend(install)) == (70, 700, Decimal("70.00"))


def test_a_guest_or_another_member_with_the_same_last_characters_is_not_our_card(install, member):
    """The card is the member's own: the same last four characters on another shopper's order earn like cash."""
    rebate_program(install, bands=TEN_PERCENT)
    data = saleor.order(
        pk=ORDER_ID,
        user=saleor.user(99, "other@example.com"),
        lines=[saleor.line(unit_gross=100.0)],
        transactions=[card(30.0), cash(70.0)],
        created="2026-11-02T09:00:00+00:00",
    )
    snapshot = order_snapshot(
        json.loads(build_webhook_body(subscription("order_events_3_23"), event("OrderFullyPaid", order=data)))
    )

    reconcile_order(install, snapshot)

    assert points(install) == 100
