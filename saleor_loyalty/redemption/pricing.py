"""What points are worth at checkout, and whether a request fits the channel's limits. Pure, no database."""

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from saleor_loyalty.core.money import currency_exponent, quantum

from .errors import RedemptionError

MAX_POINTS_PER_REQUEST = 10**9


@dataclass(frozen=True)
class Terms:
    currency: str
    points_per_unit: int  # points for one unit of currency off
    min_points: int
    max_points_per_order: int | None
    max_percent_of_subtotal: Decimal
    step_points: int

    @property
    def exact_step(self) -> int:
        """The smallest number of points worth an exact amount in this currency, combined with the step."""
        minor_units = 10 ** currency_exponent(self.currency)
        exact = self.points_per_unit // math.gcd(self.points_per_unit, minor_units)
        return math.lcm(exact, self.step_points)

    def value_of(self, points: int) -> Decimal:
        return (Decimal(points) / self.points_per_unit).quantize(quantum(self.currency))


def parse_points(points: object) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise RedemptionError("INVALID", "points must be a whole number", "points")
    if points <= 0:
        raise RedemptionError("INVALID", "points must be positive", "points")
    if points > MAX_POINTS_PER_REQUEST:
        raise RedemptionError("INVALID", "points is too large", "points")
    return points


def points_for_amount(terms: Terms, amount: object) -> int:
    """Points needed for exactly ``amount`` off."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise RedemptionError("INVALID", "amount must be a number", "amount") from exc
    if not value.is_finite() or value <= 0 or value > Decimal(10**9):
        raise RedemptionError("INVALID", "amount must be positive", "amount")
    if value != value.quantize(quantum(terms.currency)):
        raise RedemptionError("INVALID", f"amount has more decimals than {terms.currency} allows", "amount")
    points = value * terms.points_per_unit
    if points != points.to_integral_value():
        raise RedemptionError("INVALID_STEP", "that amount is not worth a whole number of points", "amount")
    return int(points)


def check(terms: Terms, points: int, subtotal: Decimal, field: str = "points") -> Decimal:
    """The discount ``points`` buy on a checkout with this subtotal, or a RedemptionError saying why not."""
    if points < terms.min_points:
        raise RedemptionError("BELOW_MINIMUM", f"at least {terms.min_points} points can be redeemed", field)
    if terms.max_points_per_order is not None and points > terms.max_points_per_order:
        raise RedemptionError(
            "ABOVE_MAXIMUM", f"at most {terms.max_points_per_order} points can be redeemed per order", field
        )
    if points % terms.exact_step:
        raise RedemptionError("INVALID_STEP", f"points must be a multiple of {terms.exact_step}", field)
    value = terms.value_of(points)
    cap = (subtotal * terms.max_percent_of_subtotal / 100).quantize(quantum(terms.currency))
    if value > cap:
        raise RedemptionError(
            "ABOVE_ORDER_CAP",
            f"points can pay at most {terms.max_percent_of_subtotal}% of the subtotal ({cap} {terms.currency})",
            field,
        )
    return value


def max_redeemable(terms: Terms, available: int, subtotal: Decimal) -> int:
    """The most points the shopper can put on this checkout (0 when not even the minimum fits)."""
    cap_value = subtotal * terms.max_percent_of_subtotal / 100
    limit = min(available, int(cap_value * terms.points_per_unit))
    if terms.max_points_per_order is not None:
        limit = min(limit, terms.max_points_per_order)
    limit -= limit % terms.exact_step
    return limit if limit >= max(terms.min_points, 1) else 0
