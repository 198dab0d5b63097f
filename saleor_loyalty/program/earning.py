"""How many points an order is worth now, under a frozen earning rule. Pure functions, no database.

The one place that computes "points for an order": reconciliation, estimates and the simulator all call it.

* The base is what the shopper actually pays for eligible items: line totals after discounts (net of tax
  unless the rule includes tax), plus shipping if the rule counts it. Order-level discounts Saleor did not
  spread over lines scale the base down to the order total.
* Each line earns ``rate × multiplier × tier multiplier × campaign multiplier``; for product multipliers and
  for overlapping campaigns the highest that matches the line wins; campaigns' fixed bonuses add up.
* Refunds Saleor attributes to lines remove those lines' points exactly; any other refunded money reduces the
  rest in proportion. A cancelled order, or one never paid in full, is worth nothing.
* Money paid with the program's own store credit (a rebate paid as a Saleor gift card, spent through Saleor's
  gift-card gateway) earns nothing: it reduces what the order earns on in proportion, across every line and
  shipping, like unattributed refunds. Cash back is earned on cash, not on cash back.
* The result is exact (6 decimal places, rounded down); the integer part is awarded and the fraction carried.
"""

import math
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .snapshots import LineSnapshot, OrderSnapshot

EXACT = Decimal("0.000001")
_PER_POINT = 1_000_000  # EXACT's steps in one point
ZERO = Decimal(0)
NOT_EARNING_STATUSES = frozenset({"CANCELED", "EXPIRED", "DRAFT"})


