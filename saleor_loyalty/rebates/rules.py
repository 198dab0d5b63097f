"""What a member's period rebate is worth now, from the period's orders. Pure functions, no database.

The one place that computes rebates: the accrual, the shopper's progress and the statement all call it.

* An order contributes its **paid base** per line: the line's total after discounts (net of tax unless the program
  includes tax), less what refunds took back (by line where Saleor says which, else in proportion), scaled down by
  order-level discounts — ``program.earning.paid_shares``, the same shares points are earned on — plus shipping if
  the program counts it. A cancelled order, or one never paid in full, contributes nothing. The part of an order
  paid with the program's own store credit contributes nothing either (cash back on cash, not on cash back): the
  same shares, lowered pro rata (``paid_shares(..., store_credit)``), so it counts neither for rates nor for bands.
* The period's spend is the sum of its orders' paid bases; the rate bands apply to it: in ``whole`` mode the rate
  reached applies to all of it, in ``marginal`` mode each rate only to the spend between its threshold and the
  next. That band rebate, as an effective rate on the period's spend, is the rate of every line that has no rate
  of its own.
* A line of a product (else a category) with a line rate earns that rate instead. The tier the member was in when
  the order first accrued: an ``override`` replaces the band rate of the order's lines; a ``bonus`` is added to
  the rate of each of its lines (line rates included) and its shipping.
* Every Nth qualifying order of the period (by when it was placed) adds the frequency bonus: a fixed amount and/or
  an extra rate on that order's own spend.
* Exact (fractions) to the end, then **rounded down once**, for the whole period, to the currency's minor unit:
  nobody is paid a fraction of a cent the rule does not give, and however many orders a period has, its rebate is
  within one minor unit of the exact value (never the sum of per-order roundings).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from saleor_loyalty.core.money import currency_exponent
from saleor_loyalty.program.earning import NOT_EARNING_STATUSES, is_settled, line_basis, paid_shares
from saleor_loyalty.program.snapshots import OrderSnapshot

from .terms import BONUS, OVERRIDE, Band, RebateTerms, TierRate

_PERCENT = Fraction(1, 100)
ZERO = Fraction(0)


@dataclass(frozen=True)
class PaidLine:
    line_id: str
    base: Fraction  # the money paid for the line, as counted for rebates (exact)
    rate: Decimal | None  # the line's own rate (percent), or None: the band rate


@dataclass(frozen=True)
class OrderContribution:
    """One order's part of its period: its paid base per line and what it keeps of the terms it first accrued
    under (the member's tier then)."""

    order_id: str
    placed_at: datetime
    lines: tuple[PaidLine, ...]
    shipping: Fraction
    tier: str | None
    tier_rate: TierRate | None

    @property
    def spend(self) -> Fraction:
        return sum((line.base for line in self.lines), ZERO) + self.shipping

    def to_json(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "placed_at": self.placed_at.isoformat(),
            "lines": [
                {"id": line.line_id, "base": str(line.base), "rate": None if line.rate is None else str(line.rate)}
                for line in self.lines
            ],
            "shipping": str(self.shipping),
            "tier": self.tier,
            "tier_rate": _tier_json(self.tier_rate),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "OrderContribution":
        tier_rate = data.get("tier_rate")
        return cls(
            order_id=str(data["order_id"]),
            placed_at=datetime.fromisoformat(data["placed_at"]),
            lines=tuple(
                PaidLine(
                    line_id=str(line["id"]),
                    base=Fraction(line["base"]),
                    rate=None if line["rate"] is None else Decimal(line["rate"]),
                )
                for line in data.get("lines", [])
            ),
            shipping=Fraction(data.get("shipping", "0")),
            tier=data.get("tier"),
            tier_rate=None if not tier_rate else TierRate(Decimal(tier_rate["rate"]), str(tier_rate["mode"])),
        )


def _tier_json(tier_rate: TierRate | None) -> dict[str, str] | None:
    return None if tier_rate is None else {"rate": str(tier_rate.rate), "mode": tier_rate.mode}


def order_contribution(
    order: OrderSnapshot,
    terms: RebateTerms,
    *,
    tier: str | None,
    was_fully_paid: bool,
    store_credit: Decimal = Decimal(0),
) -> OrderContribution:
    """What the order contributes to its period now, under its frozen ``terms`` and ``tier``. ``store_credit``: the
    money of it paid with the program's store credit, which earns no rebate (it lowers every line pro rata)."""
    tier_rate = terms.tier_rate(tier)
    counts = (
        order.status not in NOT_EARNING_STATUSES
        and is_settled(order, was_fully_paid)
        and order.currency == terms.currency
        and order.total_gross > 0
    )
    if not counts:
        return OrderContribution(order.id, order.created, (), ZERO, tier, tier_rate)
    shares = paid_shares(order, terms.include_tax, store_credit)
    paid = shares.spread * shares.share
    lines = tuple(
        PaidLine(
            line_id=line.id,
            base=Fraction(line_basis(line, terms.include_tax)) * kept * paid,
            rate=terms.line_rate(line.product_id, line.category_id),
        )
        for line, kept in zip(order.lines, shares.kept, strict=True)
    )
    shipping = Fraction(shares.shipping) * paid if terms.include_shipping else ZERO
    return OrderContribution(order.id, order.created, lines, shipping, tier, tier_rate)


def band_reached(spend: Fraction, bands: tuple[Band, ...]) -> Band | None:
    """The highest band whose threshold the spend has reached (None: below the first band, rate 0)."""
    reached = [band for band in bands if Fraction(band.threshold) <= spend]
    return reached[-1] if reached else None


def next_band(spend: Fraction, bands: tuple[Band, ...]) -> Band | None:
    """The first band the spend has not reached yet."""
    return next((band for band in bands if Fraction(band.threshold) > spend), None)


def banded_rebate(spend: Fraction, bands: tuple[Band, ...], mode: str) -> Fraction:
    """The rebate the bands give on ``spend`` (money, exact): whole — the rate reached on all of it; marginal —
    each band's rate on the part of the spend between its threshold and the next one."""
    if mode == "whole":
        band = band_reached(spend, bands)
        return spend * Fraction(band.rate) * _PERCENT if band is not None else ZERO
    total = ZERO
    for band, upper in zip(bands, [*[Fraction(b.threshold) for b in bands[1:]], None], strict=True):
        top = spend if upper is None else min(spend, upper)
        total += max(ZERO, top - Fraction(band.threshold)) * Fraction(band.rate) * _PERCENT
    return total


@dataclass(frozen=True)
class PeriodRebate:
    exact: Fraction  # money, before the one rounding
    minor: int  # the period's rebate in minor units (rounded down once)
    spend: Fraction
    band: Band | None  # the band the period's spend has reached
    effective_rate: Fraction  # the band rebate as a share of the spend (what lines without their own rate earn)


def period_rebate(terms: RebateTerms, contributions: Iterable[OrderContribution]) -> PeriodRebate:
    """The period's rebate from all of its orders, under the period's frozen ``terms`` (bands, mode, frequency);
    each order brings its own line rates and tier."""
    orders = sorted(contributions, key=lambda c: (c.placed_at, c.order_id))
    spend = sum((order.spend for order in orders), ZERO)
    effective = banded_rebate(spend, terms.bands, terms.threshold_mode) / spend if spend > 0 else ZERO
    exact = sum((_order_rebate(order, effective) for order in orders), ZERO)
    exact += _frequency_bonus(terms, orders)
    return PeriodRebate(exact, to_minor(exact, terms.currency), spend, band_reached(spend, terms.bands), effective)


def _order_rebate(order: OrderContribution, effective: Fraction) -> Fraction:
    band_rate = effective
    bonus = ZERO
    if order.tier_rate is not None and order.tier_rate.mode == OVERRIDE:
        band_rate = Fraction(order.tier_rate.rate) * _PERCENT
    elif order.tier_rate is not None and order.tier_rate.mode == BONUS:
        bonus = Fraction(order.tier_rate.rate) * _PERCENT
    total = order.shipping * (band_rate + bonus)
    for line in order.lines:
        rate = band_rate if line.rate is None else Fraction(line.rate) * _PERCENT
        total += line.base * (rate + bonus)
    return total


def _frequency_bonus(terms: RebateTerms, orders: list[OrderContribution]) -> Fraction:
    frequency = terms.frequency
    if frequency is None:
        return ZERO
    qualifying = [order for order in orders if order.spend > 0]
    bonus = ZERO
    for position, order in enumerate(qualifying, start=1):
        if position % frequency.nth == 0:
            bonus += Fraction(frequency.amount) + order.spend * Fraction(frequency.rate) * _PERCENT
    return bonus


def to_minor(amount: Fraction, currency: str) -> int:
    """Money as whole minor units of the currency, rounded down: the one rounding a period's rebate gets."""
    per_unit = int(Decimal(1).scaleb(currency_exponent(currency)))  # minor units in one unit
    return (amount.numerator * per_unit) // amount.denominator  # floor division: rounds down
