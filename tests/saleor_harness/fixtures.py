"""Fixture data in Saleor's shape, to feed `build_webhook_body` and FakeSaleor resolvers.

Plain dicts keyed by GraphQL field names, a superset of what a loyalty app asks about orders, checkouts and
customers. Amounts are floats rounded to the currency's digits (Saleor sends `Money.amount` as a JSON number),
IDs are Saleor global IDs. Defaults make a consistent order: total = lines + shipping, fully charged; charge and
payment statuses follow from charged/refunded amounts the way Saleor's legacy payments report them.
"""

from __future__ import annotations

import base64
import datetime
import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Json = dict[str, Any]
Metadata = Mapping[str, str] | Sequence[Mapping[str, str]] | None

_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF"})
_counter = itertools.count(1)


def global_id(type_name: str, pk: object) -> str:
    """Saleor's (graphene's) global ID: base64 of `"<Type>:<pk>"`, padded."""
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode("ascii")


def now_iso(offset_seconds: float = 0) -> str:
    """A timestamp formatted like Saleor's DateTime (`2026-11-23T10:55:17.900872+00:00`)."""
    moment = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=offset_seconds)
    return moment.isoformat()


def _digits(currency: str) -> int:
    return 0 if currency in _ZERO_DECIMAL_CURRENCIES else 2


def money(amount: float, currency: str = "USD") -> Json:
    """A `Money` object."""
    digits = _digits(currency)
    value = round(float(amount), digits)
    return {
        "amount": value,
        "currency": currency,
        "fractionalAmount": round(value * 10**digits),
        "fractionDigits": digits,
    }


def taxed(gross: float, net: float | None = None, currency: str = "USD") -> Json:
    """A `TaxedMoney` object; `net` defaults to `gross` (no tax, like the samples' store)."""
    net_value = gross if net is None else net
    return {
        "gross": money(gross, currency),
        "net": money(net_value, currency),
        "tax": money(float(gross) - float(net_value), currency),
        "currency": currency,
    }


def metadata(items: Metadata) -> list[Json]:
    """`[MetadataItem]` from a dict or a list of `{key, value}`."""
    if items is None:
        return []
    if isinstance(items, Mapping):
        return [{"key": key, "value": value} for key, value in items.items()]
    return [{"key": item["key"], "value": item["value"]} for item in items]


def user(pk: int = 1, email: str = "customer@example.com", **fields: Any) -> Json:
    """A short `User` as orders and checkouts carry it."""
    return {"__typename": "User", "id": global_id("User", pk), "email": email, **fields}


def address(**overrides: Any) -> Json:
    """An `Address` (the samples' US address by default)."""
    base: Json = {
        "id": global_id("Address", next(_counter)),
        "firstName": "Ada",
        "lastName": "Lovelace",
        "companyName": "",
        "streetAddress1": "1470 Pinewood Avenue",
        "streetAddress2": "",
        "city": "MICHIGAN",
        "cityArea": "",
        "postalCode": "49855",
        "country": {"code": "US", "country": "United States of America"},
        "countryArea": "MI",
        "phone": "+12025550180",
        "metadata": [],
        "privateMetadata": [],
    }
    base.update(overrides)
    return base


