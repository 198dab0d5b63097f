"""A rebate program's terms as a value: what an order and a period are computed with, frozen as JSON.

A period freezes the program's terms at its first accrual (its bands, threshold mode and frequency bonus), and
each order freezes them at its own first accrual (its base, line rates and the member's tier then), so changing
the program never rewrites what was already accrued: a refund reverses at the rates that accrued. Rates are
percentages as ``Decimal``; thresholds and amounts are money in the program's currency.
"""

import itertools
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from saleor_loyalty.core.money import currency_exponent
from saleor_loyalty.core.refusals import FieldRefusal, about

from .models import RebateProgram, ThresholdMode

OVERRIDE = "override"
BONUS = "bonus"
_HUNDRED = Decimal(100)


class InvalidTerms(FieldRefusal):
    """A program's bands, tier or line rates that cannot be applied (``field``: the program's field it is about)."""


@dataclass(frozen=True)
class Band:
    threshold: Decimal  # the period's spend from which ``rate`` applies
    rate: Decimal  # percent


@dataclass(frozen=True)
class TierRate:
    rate: Decimal  # percent
    mode: str  # OVERRIDE: replaces the band rate; BONUS: added to every line's rate


@dataclass(frozen=True)
class FrequencyBonus:
    nth: int  # the Nth, 2Nth, ... qualifying order of the period
    amount: Decimal  # fixed money
    rate: Decimal  # extra percent on that order's own spend


@dataclass(frozen=True)
class RebateTerms:
    program_id: int
    currency: str
    include_tax: bool
    include_shipping: bool
    threshold_mode: str
    bands: tuple[Band, ...]
    tier_rates: dict[str, TierRate] = field(default_factory=dict)
    line_rates: dict[str, Decimal] = field(default_factory=dict)  # "product:<id>" / "category:<id>" -> percent
    frequency: FrequencyBonus | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id,
            "currency": self.currency,
            "include_tax": self.include_tax,
            "include_shipping": self.include_shipping,
            "threshold_mode": self.threshold_mode,
            "bands": [{"threshold": str(b.threshold), "rate": str(b.rate)} for b in self.bands],
            "tier_rates": {name: {"rate": str(t.rate), "mode": t.mode} for name, t in self.tier_rates.items()},
            "line_rates": {key: str(rate) for key, rate in self.line_rates.items()},
            "frequency": None
            if self.frequency is None
            else {
                "nth": self.frequency.nth,
                "amount": str(self.frequency.amount),
                "rate": str(self.frequency.rate),
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RebateTerms":
        frequency = data.get("frequency")
        return cls(
            program_id=int(data["program_id"]),
            currency=str(data["currency"]),
            include_tax=bool(data["include_tax"]),
            include_shipping=bool(data["include_shipping"]),
            threshold_mode=str(data["threshold_mode"]),
            bands=_bands(data.get("bands", [])),
            tier_rates=_tier_rates(data.get("tier_rates", {})),
            line_rates=_line_rates(data.get("line_rates", {})),
            frequency=None
            if not frequency
            else FrequencyBonus(
                nth=int(frequency["nth"]),
                amount=_decimal(frequency["amount"], "frequency amount"),
                rate=_rate(frequency["rate"]),
            ),
        )

    def tier_rate(self, tier: str | None) -> TierRate | None:
        return self.tier_rates.get(tier) if tier is not None else None

    def line_rate(self, product_id: str | None, category_id: str | None) -> Decimal | None:
        """The rate overriding the band rate for a line: its product's, else its category's, else None."""
        for key in (f"product:{product_id}", f"category:{category_id}"):
            if key in self.line_rates:
                return self.line_rates[key]
        return None


def program_terms(program: RebateProgram) -> RebateTerms:
    """The program's terms now, checked (``InvalidTerms`` says what is wrong, and about which field)."""
    currency_exponent(program.currency)  # an ISO code, or InvalidAmount
    if program.threshold_mode not in ThresholdMode.values:
        raise InvalidTerms(f"unknown threshold mode {program.threshold_mode!r}", "threshold_mode")
    nth = program.frequency_nth
    bonus = program.frequency_bonus_amount > 0 or program.frequency_bonus_rate > 0
    with about("bands"):
        bands = _bands(program.bands)
    with about("tier_rates"):
        tier_rates = _tier_rates(program.tier_rates)
    with about("line_rates"):
        line_rates = _line_rates(program.line_rates)
    with about("frequency_bonus_rate"):
        frequency_rate = _rate(program.frequency_bonus_rate)
    return RebateTerms(
        program_id=program.pk,
        currency=program.currency,
        include_tax=program.include_tax,
        include_shipping=program.include_shipping,
        threshold_mode=program.threshold_mode,
        bands=bands,
        tier_rates=tier_rates,
        line_rates=line_rates,
        frequency=FrequencyBonus(nth, program.frequency_bonus_amount, frequency_rate) if nth and bonus else None,
    )


def _decimal(value: object, what: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTerms(f"{what} is not a number: {value!r}") from exc
    if not number.is_finite() or number < 0:
        raise InvalidTerms(f"{what} must be a non-negative number, got {value!r}")
    return number


def _rate(value: object) -> Decimal:
    rate = _decimal(value, "rate")
    if rate > _HUNDRED:
        raise InvalidTerms(f"a rate is a percentage up to 100, got {value!r}")
    return rate


def _bands(raw: object) -> tuple[Band, ...]:
    if not isinstance(raw, list) or not all(isinstance(b, dict) and {"threshold", "rate"} <= set(b) for b in raw):
        raise InvalidTerms("bands are a list of {threshold, rate}")
    bands = tuple(Band(_decimal(b["threshold"], "threshold"), _rate(b["rate"])) for b in raw)
    if any(a.threshold >= b.threshold for a, b in itertools.pairwise(bands)):
        raise InvalidTerms("band thresholds must rise strictly")
    return bands


def _tier_rates(raw: object) -> dict[str, TierRate]:
    if not isinstance(raw, dict):
        raise InvalidTerms("tier rates map a tier name to {rate, mode}")
    rates = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or "rate" not in entry:
            raise InvalidTerms(f"the tier rate of {name!r} needs a rate")
        mode = entry.get("mode", BONUS)
        if mode not in (OVERRIDE, BONUS):
            raise InvalidTerms(f"tier rate mode is {OVERRIDE!r} or {BONUS!r}, got {mode!r}")
        rates[str(name)] = TierRate(_rate(entry["rate"]), mode)
    return rates


def _line_rates(raw: object) -> dict[str, Decimal]:
    if not isinstance(raw, dict):
        raise InvalidTerms("line rates map product:<id> or category:<id> to a rate")
    for key in raw:
        if not str(key).startswith(("product:", "category:")):
            raise InvalidTerms(f"a line rate is for product:<id> or category:<id>, got {key!r}")
    return {str(key): _rate(rate) for key, rate in raw.items()}
