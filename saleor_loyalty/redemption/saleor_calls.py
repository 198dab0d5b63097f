"""The Saleor side of a redemption: read the shopper's checkout, and create, attach, detach, delete vouchers."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from saleor_loyalty.core.money import InvalidAmount, to_money
from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.snapshots import LineSnapshot
from saleor_loyalty.saleor.client import SaleorClient, SaleorError
from saleor_loyalty.saleor.tokens import Shopper


@dataclass(frozen=True)
class CheckoutInfo:
    id: str
    user_id: str | None
    channel_id: str
    channel_slug: str
    currency: str
    subtotal: Decimal
    total_gross: Decimal
    total_net: Decimal
    shipping_gross: Decimal
    shipping_net: Decimal
    voucher_code: str | None
    lines: tuple[LineSnapshot, ...]


@dataclass(frozen=True)
class VoucherSpec:
    """What to create in Saleor: ENTIRE_ORDER / SHIPPING / SPECIFIC_PRODUCT, FIXED or PERCENTAGE."""

    type: str
    value_type: str
    value: Decimal
    variant_ids: tuple[str, ...] = ()


def _app(install: Install) -> SaleorClient:
    return SaleorClient(install.saleor_api_url, install.auth_token)


def _raise_for_errors(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise SaleorError(f"Saleor returned no result for {what}")
    errors = payload.get("errors") or []
    if errors:
        detail = "; ".join(f"{e.get('field')}: {e.get('code')} {e.get('message') or ''}".strip() for e in errors)
        raise SaleorError(f"Saleor refused {what}: {detail}", errors=errors)
    return payload


def _amount(node: Any, currency: str, *path: str) -> Decimal:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    try:
        return to_money(node, currency)
    except InvalidAmount as exc:
        raise SaleorError(f"Saleor sent an invalid amount at {'.'.join(path)}") from exc


def shopper_checkout(shopper: Shopper, checkout_id: str) -> CheckoutInfo | None:
    """The checkout, read with the shopper's own token; None if it does not exist or is not theirs."""
    data = SaleorClient(shopper.install.saleor_api_url, shopper.token).execute("shopper_checkout", {"id": checkout_id})
    if not isinstance(data.get("me"), dict) or data["me"].get("id") != shopper.user_id:
        raise SaleorError("Saleor did not accept the shopper's token")
    checkout = data.get("checkout")
    if not isinstance(checkout, dict):
        return None
    user = checkout.get("user")
    # The currency comes from a price: a shopper's token may not read `channel.currencyCode` (Saleor requires an
    # app or staff token for it, and answers PermissionDenied to a customer).
    currency = ((checkout.get("subtotalPrice") or {}).get("gross") or {}).get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise SaleorError("Saleor sent a checkout without a currency")
    lines = []
    for index, line in enumerate(checkout.get("lines") or []):
        variant = line.get("variant") or {}
        product = variant.get("product") or {}
        quantity = int(line.get("quantity") or 0)
        total_gross = _amount(line, currency, "totalPrice", "gross", "amount")
        lines.append(
            LineSnapshot(
                id=f"checkout-line-{index}",
                quantity=quantity,
                variant_id=variant.get("id"),
                product_id=product.get("id"),
                category_id=(product.get("category") or {}).get("id"),
                unit_gross=total_gross / quantity if quantity else Decimal(0),
                total_gross=total_gross,
                total_net=_amount(line, currency, "totalPrice", "net", "amount"),
            )
        )
    return CheckoutInfo(
        id=str(checkout["id"]),
        user_id=user.get("id") if isinstance(user, dict) else None,
        channel_id=str(checkout["channel"]["id"]),
        channel_slug=str(checkout["channel"]["slug"]),
        currency=currency,
        subtotal=_amount(checkout, currency, "subtotalPrice", "gross", "amount"),
        total_gross=_amount(checkout, currency, "totalPrice", "gross", "amount"),
        total_net=_amount(checkout, currency, "totalPrice", "net", "amount"),
        shipping_gross=_amount(checkout, currency, "shippingPrice", "gross", "amount"),
        shipping_net=_amount(checkout, currency, "shippingPrice", "net", "amount"),
        voucher_code=checkout.get("voucherCode"),
        lines=tuple(lines),
    )


