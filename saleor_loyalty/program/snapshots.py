"""Typed, validated views of Saleor objects, as the program needs them.

The webhooks app builds these from payloads; domain code never sees JSON. Amounts are ``Decimal`` at the
currency's precision.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class LineSnapshot:
    id: str
    quantity: int
    variant_id: str | None
    product_id: str | None
    category_id: str | None
    unit_gross: Decimal
    total_gross: Decimal
    total_net: Decimal


@dataclass(frozen=True)
class OrderSnapshot:
    id: str
    number: str
    status: str  # OrderStatus: UNCONFIRMED, UNFULFILLED, ..., CANCELED, EXPIRED
    channel_slug: str
    currency: str
    user_id: str | None
    user_email: str | None
    created: datetime
    updated_at: datetime
    total_gross: Decimal
    total_net: Decimal
    shipping_gross: Decimal
    shipping_net: Decimal
    total_charged: Decimal
    total_refunded: Decimal
    charge_status: str  # OrderChargeStatusEnum: NONE, PARTIAL, FULL, OVERCHARGED
    voucher_code: str | None
    lines: tuple[LineSnapshot, ...]
    # quantity refunded per line, where Saleor says which lines a refund was for
    refunded_quantities: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)  # public: the storefront (and shopper) can write it
    shipping_address: "AddressSnapshot | None" = None
    # The order's payments (Saleor's transactions), as a payout back onto them needs them. Empty when the payload
    # has none (an order paid otherwise, a document or a sample without ``transactions``).
    payments: "tuple[PaymentSnapshot, ...]" = ()
    # Whether the source of this snapshot can vouch for its payment state. A webhook body is shaped by a
    # subscription that staff with MANAGE_APPS can edit, so the webhook layer vouches only for the event whose
    # meaning is payment itself (ORDER_FULLY_PAID: Saleor sends it only for an order paid in full).
    payment_vouched: bool = True

    @property
    def is_fully_charged(self) -> bool:
        """Paid in full: said by a source that can vouch for it, in ``chargeStatus`` *and* in the money charged.
        One field's word is not enough: ``chargeStatus`` aliased from ``authorizeStatus`` says FULL for an order
        that was only authorised."""
        return (
            self.payment_vouched
            and self.charge_status in ("FULL", "OVERCHARGED")
            and self.total_charged >= self.total_gross
        )


@dataclass(frozen=True)
class PaymentSnapshot:
    """One of the order's payments: a Saleor transaction, identified at its payment provider by ``psp_reference``
    (a Stripe PaymentIntent id, ``pi_…``, for payments through Saleor's Stripe app). Amounts in the order's
    currency; ``refunded`` counts Saleor's own refunds, done and pending."""

    psp_reference: str
    name: str  # the transaction's name, as the payment app set it ("Stripe", ...)
    app_identifier: str | None  # the app that created the transaction (its manifest id), if Saleor names one
    currency: str
    charged: Decimal
    refunded: Decimal
    # A payment with a Saleor gift card through Saleor's gift-card gateway (3.23+): the card code's last characters
    # (``GiftCardPaymentMethodDetails.lastChars``). None for any other payment, and on 3.22 (no such gateway).
    gift_card_last_chars: str | None = None

    @property
    def is_stripe_payment_intent(self) -> bool:
        return self.psp_reference.startswith("pi_")

    @property
    def kept(self) -> Decimal:
        """What the payment still holds: charged, less Saleor's refunds (done and pending)."""
        return max(Decimal(0), self.charged - self.refunded)


@dataclass(frozen=True)
class AddressSnapshot:
    street: str
    postal_code: str
    city: str
    country: str
    phone: str


@dataclass(frozen=True)
class CustomerSnapshot:
    user_id: str
    email: str
    is_confirmed: bool
    is_active: bool
    first_name: str = ""
    date_joined: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # public: the shopper can write it
    private_metadata: dict[str, str] = field(default_factory=dict)  # staff and apps only