def line(
    *,
    quantity: int = 1,
    unit_gross: float = 10.0,
    unit_net: float | None = None,
    total_gross: float | None = None,
    total_net: float | None = None,
    undiscounted_unit_gross: float | None = None,
    currency: str = "USD",
    quantity_fulfilled: int = 0,
    line_id: str | None = None,
    sku: str | None = "SKU-1",
    product_name: str = "Monospace Tee",
    variant_name: str = "M",
    variant_pk: int = 1,
    product_pk: int = 1,
    product_slug: str = "monospace-tee",
    category_pk: int | None = 1,
    category_slug: str = "t-shirts",
    is_gift: bool = False,
    metadata_items: Metadata = None,
) -> Json:
    """An `OrderLine` (also usable for checkout lines' common fields). Prices given are after discounts."""
    net = unit_gross if unit_net is None else unit_net
    gross_total = round(unit_gross * quantity, 2) if total_gross is None else total_gross
    net_total = round(net * quantity, 2) if total_net is None else total_net
    undiscounted = unit_gross if undiscounted_unit_gross is None else undiscounted_unit_gross
    variant_id = global_id("ProductVariant", variant_pk)
    category = None
    if category_pk is not None:
        category = {"id": global_id("Category", category_pk), "slug": category_slug, "name": category_slug.title()}
    return {
        "id": line_id or global_id("OrderLine", uuid.uuid4()),
        "productName": product_name,
        "variantName": variant_name,
        "productSku": sku,
        "productVariantId": variant_id,
        "isShippingRequired": True,
        "isGift": is_gift,
        "quantity": quantity,
        "quantityFulfilled": quantity_fulfilled,
        "quantityToFulfill": quantity - quantity_fulfilled,
        "taxRate": 0.0 if net == unit_gross else round((unit_gross - net) / net, 4) if net else 0.0,
        "unitPrice": taxed(unit_gross, net, currency),
        "undiscountedUnitPrice": taxed(undiscounted, undiscounted, currency),
        "unitDiscount": money(undiscounted - unit_gross, currency),
        "unitDiscountValue": round(undiscounted - unit_gross, 2),
        "totalPrice": taxed(gross_total, net_total, currency),
        "undiscountedTotalPrice": taxed(undiscounted * quantity, undiscounted * quantity, currency),
        "variant": {
            "id": variant_id,
            "sku": sku,
            "name": variant_name,
            "product": {
                "id": global_id("Product", product_pk),
                "name": product_name,
                "slug": product_slug,
                "category": category,
                "metadata": [],
            },
            "metadata": [],
        },
        "metadata": metadata(metadata_items),
        "privateMetadata": [],
    }


def discount(
    amount: float,
    *,
    kind: str = "VOUCHER",
    name: str | None = None,
    value_type: str = "FIXED",
    value: float | None = None,
    currency: str = "USD",
) -> Json:
    """An `OrderDiscount` (the samples' voucher: `type VOUCHER, valueType FIXED, value 7.5, total 7.5`)."""
    return {
        "id": global_id("OrderDiscount", uuid.uuid4()),
        "type": kind,
        "name": name,
        "valueType": value_type,
        "value": round(amount if value is None else value, 2),
        "amount": money(amount, currency),
        "total": money(amount, currency),
    }


def fulfillment(lines: Iterable[tuple[Mapping[str, Any], int]], *, status: str = "FULFILLED", number: int = 1) -> Json:
    """A `Fulfillment` of `(order_line, quantity)` pairs."""
    return {
        "id": global_id("Fulfillment", next(_counter)),
        "fulfillmentOrder": number,
        "status": status,
        "trackingNumber": "",
        "created": now_iso(),
        "metadata": [],
        "lines": [
            {"id": global_id("FulfillmentLine", next(_counter)), "quantity": quantity, "orderLine": dict(order_line)}
            for order_line, quantity in lines
        ],
    }


def granted_refund(
    amount: float,
    *,
    lines: Iterable[tuple[Mapping[str, Any], int]] = (),
    status: str = "SUCCESS",
    reason: str | None = None,
    shipping_costs_included: bool = False,
    currency: str = "USD",
) -> Json:
    """An `OrderGrantedRefund` (Transaction API refunds), optionally per line."""
    return {
        "id": global_id("OrderGrantedRefund", next(_counter)),
        "createdAt": now_iso(),
        "updatedAt": now_iso(),
        "amount": money(amount, currency),
        "reason": reason,
        "shippingCostsIncluded": shipping_costs_included,
        "status": status,
        "lines": [
            {
                "id": global_id("OrderGrantedRefundLine", next(_counter)),
                "quantity": qty,
                "orderLine": dict(ol),
                "reason": None,
            }
            for ol, qty in lines
        ],
    }


