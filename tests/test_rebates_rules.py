"""The rebate rules as a specification: pure functions, worked examples with real numbers (docs/rebates.md)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from saleor_loyalty.rebates.periods import period_by_key, period_of
from saleor_loyalty.rebates.rules import (
    OrderContribution,
    banded_rebate,
    next_band,
    order_contribution,
    period_rebate,
    to_minor,
)
from saleor_loyalty.rebates.terms import Band, FrequencyBonus, InvalidTerms, RebateTerms, TierRate, _bands
from tests.factories import T0, line, order

BANDS = (Band(Decimal(500), Decimal(2)), Band(Decimal(1000), Decimal(3)))  # 2 % from 500, 3 % from 1,000


def terms(**changes: object) -> RebateTerms:
    base = RebateTerms(
        program_id=1,
        currency="USD",
        include_tax=False,
        include_shipping=False,
        threshold_mode="whole",
        bands=BANDS,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def contribution_of(snapshot, rule=None, tier=None, paid=True):
    return order_contribution(snapshot, rule or terms(), tier=tier, was_fully_paid=paid)


def rebate_of(rule, *snapshots, tier=None):
    return period_rebate(rule, [contribution_of(s, rule, tier) for s in snapshots])


# Bands: whole vs marginal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "whole", "marginal"),
    [
        ("400.00", "0", "0"),  # below the first band: rate 0
        ("500.00", "10.00", "0"),  # 2 % of 500 / nothing above 500 yet
        ("800.00", "16.00", "6.00"),  # 2 % of 800 / 2 % of the 300 above 500
        ("1000.00", "30.00", "10.00"),  # 3 % of 1,000 / 2 % of 500
        ("1200.00", "36.00", "16.00"),  # 3 % of 1,200 / 2 % of 500 + 3 % of 200
    ],
)
def test_bands_apply_to_the_whole_spend_or_only_above_each_threshold(spend, whole, marginal):
    amount = Fraction(Decimal(spend))
    assert banded_rebate(amount, BANDS, "whole") == Fraction(Decimal(whole))
    assert banded_rebate(amount, BANDS, "marginal") == Fraction(Decimal(marginal))


def test_a_period_of_two_orders_reaches_the_band_together():
    first, second = order("o-1", lines=(line(unit="700.00"),)), order("o-2", lines=(line(unit="500.00"),))
    assert rebate_of(terms(), first).minor == 1400  # 2 % of 700 = 14.00
    both = rebate_of(terms(), first, second)
    assert (both.minor, both.band) == (3600, BANDS[1])  # 3 % of 1,200 = 36.00
    assert rebate_of(terms(threshold_mode="marginal"), first, second).minor == 1600  # 10.00 + 6.00


def test_next_band_is_the_first_not_reached():
    assert next_band(Fraction(800), BANDS) == BANDS[1]
    assert next_band(Fraction(1000), BANDS) is None


# The base: discounts, refunds, tax and shipping ---------------------------------------------------------------


def test_tax_and_shipping_count_only_when_the_program_says_so():
    snapshot = order(lines=(line(unit="1210.00", net_unit="1000.00"),), shipping="50.00")
    assert contribution_of(snapshot).spend == 1000  # net of tax, no shipping
    assert contribution_of(snapshot, terms(include_tax=True)).spend == 1210
    assert contribution_of(snapshot, terms(include_shipping=True)).spend == 1050
    assert contribution_of(snapshot, terms(include_tax=True, include_shipping=True)).spend == 1260


def test_a_line_refund_removes_that_line_and_other_refunds_reduce_the_rest_in_proportion():
    lines = (line("a", quantity=2, unit="300.00"), line("b", unit="400.00"))
    snapshot = order(lines=lines, refunded="300.00", refunded_quantities={"a": 1})
    assert [entry.base for entry in contribution_of(snapshot).lines] == [300, 400]
    unattributed = order(lines=lines, refunded="500.00")  # half of the 1,000 refunded, no line named
    assert contribution_of(unattributed).spend == 500


def test_cancelled_or_unpaid_orders_contribute_nothing():
    assert contribution_of(order(status="CANCELED")).spend == 0
    assert contribution_of(order(charged="0.00"), paid=False).spend == 0


# Line and tier rates ---------------------------------------------------------------------------------------------


def test_a_product_rate_beats_a_category_rate_and_both_override_the_band_rate():
    rule = terms(line_rates={"product:P-books": Decimal(5), "category:C-sale": Decimal(0)})
    snapshot = order(
        lines=(
            line("book", unit="200.00", product_id="P-books", category_id="C-sale"),  # product 5 %: 10.00
            line("sale", unit="300.00", product_id="P-x", category_id="C-sale"),  # category 0 %: 0
            line("shirt", unit="600.00", product_id="P-y", category_id="C-y"),  # band: 3 % (1,100 spent): 18.00
        )
    )
    assert rebate_of(rule, snapshot).minor == 2800


def test_a_tier_bonus_adds_to_every_rate_and_an_override_replaces_the_band_rate():
    rule = terms(
        tier_rates={"Gold": TierRate(Decimal(1), "bonus"), "VIP": TierRate(Decimal(5), "override")},
        line_rates={"product:P-books": Decimal(4)},
    )
    snapshot = order(lines=(line("a", unit="800.00"), line("b", unit="200.00", product_id="P-books")))
    assert rebate_of(rule, snapshot).minor == 3200  # 3 % × 800 + 4 % × 200 = 24 + 8 (1,000 reached)
    assert rebate_of(rule, snapshot, tier="Gold").minor == 4200  # + 1 % of 1,000
    assert rebate_of(rule, snapshot, tier="VIP").minor == 4800  # 5 % × 800 + 4 % × 200 = 40 + 8
    assert rebate_of(rule, snapshot, tier="Silver").minor == 3200  # no rate of its own


# Frequency bonus ----------------------------------------------------------------------------------------------


def test_every_nth_order_of_the_period_earns_the_frequency_bonus():
    rule = terms(bands=(Band(Decimal(0), Decimal(1)),), frequency=FrequencyBonus(3, Decimal(5), Decimal(2)))
    snapshots = [
        replace(order(f"o-{n}", lines=(line(unit="100.00"),)), created=T0 + timedelta(hours=n)) for n in range(1, 7)
    ]
    # 1 % of 600 = 6.00; the 3rd and 6th orders: 5.00 + 2 % of 100 each = 14.00
    assert rebate_of(rule, *snapshots).minor == 2000
    cancelled = replace(snapshots[0], status="CANCELED")  # the 4th becomes the 3rd, the 6th the 5th
    assert rebate_of(rule, cancelled, *snapshots[1:]).minor == 500 + 700


# Rounding and precision -----------------------------------------------------------------------------------------


def test_the_period_is_rounded_down_once_not_per_order():
    rule = terms(bands=(Band(Decimal(0), Decimal("1.5")),))
    snapshots = [order(f"o-{n}", lines=(line(unit="0.33"),)) for n in range(3)]
    # 1.5 % of 0.33 is 0.495 cents: per order that would round to 0 (or 3 × 1); the period earns 1.485 → 1
    assert rebate_of(rule, *snapshots).minor == 1
    assert rebate_of(rule, *snapshots, order("o-x", lines=(line(unit="0.01"),))).minor == 1  # 1.5 cents


@pytest.mark.parametrize(
    ("currency", "unit", "minor"),
    [("JPY", "12345", 246), ("USD", "123.45", 246), ("KWD", "123.456", 2469)],
)
def test_money_is_kept_at_the_currency_precision(currency, unit, minor):
    rule = terms(currency=currency, bands=(Band(Decimal(0), Decimal(2)),))
    snapshot = order(lines=(line(unit=unit),), currency=currency)
    assert rebate_of(rule, snapshot).minor == minor  # 2 %, rounded down: ¥246, $2.46, 2.469 KWD
    assert to_minor(Fraction(1, 3), currency) == {"JPY": 0, "USD": 33, "KWD": 333}[currency]


def test_a_contribution_survives_its_json_exactly():
    snapshot = order(lines=(line(quantity=3, unit="10.00"),), refunded="10.00")
    contribution = contribution_of(snapshot, terms(tier_rates={"Gold": TierRate(Decimal(1), "bonus")}), tier="Gold")
    assert OrderContribution.from_json(contribution.to_json()) == contribution


# Terms and periods ------------------------------------------------------------------------------------------------


def test_terms_refuse_falling_bands_and_rates_above_100():
    with pytest.raises(InvalidTerms):
        _bands([{"threshold": "1000", "rate": "3"}, {"threshold": "500", "rate": "2"}])
    with pytest.raises(InvalidTerms):
        _bands([{"threshold": "0", "rate": "101"}])
    rule = terms(frequency=FrequencyBonus(2, Decimal("1.50"), Decimal(0)), line_rates={"product:p": Decimal(4)})
    assert RebateTerms.from_json(rule.to_json()) == rule


def test_periods_are_utc_months_or_quarters_named_by_key():
    at = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert period_of(at, "monthly").key == "2026-11"
    quarter = period_of(at, "quarterly")
    assert (quarter.key, quarter.starts_at.month, quarter.ends_at) == ("2026-Q4", 10, datetime(2027, 1, 1, tzinfo=UTC))
    assert period_by_key("2026-Q4") == quarter
    assert period_by_key("2026-12").starts_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_periods_follow_the_programs_time_zone_and_keep_their_bounds_in_utc():
    at = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December, 01:00 in Tokyo
    tokyo = period_of(at, "monthly", "Asia/Tokyo")
    assert (tokyo.key, tokyo.starts_at, tokyo.ends_at) == (
        "2026-12",
        datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 15, 0, tzinfo=UTC),
    )
    assert tokyo.starts_at.utcoffset() == timedelta(0)
    assert period_by_key("2026-12", "Asia/Tokyo") == tokyo
    # New York: November starts in summer time (UTC-4), December in winter time (UTC-5)
    november = period_by_key("2026-11", "America/New_York")
    assert (november.starts_at, november.ends_at) == (
        datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
    )
    assert period_of(datetime(2026, 12, 1, 4, 59, tzinfo=UTC), "monthly", "America/New_York").key == "2026-11"
    quarter = period_of(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "quarterly", "Europe/Warsaw")
    assert (quarter.key, quarter.starts_at) == ("2027-Q1", datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="unknown time zone"):
        period_of(at, "monthly", "Mars/Olympus_Mons")
