"""What the features above the program supply to an order's settlement, without the program importing them.

The layers go installs → Saleor client → members → ledger → program → features: the program never imports a
feature. Yet settling an order needs two answers only features have: the shopper's tier (its name, which campaigns
target, and its earn multiplier, frozen into the order's rule snapshot) and the order's redemptions (points spent
on it: spent when the order arrives with the redemption's code, partly given back as it is refunded, and worth
points themselves where the merchant lets the points-paid part earn). Rebates answer a third: how much of the order
was paid with the program's own store credit (a rebate paid as a gift card), which earns nothing. Each feature
supplies its answer when Django starts (its ``AppConfig.ready``); until one does, the program has no tiers, no
redemptions and no store credit.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

from .models import ProgramSettings
from .snapshots import OrderSnapshot


class TierOf(Protocol):
    def __call__(self, member: Member) -> tuple[str | None, Decimal]:
        """The member's tier name and earn multiplier (no tier: ``(None, Decimal(1))``)."""
        ...


class OrderRedemptions(Protocol):
    def capture(self, install: Install, *, order_id: str, voucher_code: str | None) -> bool:
        """Spend the points of the redemption whose code the order used; True when the code was a redemption's."""
        ...

    def redeemed_value(self, install: Install, *, order_id: str) -> Decimal:
        """The money the order's redemptions took off it."""
        ...

    def settle_returns(self, install: Install, *, order_id: str, kept_share: Fraction, program: ProgramSettings) -> int:
        """Give back the points spent on the share of the order no longer kept; returns the points given back."""
        ...


class StoreCreditSpent(Protocol):
    def __call__(self, install: Install, member: Member, order: OrderSnapshot) -> Decimal:
        """The money of the order the member paid with the program's store credit (net of Saleor's refunds to it)."""
        ...


def _no_store_credit(install: Install, member: Member, order: OrderSnapshot) -> Decimal:
    return Decimal(0)


def _no_tier(member: Member) -> tuple[str | None, Decimal]:
    return None, Decimal(1)


class _NoRedemptions:
    def capture(self, install: Install, *, order_id: str, voucher_code: str | None) -> bool:
        return False

    def redeemed_value(self, install: Install, *, order_id: str) -> Decimal:
        return Decimal(0)

    def settle_returns(self, install: Install, *, order_id: str, kept_share: Fraction, program: ProgramSettings) -> int:
        return 0


@dataclass
class _Supplied:
    tier_of: TierOf = _no_tier
    redemptions: OrderRedemptions = field(default_factory=_NoRedemptions)
    store_credit_spent: StoreCreditSpent = _no_store_credit


_supplied = _Supplied()


def supply_tiers(tier_of: TierOf) -> None:
    _supplied.tier_of = tier_of


def supply_redemptions(redemptions: OrderRedemptions) -> None:
    _supplied.redemptions = redemptions


def supply_store_credit(spent: StoreCreditSpent) -> None:
    _supplied.store_credit_spent = spent


def store_credit_spent(install: Install, member: Member, order: OrderSnapshot) -> Decimal:
    """The money of ``order`` the member paid with the program's store credit: it earns nothing."""
    return _supplied.store_credit_spent(install, member, order)


def member_tier(member: Member | None) -> tuple[str | None, Decimal]:
    """The member's tier name and earn multiplier (no member, or no tiers: ``(None, Decimal(1))``)."""
    if member is None:
        return None, Decimal(1)
    return _supplied.tier_of(member)


def order_redemptions() -> OrderRedemptions:
    return _supplied.redemptions
