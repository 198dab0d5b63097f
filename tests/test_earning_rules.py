"""Earning rules: rates per channel and currency, tax and shipping, multipliers, minimums, line refunds."""

from decimal import Decimal

import pytest

from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.configuration import InvalidRule, set_earn_rule
from saleor_loyalty.program.earning import RuleSnapshot, order_points
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.orders import reconcile_order
from tests.factories import later, line, make_install, order

pytestmark = pytest.mark.django_db


def rule(**overrides) -> RuleSnapshot:
    base = {
        "rule_id": 1,
        "currency": "USD",
        "points_per_unit": Decimal(1),
        "include_tax": False,
        "include_shipping": False,
        "min_order_amount": Decimal(0),
        "multipliers": {},
    }
    return RuleSnapshot(**{**base, **overrides})


def test_tax_and_shipping_count_only_when_the_rule_says_so():
    taxed = order(lines=(line(unit="120.00", net_unit="100.00"),), shipping="10.00")
    assert order_points(taxed, rule()) == Decimal(100)
    assert order_points(taxed, rule(include_tax=True)) == Decimal(120)
    assert order_points(taxed, rule(include_tax=True, include_shipping=True)) == Decimal(130)


def test_the_highest_matching_multiplier_wins_per_line():
    shoes = line("shoes", unit="50.00", category_id="shoes-cat", product_id="p-shoe")
    shirt = line("shirt", unit="20.00", category_id="shirts")
    snapshot = order(lines=(shoes, shirt))
    multipliers = {"category:shoes-cat": Decimal(2), "product:p-shoe": Decimal(3)}
    assert order_points(snapshot, rule(multipliers=multipliers)) == Decimal(170)  # 50×3 + 20


def test_orders_below_the_minimum_earn_nothing():
    assert order_points(order(lines=(line(unit="9.99"),)), rule(min_order_amount=Decimal(10))) == 0


def test_unpaid_and_cancelled_orders_earn_nothing():
    assert order_points(order(charged="0.00"), rule()) == 0
    assert order_points(order(charged="50.00"), rule()) == 0  # partly paid: not yet
    assert order_points(order(status="CANCELED"), rule()) == 0


def test_refund_of_a_line_removes_exactly_that_lines_points():
    shoes = line("shoes", unit="50.00", category_id="shoes-cat")
    shirt = line("shirt", quantity=2, unit="20.00")
    snapshot = order(
        lines=(shoes, shirt),
        refunded="20.00",
        charged="70.00",
        charge_status="PARTIAL",
        refunded_quantities={"shirt": 1},
    )
    # the shoes earn double; refunding one shirt takes its 20 points, not a share of the shoes' points
    assert order_points(snapshot, rule(multipliers={"category:shoes-cat": Decimal(2)})) == Decimal(120)


def test_order_level_discounts_not_on_lines_scale_the_points_down():
    snapshot = order(lines=(line(unit="100.00"),))
    discounted = later(
        snapshot, total_gross=Decimal("80.00"), total_net=Decimal("80.00"), total_charged=Decimal("80.00")
    )
    assert order_points(discounted, rule()) == Decimal(80)


def test_each_channel_currency_earns_by_its_own_rule():
    install = make_install()
    set_earn_rule(install, channel_slug="eu", currency="EUR", points_per_unit="2")
    set_earn_rule(install, channel_slug="jp", currency="JPY", points_per_unit="0.01")
    reconcile_order(install, order("eu-order", lines=(line(unit="10.50"),), currency="EUR", channel="eu"))
    reconcile_order(install, order("jp-order", lines=(line(unit="15000"),), currency="JPY", channel="jp"))
    awards = {a.order_id: a.points for a in OrderAward.objects.all()}
    assert awards == {"eu-order": 21, "jp-order": 150}


def test_orders_keep_the_rule_in_force_when_they_first_earned():
    install = make_install()
    set_earn_rule(install, channel_slug="default-channel", currency="USD", points_per_unit="1")
    snapshot = order(lines=(line(quantity=2, unit="50.00"),))
    reconcile_order(install, snapshot)
    set_earn_rule(install, channel_slug="default-channel", currency="USD", points_per_unit="10")
    reconcile_order(
        install, later(snapshot, total_charged=Decimal(50), total_refunded=Decimal(50), charge_status="PARTIAL")
    )
    assert OrderAward.objects.get().points == 50  # half of 100 at the old rate, not half of 1000
    assert member_balances(Member.objects.get()).pending == 50


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("points_per_unit", "-1"),
        ("points_per_unit", "NaN"),
        ("points_per_unit", "1e9"),
        ("currency", "US"),
        ("min_order_amount", "-5"),
    ],
)
def test_invalid_rules_are_refused(field, value):
    install = make_install()
    arguments = {"channel_slug": "c", "currency": "USD", "points_per_unit": "1", field: value}
    with pytest.raises(InvalidRule):
        set_earn_rule(install, **arguments)


def test_two_stores_never_see_each_others_members_or_points():
    store_a, store_b = make_install(), make_install()
    same_ids = order("T3JkZXI6MQ==", user_id="VXNlcjox")
    reconcile_order(store_a, same_ids)
    reconcile_order(
        store_b, later(same_ids, total_charged=Decimal(40), total_refunded=Decimal(60), charge_status="PARTIAL")
    )
    balances_a = member_balances(Member.objects.get(install=store_a))
    balances_b = member_balances(Member.objects.get(install=store_b))
    assert (balances_a.pending, balances_b.pending) == (100, 40)
