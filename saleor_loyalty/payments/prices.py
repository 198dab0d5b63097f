"""A store's Stripe Price as a paid plan needs to know it: what it charges, how often, and whether it is on sale.

The app never charges a plan's price itself: Stripe Checkout charges what the Price says. So a plan's price, currency
and interval, which the shopper is shown, must be the Price's; the memberships configuration checks them here when
a plan is saved.
"""

from dataclasses import dataclass

import stripe

from saleor_loyalty.installs.models import Install

from .client import StripeRefused, classify, stripe_client


@dataclass(frozen=True)
class StripePrice:
    id: str
    active: bool
    currency: str  # ISO 4217, upper case
    unit_amount: int | None  # in the currency's minor units; None: not a fixed amount (metered, tiered)
    interval: str | None  # day, week, month, year; None: a one-time price
    interval_count: int


def stripe_price(install: Install, price_id: str) -> StripePrice:
    """The Price ``price_id`` in the store's Stripe account. Raises ``StripeNotConnected``, ``StripeRefused`` (code
    ``resource_missing``: no such price) or ``StripeOutcomeUnknown`` (Stripe could not be asked)."""
    try:
        price = stripe_client(install).v1.prices.retrieve(price_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:  # Stripe's code: resource_missing
            raise StripeRefused("resource_missing", f"no such price: {price_id}") from exc
        raise classify(exc) from exc
    except stripe.StripeError as exc:
        raise classify(exc) from exc
    shown = price.to_dict()
    recurring = shown.get("recurring") or {}
    return StripePrice(
        id=str(shown.get("id") or price_id),
        active=bool(shown.get("active")),
        currency=str(shown.get("currency") or "").upper(),
        unit_amount=shown.get("unit_amount"),
        interval=str(recurring["interval"]) if recurring.get("interval") else None,
        interval_count=int(recurring.get("interval_count") or 1) if recurring else 0,
    )
