"""Money as ``Decimal`` with each currency's ISO 4217 precision; never float.

Saleor sends amounts as JSON numbers. They are read through ``str`` (``Decimal(str(140.1))`` is exactly 140.1)
and quantized to the currency's exponent, so a float's binary noise never reaches the ledger.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from 2 (every other active code has 2).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
# A single order line or order beyond this is not a real purchase; treat as malformed input.
MAX_AMOUNT = Decimal("1000000000")


class InvalidAmount(ValueError):
    """An amount that is not a finite, non-negative number within range for its currency."""


def currency_exponent(currency: str) -> int:
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidAmount(f"not an ISO 4217 currency code: {currency!r}")
    return _EXPONENTS.get(code, 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_exponent(currency))


def to_money(value: object, currency: str) -> Decimal:
    """Parse an amount from a payload into a Decimal at the currency's precision.

    Rejects bools, NaN/infinity, negatives and absurdly large values with ``InvalidAmount``.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAmount(f"not an amount: {value!r}")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise InvalidAmount(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise InvalidAmount(f"amount out of range: {value!r}")
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units (cents, yen, fils) — how money balances are stored in the ledger."""
    return int(amount.scaleb(currency_exponent(currency)).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-currency_exponent(currency)).quantize(quantum(currency))
