"""A FakeSaleor with a little store behind it: checkouts, vouchers, products and categories that behave as Saleor's do.

Enough of Saleor's redemption-relevant behaviour to test against: checkouts owned by customers, vouchers
created by the app, listed per channel, attached to a checkout (one code per checkout), used up by an order; gift
cards as Saleor 3.23 keeps them (created with metadata and an assigned customer, topped up by
`giftCardBalanceAdjust` with a BALANCE_ADJUSTED event each, looked up by public metadata, spent at checkout only by
their customer); the shop's schema version and channels by slug; and a
small catalog the dashboard's pickers search (by name, or by ids), with Saleor's paging limits, its refusal of ids of
another type, and its channel rule (only a caller that may see every product may list them without a channel).
Every document the app sends is still validated against both Saleor schemas by FakeSaleor itself.
"""

import base64
import binascii
import itertools
import secrets
import string
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError

from tests.saleor_harness import FakeSaleor, GraphQLCall, PermissionDenied, global_id

_ids = itertools.count(1)
# Saleor's product/constants.py: each of these lets a caller see every product (unpublished too, any channel).
ALL_PRODUCTS_PERMISSIONS = frozenset({"MANAGE_ORDERS", "MANAGE_DISCOUNTS", "MANAGE_PRODUCTS"})
MAX_PAGE = 100

# (pk, name, parent pk)
CATEGORIES = [(1, "T-shirts", None), (28, "Shoes", None), (29, "Sneakers", 28), (30, "Accessories", None)]
# (pk, name, category pk)
PRODUCTS = [
    (1, "Monospace Tee", 1),
    (2, "Dash Force sneakers", 29),
    (3, "Trail running shoes", 28),
    (4, "Canvas tote bag", 30),
    (5, "Apple Juice", None),
]