def _charge_status(charged: float, total: float) -> str:
    if charged <= 0:
        return "NONE"
    if charged < total:
        return "PARTIAL"
    return "FULL" if charged == total else "OVERCHARGED"


def _payment_status(charged: float, refunded: float, total: float) -> str:
    if refunded > 0:
        return "FULLY_REFUNDED" if charged <= 0 else "PARTIALLY_REFUNDED"
    if charged <= 0:
        return "NOT_CHARGED"
    return "PARTIALLY_CHARGED" if charged < total else "FULLY_CHARGED"


def order(
    *,
    pk: uuid.UUID | str | None = None,
    number: str | int | None = None,
    user: Mapping[str, Any] | bool | None = True,  # True: a default customer
    user_email: str | None = None,
    channel_slug: str = "default-channel",
    channel_pk: int = 1,
    currency: str = "USD",
    lines: Sequence[Mapping[str, Any]] | None = None,
    shipping_gross: float = 0.0,
    shipping_net: float | None = None,
    tax: float | None = None,
    total_charged: float | None = None,
    total_refunded: float = 0.0,
    status: str = "UNFULFILLED",
    charge_status: str | None = None,
    payment_status: str | None = None,
    is_paid: bool | None = None,
    voucher_code: str | None = None,
    discounts: Sequence[Mapping[str, Any]] = (),
    undiscounted_total: float | None = None,
    created: str | None = None,
    updated_at: str | None = None,
    checkout_id: str | None = None,
    metadata_items: Metadata = None,
    private_metadata: Metadata = None,
    fulfillments: Sequence[Mapping[str, Any]] = (),
    granted_refunds: Sequence[Mapping[str, Any]] = (),
    transactions: Sequence[Mapping[str, Any]] = (),
    shipping_address: Mapping[str, Any] | bool | None = True,
    billing_address: Mapping[str, Any] | bool | None = True,
    origin: str = "CHECKOUT",
    **extra: Any,
) -> Json:
    """An `Order`. `user=True` gives a default customer, `None` a guest order; `lines` default to two lines.

    Line prices are final (after discounts); `tax` defaults to gross − net over lines and shipping; charged
    defaults to total − refunded; statuses and `isPaid` follow unless given. `extra` overrides any field.
    """
    order_lines = (
        [dict(item) for item in lines]
        if lines is not None
        else [
            line(
                quantity=2,
                unit_gross=45.0,
                sku="112223580",
                variant_pk=364,
                product_pk=138,
                category_pk=39,
                currency=currency,
            ),
            line(
                quantity=1,
                unit_gross=50.0,
                sku="118223581",
                variant_pk=340,
                product_pk=130,
                category_pk=28,
                category_slug="sneakers",
                product_name="Runner",
                product_slug="runner",
                currency=currency,
            ),
        ]
    )
    customer_data: Json | None = user_fixture() if user is True else (dict(user) if user else None)
    email = user_email if user_email is not None else (customer_data or {}).get("email", "guest@example.com")
    subtotal_gross = round(sum(item["totalPrice"]["gross"]["amount"] for item in order_lines), 2)
    subtotal_net = round(sum(item["totalPrice"]["net"]["amount"] for item in order_lines), 2)
    ship_net = shipping_gross if shipping_net is None else shipping_net
    total_gross = round(subtotal_gross + shipping_gross, 2)
    total_net = round(subtotal_net + ship_net, 2) if tax is None else round(total_gross - tax, 2)
    charged = round(max(total_gross - total_refunded, 0.0), 2) if total_charged is None else total_charged
    charge = charge_status or _charge_status(charged, total_gross)
    discount_total = sum(item["total"]["amount"] for item in discounts)
    undiscounted = round(total_gross + discount_total, 2) if undiscounted_total is None else undiscounted_total
    order_pk = pk or uuid.uuid4()
    moment = created or now_iso(-1)
    data: Json = {
        "__typename": "Order",
        "id": global_id("Order", order_pk),
        "token": str(order_pk),
        "number": str(number if number is not None else next(_counter)),
        "status": status,
        "origin": origin,
        "created": moment,
        "updatedAt": updated_at or moment,
        "checkoutId": checkout_id if checkout_id is not None else global_id("Checkout", uuid.uuid4()),
        "userEmail": email,
        "user": customer_data,
        "channel": {
            "id": global_id("Channel", channel_pk),
            "slug": channel_slug,
            "name": channel_slug.replace("-", " ").title(),
            "currencyCode": currency,
            "isActive": True,
        },
        "total": taxed(total_gross, total_net, currency),
        "subtotal": taxed(subtotal_gross, subtotal_net, currency),
        "undiscountedTotal": taxed(undiscounted, undiscounted, currency),
        "shippingPrice": taxed(shipping_gross, ship_net, currency),
        "undiscountedShippingPrice": money(shipping_gross, currency),
        "totalCharged": money(charged, currency),
        "totalCaptured": money(charged, currency),
        "totalRefunded": money(total_refunded, currency),
        "totalAuthorized": money(0.0, currency),
        "totalCanceled": money(0.0, currency),
        "totalBalance": money(charged - total_gross, currency),
        "totalGrantedRefund": money(sum(r["amount"]["amount"] for r in granted_refunds), currency),
        "chargeStatus": charge,
        "authorizeStatus": "FULL" if charge in {"FULL", "OVERCHARGED"} else "NONE",
        "paymentStatus": payment_status or _payment_status(charged, total_refunded, total_gross),
        "isPaid": charge in {"FULL", "OVERCHARGED"} if is_paid is None else is_paid,
        "voucherCode": voucher_code,
        "voucher": {"id": global_id("Voucher", next(_counter)), "code": voucher_code} if voucher_code else None,
        "discounts": [dict(item) for item in discounts],
        "shippingAddress": address()
        if shipping_address is True
        else (dict(shipping_address) if shipping_address else None),
        "billingAddress": address()
        if billing_address is True
        else (dict(billing_address) if billing_address else None),
        "lines": order_lines,
        "fulfillments": [dict(item) for item in fulfillments],
        "grantedRefunds": [dict(item) for item in granted_refunds],
        "transactions": [dict(item) for item in transactions],
        "metadata": metadata(metadata_items),
        "privateMetadata": metadata(private_metadata),
        "languageCode": "EN_US",
        "displayGrossPrices": True,
        "isShippingRequired": True,
        "customerNote": "",
    }
    data.update(extra)
    return data