def create_voucher(
    install: Install, *, spec: VoucherSpec, code: str, name: str, channel_id: str, ends_at: datetime
) -> str:
    client = _app(install)
    voucher_input: dict[str, Any] = {
        "type": spec.type,
        "name": name,
        "addCodes": [code],
        "discountValueType": spec.value_type,
        "singleUse": True,
        "usageLimit": 1,
        "applyOncePerOrder": spec.type == "SPECIFIC_PRODUCT",
        "endDate": ends_at.isoformat(),
    }
    if spec.variant_ids:
        voucher_input["variants"] = list(spec.variant_ids)
    payload = _raise_for_errors(
        client.execute("voucher_create", {"input": voucher_input})["voucherCreate"], "voucherCreate"
    )
    voucher_id = str((payload.get("voucher") or {}).get("id") or "")
    if not voucher_id:
        raise SaleorError("Saleor created no voucher")
    return voucher_id


def list_voucher_in_channel(install: Install, *, voucher_id: str, channel_id: str, value: Decimal) -> None:
    listing = {"addChannels": [{"channelId": channel_id, "discountValue": str(value)}]}
    data = _app(install).execute("voucher_channel_listing_update", {"id": voucher_id, "input": listing})
    _raise_for_errors(data["voucherChannelListingUpdate"], "voucherChannelListingUpdate")


def attach_code(install: Install, *, checkout_id: str, code: str) -> None:
    data = _app(install).execute("checkout_add_promo_code", {"id": checkout_id, "promoCode": code})
    _raise_for_errors(data["checkoutAddPromoCode"], "checkoutAddPromoCode")


def detach_code(install: Install, *, checkout_id: str, code: str) -> None:
    data = _app(install).execute("checkout_remove_promo_code", {"id": checkout_id, "promoCode": code})
    _raise_for_errors(data["checkoutRemovePromoCode"], "checkoutRemovePromoCode")


def delete_voucher(install: Install, *, voucher_id: str) -> None:
    data = _app(install).execute("voucher_delete", {"id": voucher_id})
    _raise_for_errors(data["voucherDelete"], "voucherDelete")


def voucher_was_used(install: Install, *, voucher_id: str) -> bool:
    data = _app(install).execute("voucher_usage", {"id": voucher_id})
    voucher = data.get("voucher")
    if not isinstance(voucher, dict):
        return False
    edges = ((voucher.get("codes") or {}).get("edges")) or []
    return any(int((edge.get("node") or {}).get("used") or 0) > 0 for edge in edges)


@dataclass(frozen=True)
class VoucherFound:
    id: str
    name: str
    codes: tuple[str, ...]
    used: int  # uses of all its codes


def search_vouchers(
    install: Install, *, search: str, after: str | None = None
) -> tuple[list[VoucherFound], str | None]:
    """One page of the store's usable vouchers whose name or code contains ``search``, and the cursor of the next
    page (None on the last)."""
    data = _app(install).execute("voucher_search", {"search": search, "after": after})
    page = data.get("vouchers")
    if not isinstance(page, dict):
        raise SaleorError("Saleor returned no vouchers")
    found = []
    for edge in page.get("edges") or []:
        node = (edge or {}).get("node") or {}
        if not node.get("id"):
            continue
        codes = [(code_edge or {}).get("node") or {} for code_edge in ((node.get("codes") or {}).get("edges") or [])]
        found.append(
            VoucherFound(
                id=str(node["id"]),
                name=str(node.get("name") or ""),
                codes=tuple(str(code["code"]) for code in codes if code.get("code")),
                used=sum(int(code.get("used") or 0) for code in codes),
            )
        )
    info = page.get("pageInfo") or {}
    cursor = info.get("endCursor") if info.get("hasNextPage") else None
    return found, str(cursor) if cursor else None
