"""Turning webhook bodies into the program's typed snapshots. Anything malformed raises ``MalformedPayload``."""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from saleor_loyalty.core.money import InvalidAmount, to_money
from saleor_loyalty.program.orders import Principal
from saleor_loyalty.program.snapshots import (
    AddressSnapshot,
    CustomerSnapshot,
    LineSnapshot,
    OrderSnapshot,
    PaymentSnapshot,
)

REFUND_FULFILLMENT_STATUSES = frozenset({"REFUNDED", "REFUNDED_AND_RETURNED"})


class MalformedPayload(ValueError):
    """The body is not the shape our subscription document produces."""


# A NUL or a lone surrogate reaches a parsed body only through a JSON escape (``\u0000``, ``\ud800``-``\udfff``): a
# raw control character is not valid JSON (``json.loads`` refuses it) and UTF-8 cannot encode a surrogate. A body
# without such an escape needs no walk (an escaped backslash followed by "u0000" only sends it the slow way).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF])")


def require_storable_text(event: Any, body: str | None = None) -> None:
    """Saleor never sends text PostgreSQL cannot store (it could not have stored it either): a NUL or a lone
    surrogate (JSON ``"\\u0000"``, ``"\\ud800"``) anywhere in a signed body is malformed, not a reason to retry.
    Given the ``body`` ``event`` was parsed from, most bodies are cleared by one scan of its text instead of a walk
    of every value (the walk was ~8% of an order event's CPU)."""
    if body is not None and _storable_body(body):
        return
    pending = [event]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if "\x00" in node or (not node.isascii() and _has_surrogate(node)):
                raise MalformedPayload("text PostgreSQL cannot store (a NUL or a lone surrogate)")
        elif isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def _storable_body(body: str) -> bool:
    return "\x00" not in body and _SUSPECT_ESCAPE.search(body) is None and (body.isascii() or not _has_surrogate(body))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _get(data: Any, *path: str, optional: bool = False) -> Any:
    node = data
    for key in path:
        if not isinstance(node, dict) or (key not in node and not optional):
            raise MalformedPayload(f"missing field: {'.'.join(path)}")
        node = node.get(key)
        if node is None:
            if optional:
                return None
            raise MalformedPayload(f"null field: {'.'.join(path)}")
    return node


def _str(data: Any, *path: str, optional: bool = False) -> Any:
    value = _get(data, *path, optional=optional)
    if value is not None and not isinstance(value, str):
        raise MalformedPayload(f"not a string: {'.'.join(path)}")
    return value


def _datetime(data: Any, *path: str) -> datetime:
    value = _str(data, *path)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedPayload(f"not a datetime: {'.'.join(path)}") from exc
    if parsed.tzinfo is None:
        raise MalformedPayload(f"datetime without timezone: {'.'.join(path)}")
    return parsed


def _money(data: Any, currency: str, *path: str) -> Decimal:
    try:
        return to_money(_get(data, *path), currency)
    except InvalidAmount as exc:
        raise MalformedPayload(f"{'.'.join(path)}: {exc}") from exc