def transaction(
    psp_reference: str,
    charged: float,
    *,
    currency: str = "USD",
    refunded: float = 0.0,
    refund_pending: float = 0.0,
    name: str = "Stripe",
    app_identifier: str | None = "saleor.app.payment.stripe",
    gift_card_last_chars: str | None = None,
) -> Json:
    """A `TransactionItem` a payment app left on an order (Saleor's Stripe app: `pspReference` is the
    PaymentIntent id). With `gift_card_last_chars`: a Saleor gift card spent through Saleor's gift-card gateway
    (3.23: a random `pspReference`, no app, `GiftCardPaymentMethodDetails`)."""
    created_by: Json | None = (
        {"__typename": "App", "id": global_id("App", 7), "identifier": app_identifier, "name": name}
        if app_identifier is not None and gift_card_last_chars is None
        else None
    )
    details: Json | None = None
    if gift_card_last_chars is not None:
        details = {
            "__typename": "GiftCardPaymentMethodDetails",
            "name": "Gift card",
            "brand": None,
            "lastChars": gift_card_last_chars,
            "isSaleorGiftcard": True,
        }
    return {
        "paymentMethodDetails": details,
        "__typename": "TransactionItem",
        "id": global_id("TransactionItem", uuid.uuid4()),
        "pspReference": psp_reference,
        "name": name,
        "message": "",
        "chargedAmount": money(charged, currency),
        "refundedAmount": money(refunded, currency),
        "refundPendingAmount": money(refund_pending, currency),
        "createdBy": created_by,
    }


