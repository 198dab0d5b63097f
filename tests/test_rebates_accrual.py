"""Orders accrue rebates as they are reconciled: state-based, once, and attributed to the order that changed."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from saleor_loyalty.ledger.models import Account, AccountCode, Transfer, TransferKind
from saleor_loyalty.ledger.queries import integrity_problems
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.rebates.models import RebateOrder, RebatePeriod
from saleor_loyalty.rebates.queries import ledger_problems, rebate_audit, rebate_statement
from saleor_loyalty.tiers.models import MemberTier, Tier, TierSettings
from tests.factories import later, line, order, rebate_program

pytestmark = pytest.mark.django_db


def period_of_member(install, user_id="VXNlcjox"):
    return RebatePeriod.objects.get(member=Member.objects.get(install=install, saleor_user_id=user_id))


def account(install, code, currency="USD"):
    found = Account.objects.get(install=install, member__isnull=False, code=code, unit=currency)
    return found.credits_posted - found.debits_posted


def assert_reconciles(install, period="2026-11", currency="USD"):
    assert integrity_problems(install.pk) == []
    assert ledger_problems(install, currency) == []
    assert all(audit.problems == () for audit in rebate_audit(install, period))


def test_a_paid_order_accrues_a_pending_rebate_at_the_band_it_reaches(install):
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    period = period_of_member(install)
    assert (period.period, period.accrued, period.pending, period.spend) == ("2026-11", 1400, 1400, Decimal(700))
    assert account(install, AccountCode.REBATE_PENDING) == 1400  # 14.00 USD in cents, 2 % of 700
    assert_reconciles(install)


def test_an_order_belongs_to_the_period_of_the_programs_calendar(install):
    program = rebate_program(install, time_zone="Asia/Tokyo")
    late_november_utc = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December, 01:00 in Tokyo
    reconcile_order(install, replace(order(lines=(line(unit="700.00"),)), created=late_november_utc))
    period = period_of_member(install)
    assert (period.period, period.starts_at, period.ends_at) == (
        "2026-12",
        datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 15, 0, tzinfo=UTC),
    )
    program.time_zone = "UTC"  # a change shapes periods opened after it; this one keeps its dates
    program.save()
    reconcile_order(install, replace(order(lines=(line(unit="700.00"),)), created=late_november_utc, number="2"))
    assert period_of_member(install).ends_at == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    assert_reconciles(install, period="2026-12")


def test_an_order_that_crosses_a_band_lifts_the_whole_period(install):
    rebate_program(install)
    reconcile_order(install, order("o-1", lines=(line(unit="700.00"),)))
    reconcile_order(install, order("o-2", lines=(line(unit="500.00"),)))
    assert period_of_member(install).accrued == 3600  # 3 % of 1,200
    accruals = dict(Transfer.objects.filter(kind=TransferKind.REBATE_ACCRUE).values_list("order_id", "amount"))
    assert accruals == {"o-1": 1400, "o-2": 2200}  # the lift of o-1's spend is o-2's doing
    assert_reconciles(install)


def test_marginal_bands_accrue_only_above_each_threshold(install):
    rebate_program(install, threshold_mode="marginal")
    reconcile_order(install, order("o-1", lines=(line(unit="700.00"),)))
    reconcile_order(install, order("o-2", lines=(line(unit="500.00"),)))
    assert period_of_member(install).accrued == 1600  # 2 % of 500 + 3 % of 200


def test_a_partial_refund_that_drops_below_a_band_reverses_the_whole_period_to_the_refunded_order(install):
    rebate_program(install)
    first = order("o-1", lines=(line(unit="700.00"),))
    second = order("o-2", lines=(line("l", quantity=5, unit="100.00"),))
    reconcile_order(install, first)
    reconcile_order(install, second)
    refunded = later(second, total_charged=Decimal(200), total_refunded=Decimal(300), refunded_quantities={"l": 3})
    reconcile_order(install, refunded)
    period = period_of_member(install)
    assert (period.accrued, period.spend) == (1800, Decimal(900))  # 2 % of 900: 36.00 → 18.00
    second_order = RebateOrder.objects.get(order_id="o-2")
    assert (second_order.accrued, second_order.reversed) == (2200, 1800)
    statement = rebate_statement(period.member, "2026-11")[0]
    assert (statement.accrued, statement.reversed) == (Decimal("36.00"), Decimal("18.00"))
    assert statement.rebate == Decimal("18.00")
    assert [(o.order_id, o.accrued, o.reversed) for o in statement.orders] == [
        ("o-1", Decimal("14.00"), Decimal("0.00")),
        ("o-2", Decimal("22.00"), Decimal("18.00")),
    ]
    assert_reconciles(install)


def test_a_cancellation_takes_the_order_out_of_its_period(install):
    rebate_program(install)
    kept = order("o-1", lines=(line(unit="600.00"),))
    cancelled = order("o-2", lines=(line(unit="600.00"),))
    reconcile_order(install, kept)
    reconcile_order(install, cancelled)
    assert period_of_member(install).accrued == 3600
    reconcile_order(install, later(cancelled, status="CANCELED"))
    assert period_of_member(install).accrued == 1200  # 2 % of 600
    assert account(install, AccountCode.REBATE_PENDING) == 1200
    assert_reconciles(install)


def test_a_duplicate_delivery_accrues_once(install):
    rebate_program(install)
    snapshot = order(lines=(line(unit="700.00"),))
    reconcile_order(install, snapshot)
    reconcile_order(install, snapshot)
    reconcile_order(install, later(snapshot, seconds=5))  # a newer payload of the same state
    assert Transfer.objects.filter(kind=TransferKind.REBATE_ACCRUE).count() == 1
    assert period_of_member(install).accrued == 1400


def test_an_out_of_order_delivery_never_undoes_a_newer_state(install):
    rebate_program(install)
    snapshot = order(lines=(line(unit="700.00"),))
    refunded = later(snapshot, total_charged=Decimal(0), total_refunded=Decimal(700), charge_status="NONE")
    reconcile_order(install, refunded)  # the refund arrives first: nothing ever accrued
    reconcile_order(install, snapshot)  # the older "paid" payload
    assert not RebatePeriod.objects.exists()
    assert not Transfer.objects.filter(kind=TransferKind.REBATE_ACCRUE).exists()


def test_an_older_payload_after_a_refund_changes_nothing(install):
    rebate_program(install)
    snapshot = order(lines=(line(unit="700.00"),))
    reconcile_order(install, snapshot)
    reconcile_order(install, later(snapshot, total_charged=Decimal(350), total_refunded=Decimal(350)))
    reconcile_order(install, snapshot)  # stale: the program sends no signal, and the rebate ignores it too
    assert period_of_member(install).accrued == 0  # 350 is below the first band
    assert Transfer.objects.filter(kind=TransferKind.REBATE_ACCRUE).count() == 1


def test_tax_and_shipping_count_by_the_programs_choice(install):
    rebate_program(install, include_tax=True, include_shipping=True, bands=[{"threshold": "0", "rate": "10"}])
    reconcile_order(install, order(lines=(line(unit="121.00", net_unit="100.00"),), shipping="9.00"))
    assert period_of_member(install).accrued == 1300  # 10 % of 121 + 9


def test_a_tier_rate_is_frozen_with_the_order(install):
    rebate_program(install, tier_rates={"Gold": {"rate": "5", "mode": "override"}})
    TierSettings.objects.create(install=install, is_active=True)
    gold = Tier.objects.create(install=install, name="Gold", rank=2)
    reconcile_order(install, order("o-0", lines=(line(unit="1.00"),)))  # makes the member
    member = Member.objects.get()
    MemberTier.objects.create(member=member, install=install, tier=gold, pinned_tier=gold)
    reconcile_order(install, order("o-1", lines=(line(unit="100.00"),)))
    assert period_of_member(install).accrued == 500  # 5 % of 100 (o-0 froze no tier: below the bands)
    assert RebateOrder.objects.get(order_id="o-1").contribution["tier"] == "Gold"


def test_category_and_product_rates_override_per_line(install):
    rebate_program(install, line_rates={"product:P-1": "10", "category:C-1": "4"})
    reconcile_order(
        install,
        order(lines=(line("a", unit="100.00", product_id="P-1"), line("b", unit="100.00", category_id="C-1"))),
    )
    assert period_of_member(install).accrued == 1000 + 400


def test_the_nth_order_of_the_period_earns_the_frequency_bonus(install):
    rebate_program(install, frequency_nth=2, frequency_bonus_amount=Decimal("5.00"))
    reconcile_order(install, order("o-1", lines=(line(unit="10.00"),)))
    assert period_of_member(install).accrued == 0
    reconcile_order(install, order("o-2", lines=(line(unit="10.00"),)))
    assert period_of_member(install).accrued == 500


@pytest.mark.parametrize(("currency", "unit", "minor"), [("JPY", "777", 15), ("KWD", "700.125", 14002)])
def test_rebates_accrue_in_the_currencys_minor_units(install, currency, unit, minor):
    rebate_program(install, currency=currency)
    reconcile_order(install, order(lines=(line(unit=unit),), currency=currency))
    # 2 % (bands in the currency's own units), rounded down: ¥15 of ¥15.54; 14.002 KWD of 14.0025
    assert account(install, AccountCode.REBATE_PENDING, currency) == minor
    assert_reconciles(install, currency=currency)


def test_an_install_without_a_rebate_program_accrues_nothing(install):
    reconcile_order(install, order())
    assert not RebateOrder.objects.exists() and not Account.objects.filter(code=AccountCode.REBATE_PENDING).exists()


def test_the_database_refuses_a_period_whose_counters_do_not_add_up(install):
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    with pytest.raises(IntegrityError), transaction.atomic():
        RebatePeriod.objects.update(pending=0)