@dataclass(frozen=True)
class RuleSnapshot:
    """An earning rule as it was when an order first earned: clawbacks keep using it."""

    rule_id: int | None
    currency: str
    points_per_unit: Decimal
    include_tax: bool
    include_shipping: bool
    min_order_amount: Decimal
    # "product:<id>" / "variant:<id>" / "category:<id>" -> multiplier
    multipliers: dict[str, Decimal]
    tier_multiplier: Decimal = Decimal(1)
    tier: str | None = None
    campaigns: tuple["CampaignTerms", ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("points_per_unit", "min_order_amount", "tier_multiplier"):
            data[name] = str(data[name])
        data["multipliers"] = {k: str(v) for k, v in self.multipliers.items()}
        data["campaigns"] = [campaign.to_json() for campaign in self.campaigns]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RuleSnapshot":
        return cls(
            rule_id=data.get("rule_id"),
            currency=data["currency"],
            points_per_unit=Decimal(data["points_per_unit"]),
            include_tax=bool(data["include_tax"]),
            include_shipping=bool(data["include_shipping"]),
            min_order_amount=Decimal(data["min_order_amount"]),
            multipliers={k: Decimal(v) for k, v in data.get("multipliers", {}).items()},
            tier_multiplier=Decimal(data.get("tier_multiplier", "1")),
            tier=data.get("tier"),
            campaigns=tuple(CampaignTerms.from_json(c) for c in data.get("campaigns", [])),
        )


@dataclass(frozen=True)
class CampaignTerms:
    """A bonus campaign as it applied to an order (frozen with the rule, so the lot records it)."""

    campaign_id: int
    name: str
    multiplier: Decimal
    fixed_bonus: int
    product_ids: tuple[str, ...] = ()  # empty: every product
    category_ids: tuple[str, ...] = ()  # empty: every category

    def applies_to(self, line: LineSnapshot) -> bool:
        if self.product_ids and line.product_id not in self.product_ids:
            return False
        return not self.category_ids or line.category_id in self.category_ids

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "multiplier": str(self.multiplier),
            "fixed_bonus": self.fixed_bonus,
            "product_ids": list(self.product_ids),
            "category_ids": list(self.category_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CampaignTerms":
        return cls(
            campaign_id=int(data["campaign_id"]),
            name=str(data.get("name", "")),
            multiplier=Decimal(data["multiplier"]),
            fixed_bonus=int(data["fixed_bonus"]),
            product_ids=tuple(data.get("product_ids", [])),
            category_ids=tuple(data.get("category_ids", [])),
        )


def line_multiplier(line: LineSnapshot, rule: RuleSnapshot) -> Decimal:
    keys = [f"variant:{line.variant_id}", f"product:{line.product_id}", f"category:{line.category_id}"]
    found = [rule.multipliers[k] for k in keys if k in rule.multipliers]
    campaigns = [c.multiplier for c in rule.campaigns if c.applies_to(line)]
    product = max(found) if found else Decimal(1)
    campaign = max(campaigns) if campaigns else Decimal(1)
    return product * rule.tier_multiplier * campaign


def campaign_bonus(order: OrderSnapshot, rule: RuleSnapshot) -> int:
    """Fixed bonuses of the campaigns that apply to at least one line of the order."""
    return sum(c.fixed_bonus for c in rule.campaigns if any(c.applies_to(line) for line in order.lines))


def is_settled(order: OrderSnapshot, was_fully_paid: bool) -> bool:
    """Paid in full at some point: now, or before refunds brought the charge down."""
    return was_fully_paid or order.is_fully_charged or order.total_refunded > 0


def kept_share(order: OrderSnapshot, was_fully_paid: bool) -> Fraction:
    """How much of the order the shopper keeps paying for: 0 when cancelled, less after refunds, else 1. Exact (a
    third is 1/3, not 0.333…): points are multiplied by it and only then rounded down."""
    if order.status in NOT_EARNING_STATUSES:
        return Fraction(0)
    if not is_settled(order, was_fully_paid) or order.total_gross <= 0:
        return Fraction(1)
    kept = Fraction(min(order.total_charged, order.total_gross)) / Fraction(order.total_gross)
    return max(Fraction(0), min(Fraction(1), kept))


def net_spend(order: OrderSnapshot, was_fully_paid: bool, store_credit: Decimal = ZERO) -> Decimal:
    """Money paid for the order net of refunds, less ``store_credit`` (what of it was paid with the program's own
    store credit: cash back is not spend); nothing for a cancelled or never fully paid order."""
    if order.status in NOT_EARNING_STATUSES or not is_settled(order, was_fully_paid):
        return ZERO
    kept = max(ZERO, min(order.total_charged, order.total_gross))
    return kept - min(max(ZERO, store_credit), kept)


def line_basis(line: LineSnapshot, include_tax: bool) -> Decimal:
    """A line's total after discounts, with or without tax."""
    return line.total_gross if include_tax else line.total_net


@dataclass(frozen=True)
class PaidShares:
    """How much of an order the shopper still pays for, exactly: what earning (and rebates) apply their rates to.

    A line's paid base is ``line_basis × kept × spread × share``; shipping's is ``shipping × spread × share``.
    """

    spread: Fraction  # order-level discounts Saleor did not spread over lines scale the base down by this
    kept: tuple[Fraction, ...]  # per line (as ``order.lines``): the share of its quantity not refunded by line
    share: Fraction  # of what is left, the share not taken by refunds that name no line nor paid by store credit
    shipping: Decimal  # the order's shipping, with or without tax as the base


def paid_shares(order: OrderSnapshot, include_tax: bool, store_credit: Decimal = ZERO) -> PaidShares:
    """Refunds Saleor attributes to lines remove those lines' quantities; other refunded money reduces the rest in
    proportion; so does ``store_credit``, the money of the order the shopper paid with the program's store credit
    (net of what Saleor refunded to it), out of the money the order keeps. Exact fractions: callers multiply and
    round once."""
    order_total = order.total_gross if include_tax else order.total_net
    shipping = order.shipping_gross if include_tax else order.shipping_net
    undiscounted = sum((line_basis(line, include_tax) for line in order.lines), ZERO) + shipping
    spread = min(Fraction(1), Fraction(order_total) / Fraction(undiscounted)) if undiscounted > 0 else Fraction(0)

    kept = []
    attributed_refund = ZERO  # gross money refunded for specific lines
    for line in order.lines:
        refunded_qty = min(order.refunded_quantities.get(line.id, 0), line.quantity)
        kept.append(Fraction(line.quantity - refunded_qty, line.quantity) if line.quantity > 0 else Fraction(0))
        attributed_refund += line.unit_gross * refunded_qty

    refunded_money = max(ZERO, order.total_gross - min(order.total_charged, order.total_gross))
    unattributed = max(ZERO, refunded_money - attributed_refund)
    remaining_money = order.total_gross - min(attributed_refund, order.total_gross)
    share = Fraction(remaining_money - unattributed) / Fraction(remaining_money) if remaining_money > 0 else Fraction(0)
    share = max(Fraction(0), min(Fraction(1), share))
    share *= cash_share(order, store_credit)
    return PaidShares(spread=spread, kept=tuple(kept), share=share, shipping=shipping)


def cash_share(order: OrderSnapshot, store_credit: Decimal) -> Fraction:
    """The share of the money the order keeps (charged, at most its total) that was not paid with store credit."""
    if store_credit <= 0:
        return Fraction(1)
    kept_money = min(order.total_charged, order.total_gross)
    if kept_money <= 0:
        return Fraction(1)
    return max(Fraction(0), Fraction(kept_money - min(store_credit, kept_money)) / Fraction(kept_money))


def order_points(
    order: OrderSnapshot,
    rule: RuleSnapshot,
    *,
    was_fully_paid: bool = False,
    redeemed_value: Decimal = ZERO,
    store_credit: Decimal = ZERO,
) -> Decimal:
    if order.status in NOT_EARNING_STATUSES or not is_settled(order, was_fully_paid):
        return ZERO
    if order.currency != rule.currency or order.total_gross <= 0:
        return ZERO
    order_total = order.total_gross if rule.include_tax else order.total_net
    if order_total < rule.min_order_amount:
        return ZERO

    # Exact arithmetic (fractions) to the end, then rounded down once: dividing first in Decimal lost a whole point
    # whenever the true value was whole (two thirds of 21.00 earned 13.999999 points; found by tests/test_simulator).
    shares = paid_shares(order, rule.include_tax, store_credit)
    weighted = Fraction(0)
    for line, kept in zip(order.lines, shares.kept, strict=True):
        weighted += Fraction(line_basis(line, rule.include_tax)) * kept * Fraction(line_multiplier(line, rule))
    if rule.include_shipping:
        weighted += Fraction(shares.shipping)
    weighted += Fraction(redeemed_value)  # only when the merchant lets the points-paid part earn

    points = (
        weighted * shares.spread * Fraction(rule.points_per_unit) + Fraction(campaign_bonus(order, rule))
    ) * shares.share
    return exact_points(points)


def exact_points(points: Fraction) -> Decimal:
    """``points`` rounded down to the ledger's exact precision (6 decimals): the one rounding an order's worth gets."""
    return (Decimal(math.floor(points * _PER_POINT)) / _PER_POINT).quantize(EXACT)