def user_fixture(pk: int = 54, email: str = "customer@example.com") -> Json:
    """The default order customer (`User:54`, like the samples)."""
    return user(pk, email)


def customer(
    *,
    pk: int | None = None,
    email: str = "customer@example.com",
    first_name: str = "",
    last_name: str = "",
    is_active: bool = True,
    is_confirmed: bool = True,
    date_joined: str | None = None,
    metadata_items: Metadata = None,
    private_metadata: Metadata = None,
    **extra: Any,
) -> Json:
    """A full `User` for CUSTOMER_CREATED / CUSTOMER_UPDATED / ACCOUNT_CONFIRMED events."""
    joined = date_joined or now_iso(-1)
    data: Json = {
        "__typename": "User",
        "id": global_id("User", pk if pk is not None else next(_counter)),
        "email": email,
        "firstName": first_name,
        "lastName": last_name,
        "isActive": is_active,
        "isConfirmed": is_confirmed,
        "isStaff": False,
        "dateJoined": joined,
        "updatedAt": joined,
        "languageCode": "EN_US",
        "note": None,
        "metadata": metadata(metadata_items),
        "privateMetadata": metadata(private_metadata),
        "addresses": [],
        "defaultShippingAddress": None,
        "defaultBillingAddress": None,
    }
    data.update(extra)
    return data


def checkout(
    *,
    pk: uuid.UUID | str | None = None,
    email: str | None = "customer@example.com",
    user: Mapping[str, Any] | None = None,
    channel_slug: str = "default-channel",
    currency: str = "USD",
    subtotal: float = 45.0,
    total: float | None = None,
    discount_amount: float | None = None,
    voucher_code: str | None = None,
    metadata_items: Metadata = None,
    **extra: Any,
) -> Json:
    """A `Checkout` as CHECKOUT_UPDATED carries it (totals after discounts, like the samples)."""
    checkout_pk = pk or uuid.uuid4()
    data: Json = {
        "__typename": "Checkout",
        "id": global_id("Checkout", checkout_pk),
        "token": str(checkout_pk),
        "email": email,
        "user": dict(user) if user else None,
        "channel": {"id": global_id("Channel", 1), "slug": channel_slug, "currencyCode": currency},
        "voucherCode": voucher_code,
        "discount": money(discount_amount, currency) if discount_amount is not None else None,
        "subtotalPrice": taxed(subtotal, currency=currency),
        "totalPrice": taxed(subtotal if total is None else total, currency=currency),
        "metadata": metadata(metadata_items),
        "privateMetadata": [],
        "lines": [],
        "created": now_iso(-1),
        "updatedAt": now_iso(),
        "lastChange": now_iso(),
    }
    data.update(extra)
    return data


def app_principal(pk: int = 1) -> Json:
    """`issuingPrincipal` for a change made by an app."""
    return {"__typename": "App", "id": global_id("App", pk)}


def user_principal(pk: int = 1) -> Json:
    """`issuingPrincipal` for a change made by a (staff or customer) user."""
    return {"__typename": "User", "id": global_id("User", pk)}


def event(
    typename: str,
    issued_at: str | None = None,
    version: str = "3.23.28",
    issuing_principal: Mapping[str, Any] | None = None,
    **objects: Any,
) -> Json:
    """An event object (`OrderFullyPaid`, `CustomerCreated`, ...) wrapping e.g. `order=`, `user=`, `checkout=`."""
    return {
        "__typename": typename,
        "issuedAt": issued_at or now_iso(),
        "version": version,
        "issuingPrincipal": dict(issuing_principal) if issuing_principal is not None else None,
        "recipient": None,
        **objects,
    }