def _money(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": float(amount), "currency": currency}


class FakeStore:
    def __init__(self, saleor: FakeSaleor) -> None:
        self.saleor = saleor
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.vouchers: dict[str, dict[str, Any]] = {}
        self.channels = {"default-channel": ("Q2hhbm5lbDox", "USD"), "jp": ("Q2hhbm5lbDoy", "JPY")}
        self.revoked_tokens: set[str] = set()
        self.categories: dict[str, dict[str, Any]] = {
            global_id("Category", pk): {"name": name, "parent": global_id("Category", parent) if parent else None}
            for pk, name, parent in CATEGORIES
        }
        self.products: dict[str, dict[str, Any]] = {
            global_id("Product", pk): {"name": name, "category": global_id("Category", category) if category else None}
            for pk, name, category in PRODUCTS
        }
        saleor.resolvers.update(
            products=self._products,
            categories=self._categories,
            me=self._me,
            checkout=self._checkout,
            voucher=self._voucher,
            voucherCreate=self._voucher_create,
            voucherChannelListingUpdate=self._listing,
            checkoutAddPromoCode=self._add_code,
            checkoutRemovePromoCode=self._remove_code,
            voucherDelete=self._voucher_delete,
            vouchers=self._vouchers,
            shop=self._shop,
            channel=self._channel,
            channels=self._channels,
            giftCard=self._gift_card,
            giftCards=self._gift_cards,
            giftCardCreate=self._gift_card_create,
            giftCardBalanceAdjust=self._gift_card_balance_adjust,
        )
        self.gift_cards: dict[str, dict[str, Any]] = {}
        self.users = {"VXNlcjox": "shopper@example.com", "VXNlcjoy": "other@example.com"}

    # -- test helpers -------------------------------------------------------------------------------------

    def add_checkout(
        self, user_id: str | None, subtotal: str, *, channel: str = "default-channel", shipping: str = "0"
    ) -> str:
        checkout_id = global_id("Checkout", f"00000000-0000-0000-0000-{next(_ids):012d}")
        self.checkouts[checkout_id] = {
            "user_id": user_id,
            "channel": channel,
            "subtotal": Decimal(subtotal),
            "shipping": Decimal(shipping),
            "voucher_code": None,
        }
        return checkout_id

    def voucher_by_code(self, code: str) -> dict[str, Any] | None:
        return next((v for v in self.vouchers.values() if v["code"] == code), None)

    def use_code(self, checkout_id: str) -> str | None:
        """Complete the checkout: the code on it is used once (as an order would)."""
        code: str | None = self.checkouts[checkout_id]["voucher_code"]
        voucher = self.voucher_by_code(code) if code else None
        if voucher is not None:
            voucher["used"] += 1
        return code

    def gift_card_by_code(self, code: str) -> dict[str, Any] | None:
        return next((card for card in self.gift_cards.values() if card["code"] == code), None)

    def cards_of(self, user_id: str) -> list[dict[str, Any]]:
        """The cards assigned to a customer (what `me.giftCards` lists on 3.23, with those they used)."""
        return [card for card in self.gift_cards.values() if card["assigned_to"] == user_id]

    def pay_with_gift_card(self, code: str, amount: str, *, user_id: str | None, currency: str = "USD") -> str:
        """The built-in gift card gateway (3.23): `transactionInitialize` with `{"code": ...}` authorises at most
        the balance, only for the card's customer; the order's completion charges it. Returns the result."""
        card = self.gift_card_by_code(code)
        if card is None or not card["is_active"] or card["currency"] != currency:
            return "AUTHORIZATION_FAILURE: Gift card code is not valid."
        if card["assigned_to"] is not None and card["assigned_to"] != user_id:
            return "AUTHORIZATION_FAILURE: Gift card code is not valid."
        if Decimal(amount) > card["balance"]:
            return "AUTHORIZATION_FAILURE: Gift card has insufficient amount"
        card["balance"] -= Decimal(amount)
        card["events"].append(self._event("USED_IN_ORDER"))
        return "AUTHORIZATION_SUCCESS"

    # -- resolvers ------------------------------------------------------------------------------------------

    @staticmethod
    def _require_app(call: GraphQLCall, permission: str) -> None:
        if not call.app_authenticated:
            raise PermissionDenied((permission,))

    def _me(self, call: GraphQLCall) -> dict[str, Any] | None:
        if call.token_error is not None:
            raise call.token_error
        if self.saleor_revoked(call):
            raise PermissionDenied(("AUTHENTICATED_USER",))
        return {"id": call.token_claims["user_id"]} if call.token_claims else None

    def saleor_revoked(self, call: GraphQLCall) -> bool:
        return bool(call.bearer and call.bearer in self.revoked_tokens)

    def _checkout(self, call: GraphQLCall, id: str | None = None, token: str | None = None) -> dict[str, Any] | None:
        checkout = self.checkouts.get(id or "")
        if checkout is None:
            return None
        channel_id, currency = self.channels[checkout["channel"]]
        caller = (call.token_claims or {}).get("user_id")
        visible_user = checkout["user_id"] if (call.app_authenticated or caller == checkout["user_id"]) else None
        discount = Decimal(0)
        if checkout["voucher_code"]:
            voucher = self.voucher_by_code(checkout["voucher_code"])
            if voucher:
                discount = min(checkout["subtotal"], Decimal(voucher["channels"].get(checkout["channel"], 0)))
        # As Saleor 3.23 does (seen on a real store): an entire-order discount is spread over the lines, so the
        # checkout's subtotal and its lines' totals are already net of it.
        subtotal = checkout["subtotal"] - discount
        total = subtotal + checkout["shipping"]
        return {
            "id": id,
            "user": {"id": visible_user} if visible_user else None,
            "channel": {"id": channel_id, "slug": checkout["channel"], "currencyCode": currency},
            "subtotalPrice": {"gross": _money(subtotal, currency)},
            "voucherCode": checkout["voucher_code"],
            "lines": [
                {
                    "quantity": 1,
                    "variant": {
                        "id": "UHJvZHVjdFZhcmlhbnQ6MQ==",
                        "product": {"id": "UHJvZHVjdDox", "category": {"id": "Q2F0ZWdvcnk6MQ=="}},
                    },
                    "totalPrice": {"gross": _money(subtotal, currency), "net": _money(subtotal, currency)},
                }
            ],
            "shippingPrice": {
                "gross": _money(checkout["shipping"], currency),
                "net": _money(checkout["shipping"], currency),
            },
            "totalPrice": {"gross": _money(total, currency), "net": _money(total, currency)},
        }

    def _voucher(self, call: GraphQLCall, id: str, channel: str | None = None) -> dict[str, Any] | None:
        self._require_app(call, "MANAGE_DISCOUNTS")
        voucher = self.vouchers.get(id)
        if voucher is None:
            return None
        return {"id": id, "codes": {"edges": [{"node": {"code": voucher["code"], "used": voucher["used"]}}]}}

    def _vouchers(
        self,
        call: GraphQLCall,
        filter: dict[str, Any] | None = None,
        first: int | None = None,
        after: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Saleor's voucher list: `filter.search` in the name or a code (case-insensitive), `status: [ACTIVE]` (not
        ended), pages of `first` with opaque cursors."""
        self._require_app(call, "MANAGE_DISCOUNTS")
        search = str((filter or {}).get("search") or "").lower()
        now = datetime.now(tz=UTC)

        def matches(voucher: dict[str, Any]) -> bool:
            name = str(voucher["input"].get("name") or "").lower()
            if search and search not in name and search not in voucher["code"].lower():
                return False
            ends = voucher["input"].get("endDate")
            return (
                "ACTIVE" not in ((filter or {}).get("status") or []) or not ends or datetime.fromisoformat(ends) > now
            )

        found = [(voucher_id, v) for voucher_id, v in list(self.vouchers.items()) if matches(v)]
        start = int(after) if after else 0
        page = found[start : start + (first or 100)]
        end = start + len(page)
        return {
            "pageInfo": {"hasNextPage": end < len(found), "endCursor": str(end) if page else None},
            "edges": [
                {
                    "cursor": str(start + n + 1),
                    "node": {
                        "id": voucher_id,
                        "name": voucher["input"].get("name"),
                        "codes": {"edges": [{"node": {"code": voucher["code"], "used": voucher["used"]}}]},
                    },
                }
                for n, (voucher_id, voucher) in enumerate(page)
            ],
        }

    def _voucher_create(self, call: GraphQLCall, input: dict[str, Any]) -> dict[str, Any]:
        self._require_app(call, "MANAGE_DISCOUNTS")
        codes = input.get("addCodes") or []
        if any(self.voucher_by_code(code) for code in codes):
            return {"voucher": None, "errors": [{"field": "addCodes", "code": "UNIQUE", "message": "code exists"}]}
        voucher_id = global_id("Voucher", next(_ids))
        self.vouchers[voucher_id] = {"code": codes[0], "used": 0, "input": input, "channels": {}}
        return {"voucher": {"id": voucher_id}, "errors": []}

    def _listing(self, call: GraphQLCall, id: str, input: dict[str, Any]) -> dict[str, Any]:
        self._require_app(call, "MANAGE_DISCOUNTS")
        voucher = self.vouchers.get(id)
        if voucher is None:
            return {"voucher": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no voucher"}]}
        by_id = {channel_id: slug for slug, (channel_id, _) in self.channels.items()}
        for listing in input.get("addChannels") or []:
            voucher["channels"][by_id[listing["channelId"]]] = Decimal(str(listing["discountValue"]))
            if listing.get("minAmountSpent") is not None:
                voucher.setdefault("min_spent", {})[by_id[listing["channelId"]]] = Decimal(
                    str(listing["minAmountSpent"])
                )
        return {"voucher": {"id": id}, "errors": []}

    def _add_code(self, call: GraphQLCall, promoCode: str, id: str | None = None, **_: Any) -> dict[str, Any]:
        checkout = self.checkouts.get(id or "")
        if checkout is None:
            return {"checkout": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no checkout"}]}
        voucher = self.voucher_by_code(promoCode)
        if voucher is None or checkout["channel"] not in voucher["channels"] or voucher["used"] >= 1:
            return {
                "checkout": None,
                "errors": [
                    {"field": "promoCode", "code": "VOUCHER_NOT_APPLICABLE", "message": "Voucher is not applicable"}
                ],
            }
        checkout["voucher_code"] = promoCode
        return {"checkout": {"id": id, "voucherCode": promoCode}, "errors": []}

    def _remove_code(self, call: GraphQLCall, promoCode: str, id: str | None = None, **_: Any) -> dict[str, Any]:
        checkout = self.checkouts.get(id or "")
        if checkout is None:
            return {"checkout": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no checkout"}]}
        if checkout["voucher_code"] == promoCode:
            checkout["voucher_code"] = None
        return {"checkout": {"id": id}, "errors": []}

    def _voucher_delete(self, call: GraphQLCall, id: str) -> dict[str, Any]:
        self._require_app(call, "MANAGE_DISCOUNTS")
        voucher = self.vouchers.pop(id, None)
        if voucher is None:
            return {"errors": [{"field": "id", "code": "NOT_FOUND", "message": "no voucher"}]}
        for checkout in self.checkouts.values():
            if checkout["voucher_code"] == voucher["code"]:
                checkout["voucher_code"] = None
        return {"errors": []}

    # -- shop, channels, gift cards -------------------------------------------------------------------------

    def _shop(self, call: GraphQLCall) -> dict[str, Any]:
        return {"schemaVersion": self.saleor.schema_version}

    def _channels(self, call: GraphQLCall) -> list[dict[str, Any]]:
        return [  # who may read them: the harness checks it from the schema
            {"id": channel_id, "slug": slug, "name": slug.replace("-", " ").title(), "currencyCode": currency,
             "isActive": True}
            for slug, (channel_id, currency) in self.channels.items()
        ]  # fmt: skip

    def _channel(self, call: GraphQLCall, id: str | None = None, slug: str | None = None) -> dict[str, Any] | None:
        for channel_slug, (channel_id, currency) in self.channels.items():
            if slug == channel_slug or id == channel_id:
                return {"id": channel_id, "slug": channel_slug, "currencyCode": currency}
        return None

    @staticmethod
    def _event(kind: str, **balance: Decimal) -> dict[str, Any]:
        return {
            "id": global_id("GiftCardEvent", next(_ids)),
            "date": datetime.now(tz=UTC).isoformat(),
            "type": kind,
            "balance": {name: Decimal(value) for name, value in balance.items()} or None,
        }

    def _card_node(self, card_id: str) -> dict[str, Any]:
        card = self.gift_cards[card_id]
        currency = card["currency"]

        def events(info: Any, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
            wanted = (filter or {}).get("type")
            return [
                {
                    "id": event["id"],
                    "date": event["date"],
                    "type": event["type"],
                    "balance": {
                        "currentBalance": _money(event["balance"]["current"], currency),
                        "oldCurrentBalance": _money(event["balance"]["old_current"], currency),
                    }
                    if event["balance"]
                    else None,
                }
                for event in card["events"]
                if wanted is None or event["type"] == wanted
            ]

        return {
            "id": card_id,
            "last4CodeChars": card["code"][-4:],
            "displayCode": card["code"][-4:],
            "code": card["code"],
            "isActive": card["is_active"],
            "currentBalance": _money(card["balance"], currency),
            "initialBalance": _money(card["initial"], currency),
            "events": events,
            "privateMetafield": lambda info, key: card["private_metadata"].get(key),
            "metafield": lambda info, key: card["metadata"].get(key),
        }

    def _gift_card(self, call: GraphQLCall, id: str) -> dict[str, Any] | None:
        self._require_app(call, "MANAGE_GIFT_CARD")
        return self._card_node(id) if id in self.gift_cards else None

    def _gift_cards(
        self, call: GraphQLCall, first: int | None = None, filter: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        """Saleor's `filter.metadata`: on the PUBLIC metadata, each `{key, value}` must match (value optional)."""
        self._require_app(call, "MANAGE_GIFT_CARD")
        size = self._page_size(first, "giftCards")

        def matches(card: dict[str, Any]) -> bool:
            for item in (filter or {}).get("metadata") or []:
                if item.get("value") is None and item["key"] not in card["metadata"]:
                    return False
                if item.get("value") is not None and card["metadata"].get(item["key"]) != item["value"]:
                    return False
            return True

        nodes = [self._card_node(card_id) for card_id, card in self.gift_cards.items() if matches(card)]
        return self._connection(nodes, size)

    def _gift_card_create(self, call: GraphQLCall, input: dict[str, Any]) -> dict[str, Any]:
        """Saleor 3.23's checks: balance > 0 at the currency's precision, `channel` with `userEmail`, `assignedTo`
        a customer's id; metadata and private metadata set in the same mutation; an ISSUED event."""
        self._require_app(call, "MANAGE_GIFT_CARD")

        def refuse(field: str, code: str, message: str) -> dict[str, Any]:
            return {"giftCard": None, "errors": [{"field": field, "code": code, "message": message}]}

        amount = Decimal(str(input["balance"]["amount"]))
        currency = input["balance"]["currency"]
        if amount <= 0:
            return refuse("balance", "INVALID", "Balance amount have to be greater than 0.")
        if amount != amount.quantize(Decimal("0.01")):
            return refuse("balance", "INVALID", "Value cannot have more than 2 decimal places.")
        if input.get("userEmail") and not input.get("channel"):
            return refuse("channel", "REQUIRED", "Channel slug must be specified when user_email is provided.")
        assigned = input.get("assignedTo")
        if assigned is not None and assigned not in self.users:
            return refuse("assignedTo", "NOT_FOUND", f"Couldn't resolve id: {assigned}.")
        card_id = global_id("GiftCard", next(_ids))
        code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
        self.gift_cards[card_id] = {
            "code": code,
            "currency": currency,
            "balance": amount,
            "initial": amount,
            "is_active": bool(input["isActive"]),
            "assigned_to": assigned,
            "user_email": input.get("userEmail"),
            "tags": list(input.get("addTags") or []),
            "metadata": {item["key"]: item["value"] for item in input.get("metadata") or []},
            "private_metadata": {item["key"]: item["value"] for item in input.get("privateMetadata") or []},
            "events": [self._event("ISSUED")],
        }
        return {"giftCard": self._card_node(card_id), "errors": []}

    def _gift_card_balance_adjust(self, call: GraphQLCall, id: str, amount: Any) -> dict[str, Any]:
        """Saleor 3.23: a signed delta, not zero, at the currency's precision; the balance never below 0; a
        BALANCE_ADJUSTED event with the old and new balances."""
        self._require_app(call, "MANAGE_GIFT_CARD")
        card = self.gift_cards.get(id)
        if card is None:
            return {"giftCard": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": "no gift card"}]}
        delta = Decimal(str(amount))
        if delta == 0 or delta != delta.quantize(Decimal("0.01")):
            return {"giftCard": None, "errors": [{"field": "amount", "code": "INVALID", "message": "bad amount"}]}
        old = card["balance"]
        card["balance"] = max(Decimal(0), old + delta)
        card["initial"] = max(card["initial"], card["balance"])
        card["events"].append(self._event("BALANCE_ADJUSTED", current=card["balance"], old_current=old))
        return {"giftCard": self._card_node(id), "errors": []}

    # -- catalog ----------------------------------------------------------------------------------------------

    def _sees_all_products(self, call: GraphQLCall) -> bool:
        if call.app_authenticated:
            granted = set(self.saleor.app_permissions)
        else:
            claims = call.token_claims or {}
            granted = set(claims.get("permissions") or ()) | set(claims.get("user_permissions") or ())
        return bool(granted & ALL_PRODUCTS_PERMISSIONS)

    @staticmethod
    def _page_size(first: int | None, connection: str) -> int:
        """Saleor's connection limits (its `connection_from_queryset_slice`): `first` is needed, 100 at most."""
        if first is None:
            raise GraphQLError(
                f"You must provide a `first` or `last` value to properly paginate the `{connection}` connection."
            )
        if first > MAX_PAGE:
            raise GraphQLError(
                f"Requesting {first} records on the `{connection}` connection exceeds the `first` limit of "
                f"{MAX_PAGE} records."
            )
        return first

    @staticmethod
    def _wanted_ids(ids: list[str] | None, type_name: str) -> set[str] | None:
        """`where.ids` as Saleor reads them: an id that is not a global id of this type fails the whole call."""
        if ids is None:
            return None
        for value in ids:
            try:
                kind, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise GraphQLError(f"Invalid ID: {value}. Expected: {type_name}.") from None
            if kind != type_name or not pk:
                raise GraphQLError(f"Invalid ID: {value}. Expected: {type_name}, received: {kind}.")
        return set(ids)

    def _category(self, category_id: str | None) -> dict[str, Any] | None:
        if category_id is None or category_id not in self.categories:
            return None
        category = self.categories[category_id]
        return {"id": category_id, "name": category["name"], "slug": category["name"].lower(),
                "parent": self._category(category["parent"])}  # fmt: skip

    @staticmethod
    def _connection(nodes: list[dict[str, Any]], first: int) -> dict[str, Any]:
        page = nodes[:first]
        return {
            "totalCount": len(nodes),
            "pageInfo": {
                "hasNextPage": len(nodes) > first,
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
            "edges": [{"cursor": node["id"], "node": node} for node in page],
        }

    def _products(
        self,
        call: GraphQLCall,
        first: int | None = None,
        search: str | None = None,
        where: dict[str, Any] | None = None,
        channel: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        size = self._page_size(first, "products")
        if channel is None and not self._sees_all_products(call):
            raise GraphQLError("More than one channel exists. Specify which channel to use.")
        wanted = self._wanted_ids((where or {}).get("ids"), "Product")
        text = (search or "").lower()
        nodes = [
            {
                "id": product_id,
                "name": product["name"],
                "slug": product["name"].lower().replace(" ", "-"),
                "category": self._category(product["category"]),
            }
            for product_id, product in sorted(self.products.items(), key=lambda item: item[1]["name"])
            if (wanted is None or product_id in wanted) and text in product["name"].lower()
        ]
        return self._connection(nodes, size)

    def _categories(
        self,
        call: GraphQLCall,
        first: int | None = None,
        filter: dict[str, Any] | None = None,
        where: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        size = self._page_size(first, "categories")
        wanted = self._wanted_ids((where or filter or {}).get("ids"), "Category")
        text = str((filter or {}).get("search") or "").lower()
        nodes = [
            node
            for category_id in sorted(self.categories, key=lambda key: self.categories[key]["name"])
            if (wanted is None or category_id in wanted)
            and text in self.categories[category_id]["name"].lower()
            and (node := self._category(category_id)) is not None
        ]
        return self._connection(nodes, size)