def _quantity(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        raise MalformedPayload(f"not a quantity: {what}")
    return value


def principal(event: dict[str, Any]) -> Principal:
    data = event.get("issuingPrincipal")
    if data is None:
        return Principal(kind=None, id=None)
    if not isinstance(data, dict):
        raise MalformedPayload("issuingPrincipal is not an object")
    return Principal(kind=_str(data, "__typename"), id=_str(data, "id", optional=True))


def _shipping_net(order: dict[str, Any], currency: str) -> Decimal:
    """Our document asks for it; deliveries made for documents that ask only for gross (such as the captured
    samples) are read as tax-free shipping rather than refused."""
    if _get(order, "shippingPrice", "net", optional=True) is None:
        return _money(order, currency, "shippingPrice", "gross", "amount")
    return _money(order, currency, "shippingPrice", "net", "amount")


def _list(data: Any, *path: str) -> list[Any]:
    """An optional list: [] when absent or null; anything else that is not a list is malformed (not iterated)."""
    value = _get(data, *path, optional=True)
    if value is not None and not isinstance(value, list):
        raise MalformedPayload(f"not a list: {'.'.join(path)}")
    return value or []


def _refunded_quantities(order: dict[str, Any]) -> dict[str, int]:
    """Quantities refunded per line where Saleor says which lines: granted refunds, else refund fulfillments."""
    sources = [g for g in _list(order, "grantedRefunds") if isinstance(g, dict) and g.get("status") == "SUCCESS"]
    if not any(g.get("lines") for g in sources):
        sources = [
            f
            for f in _list(order, "fulfillments")
            if isinstance(f, dict) and f.get("status") in REFUND_FULFILLMENT_STATUSES
        ]
    quantities: dict[str, int] = {}
    for source in sources:
        for line in _list(source, "lines"):
            line_id = _str(line, "orderLine", "id")
            quantities[line_id] = quantities.get(line_id, 0) + _quantity(line.get("quantity"), "refund line")
    return quantities


def _line(line: Any, currency: str) -> LineSnapshot:
    return LineSnapshot(
        id=_str(line, "id"),
        quantity=_quantity(_get(line, "quantity"), "line quantity"),
        variant_id=_str(line, "productVariantId", optional=True),
        product_id=_str(line, "variant", "product", "id", optional=True),
        category_id=_str(line, "variant", "product", "category", "id", optional=True),
        unit_gross=_money(line, currency, "unitPrice", "gross", "amount"),
        total_gross=_money(line, currency, "totalPrice", "gross", "amount"),
        total_net=_money(line, currency, "totalPrice", "net", "amount"),
    )


def order_snapshot(event: dict[str, Any]) -> OrderSnapshot:
    order = _get(event, "order")
    currency = _str(order, "total", "gross", "currency")
    if _str(order, "channel", "currencyCode") != currency:
        raise MalformedPayload("order currency differs from its channel's")
    lines = _get(order, "lines")
    if not isinstance(lines, list):
        raise MalformedPayload("order.lines is not a list")
    user = order.get("user")
    return OrderSnapshot(
        id=_str(order, "id"),
        number=str(_get(order, "number")),
        status=_str(order, "status"),
        channel_slug=_str(order, "channel", "slug"),
        currency=currency,
        user_id=_str(user, "id") if user else None,
        user_email=_str(order, "userEmail", optional=True) or (_str(user, "email", optional=True) if user else None),
        created=_datetime(order, "created"),
        updated_at=_datetime(order, "updatedAt"),
        total_gross=_money(order, currency, "total", "gross", "amount"),
        total_net=_money(order, currency, "total", "net", "amount"),
        shipping_gross=_money(order, currency, "shippingPrice", "gross", "amount"),
        shipping_net=_shipping_net(order, currency),
        total_charged=_money(order, currency, "totalCharged", "amount"),
        total_refunded=_money(order, currency, "totalRefunded", "amount"),
        charge_status=_str(order, "chargeStatus"),
        voucher_code=_str(order, "voucherCode", optional=True),
        lines=tuple(_line(line, currency) for line in lines),
        refunded_quantities=_refunded_quantities(order),
        metadata=_metadata(order.get("metadata")),
        shipping_address=_address(order.get("shippingAddress")),
        payments=_payments(order.get("transactions"), currency),
        payment_vouched=event.get("__typename") == "OrderFullyPaid",
    )


def customer_snapshot(event: dict[str, Any]) -> CustomerSnapshot:
    user = _get(event, "user")
    return CustomerSnapshot(
        user_id=_str(user, "id"),
        email=_str(user, "email", optional=True) or "",
        is_confirmed=bool(user.get("isConfirmed")),
        is_active=bool(user.get("isActive", True)),
        first_name=_str(user, "firstName", optional=True) or "",
        date_joined=_datetime(user, "dateJoined") if user.get("dateJoined") else None,
        metadata=_metadata(user.get("metadata")),
        private_metadata=_metadata(user.get("privateMetadata")),
    )


def _metadata(items: Any) -> dict[str, str]:
    """Saleor's ``[{key, value}]`` as a dict; anything malformed is refused, not guessed at."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise MalformedPayload("metadata is not a list")
    result = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not isinstance(item.get("value"), str):
            raise MalformedPayload("metadata item is not {key, value}")
        result[item["key"]] = item["value"]
    return result


def _payments(items: Any, currency: str) -> tuple[PaymentSnapshot, ...]:
    """The order's transactions that name a payment (a PSP reference) and charged money in the order's currency.

    Tolerant by design: what only a payout reads must never fail an order's points. An absent list, a missing or
    odd field, a transaction without a reference or in another currency is left out, not refused."""
    if not isinstance(items, list):
        return ()
    payments = []
    for item in items:
        if not isinstance(item, dict):
            continue
        reference, charged = item.get("pspReference"), item.get("chargedAmount")
        if not isinstance(reference, str) or not reference or len(reference) > 255 or not isinstance(charged, dict):
            continue
        if charged.get("currency", currency) != currency:
            continue
        try:
            charged_amount = to_money(charged.get("amount"), currency)
            refunded = sum(
                (
                    to_money(money.get("amount"), currency)
                    for money in (item.get("refundedAmount"), item.get("refundPendingAmount"))
                    if isinstance(money, dict)
                ),
                Decimal(0),
            )
        except InvalidAmount:
            continue
        creator = item.get("createdBy")
        identifier = creator.get("identifier") if isinstance(creator, dict) else None
        name = item.get("name")
        payments.append(
            PaymentSnapshot(
                psp_reference=reference,
                name=name if isinstance(name, str) else "",
                app_identifier=identifier if isinstance(identifier, str) else None,
                currency=currency,
                charged=charged_amount,
                refunded=refunded,
                gift_card_last_chars=_gift_card_last_chars(item.get("paymentMethodDetails")),
            )
        )
    return tuple(payments)


def _gift_card_last_chars(details: Any) -> str | None:
    """A Saleor gift card's last code characters, when the payment was one (3.23's ``GiftCardPaymentMethodDetails``
    of a built-in card); None otherwise."""
    if not isinstance(details, dict) or details.get("__typename") != "GiftCardPaymentMethodDetails":
        return None
    last_chars = details.get("lastChars")
    if details.get("isSaleorGiftcard") is not True or not isinstance(last_chars, str) or not last_chars:
        return None
    return last_chars[:16]


def _address(data: Any) -> AddressSnapshot | None:
    if not isinstance(data, dict):
        return None
    country = data.get("country")
    if not isinstance(country, dict):
        country = {}
    return AddressSnapshot(
        street=str(data.get("streetAddress1") or ""),
        postal_code=str(data.get("postalCode") or ""),
        city=str(data.get("city") or ""),
        country=str(country.get("code") or ""),
        phone=str(data.get("phone") or ""),
    )


@dataclass(frozen=True)
class CheckoutChange:
    checkout_id: str
    voucher_code: str | None
    issued_at: datetime


def checkout_change(event: dict[str, Any]) -> CheckoutChange:
    return CheckoutChange(
        checkout_id=_str(event, "checkout", "id"),
        voucher_code=_str(event, "checkout", "voucherCode", optional=True),
        issued_at=_datetime(event, "issuedAt"),
    )


def deleted_app_id(event: dict[str, Any]) -> str:
    """The app an APP_DELETED event is about."""
    return str(_str(event, "app", "id"))
