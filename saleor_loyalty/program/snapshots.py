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
