"""Rebates paid as store credit (payout method ``store_credit``, issue #11).

On Saleor 3.23+ a member's store credit in a currency is one Saleor gift card: the first payout creates it
(``giftCardCreate``, restricted to the customer with ``assignedTo``, sent to their email by Saleor), later payouts
top it up (``giftCardBalanceAdjust``). The shopper spends it at checkout through Saleor's built-in gift-card payment
gateway (docs/rebates.md). Saleor 3.22 has neither ``giftCardBalanceAdjust`` nor ``assignedTo``, and its
``giftCardUpdate(balanceAmount)`` *sets* the balance (initial and current) rather than adding to it: a top-up by
read-then-set would overwrite whatever the shopper spent between the read and the write. So on 3.22 each payout is
a single-use voucher worth the payout (the redemption's kind of voucher), with a minimum spend of its value so no
part of it is lost on a smaller order.

Never paying twice. The payer runs outside any transaction and may be called again with the same key after a crash
or a timeout; none of Saleor's mutations here is idempotent. So:

* How a payout is paid is chosen once (``StoreCreditPayment.via``, from the store's ``shop.schemaVersion``) and kept
  on every retry, even if the store is upgraded in between.
* One payout at a time works on a member's card: a lease on its ``StoreCredit`` row. When a call's outcome is
  unknown (timeout, 5xx, a crash) the lease is *kept* for ``UNKNOWN_OUTCOME_WAIT``, so that call has finished in
  Saleor before anyone reads the card again.
* Creating: the card is created with the member (public metadata ``loyalty_store_credit``) and the payout's key
  (private metadata ``loyalty_payout``) in the same mutation. A retry that has no card id looks the card up by that
  metadata and adopts it; if its ``loyalty_payout`` is the retry's key, that payout is paid.
* Topping up: before ``giftCardBalanceAdjust`` is sent, the ids of the card's BALANCE_ADJUSTED events are committed
  (``known_events``). A retry reads the card's events again: an event not known then that added exactly the
  payout's amount is that top-up, and it is not sent again.
* Vouchers: the code is derived from the payout's key (an HMAC with the app's secret: unguessable, the same on
  every retry) and Saleor keeps voucher codes unique: a retry finds the voucher by its code, or is refused creating
  a second one.

What Saleor refuses (a mutation's ``errors``) raises ``PayoutFailed``: nothing was paid, the money is payable
again. Anything else (unreachable, 5xx, a PermissionDenied because the merchant has not granted MANAGE_GIFT_CARD)
raises ``SaleorError`` or ``StoreCreditBusy``: the payout stays ``created`` and is sent again with the same key.
"""

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from saleor_loyalty.core.money import InvalidAmount, to_minor_units, to_money
from saleor_loyalty.installs.models import Install
from saleor_loyalty.saleor.client import SaleorClient, SaleorError

from .models import CreditVia, StoreCredit, StoreCreditPayment
from .payers import PayoutFailed, PayoutRequest

logger = logging.getLogger(__name__)

# Long past any call to Saleor that timed out on our side but still runs on Saleor's.
UNKNOWN_OUTCOME_WAIT = timedelta(minutes=10)
OWNER_KEY = "loyalty_store_credit"  # public metadata: the StoreCredit's random marker (what the lookup filters on)
PAYOUT_KEY = "loyalty_payout"  # private metadata: the payout that created the card
GIFT_CARDS_FROM = (3, 23)  # giftCardBalanceAdjust, GiftCardCreateInput.assignedTo, BALANCE_ADJUSTED events
VOUCHER_CODE_PREFIX = "REBATE-"


class StoreCreditBusy(Exception):
    """Another payout is working on the member's card, or an earlier call's outcome is not known yet: the payout
    stays ``created`` and is sent again later (with the same key)."""


class StoreCreditNeedsAttention(Exception):
    """The app cannot tell whether a payout was paid (the card it may have topped up is gone from Saleor). The
    payout stays ``created`` and is logged on every run until an operator settles it by hand."""


@dataclass(frozen=True)
class Card:
    id: str
    last4: str
    balance: Decimal
    currency: str
    created_by: str | None  # the payout key the card was created with (private metadata)


@dataclass(frozen=True)
class TopUp:
    id: str
    added: Decimal  # current balance after minus before


class StoreCreditPayer:
    """The ``store_credit`` payer: see the module's docstring."""

    def pay(self, request: PayoutRequest) -> str:
        install = Install.objects.get(pk=request.install_id)
        payment = _payment(install, request)
        if payment.done_at is not None:
            return payment.reference
        if payment.via == CreditVia.VOUCHER:
            return _pay_by_voucher(install, request, payment)
        credit, _ = StoreCredit.objects.get_or_create(
            install=install, member_id=request.member_id, currency=request.currency
        )
        with _lease(credit):
            credit.refresh_from_db()
            return _pay_onto_card(install, request, payment, credit)


def _client(install: Install) -> SaleorClient:
    return SaleorClient(install.saleor_api_url, install.auth_token)


def _refused(payload: Any, what: str) -> dict[str, Any]:
    """The mutation's payload, or ``PayoutFailed`` when Saleor refused the input (nothing done)."""
    if not isinstance(payload, dict):
        raise SaleorError(f"Saleor returned no result for {what}")
    errors = payload.get("errors") or []
    if errors:
        detail = "; ".join(f"{e.get('field')}: {e.get('code')} {e.get('message') or ''}".strip() for e in errors)
        raise PayoutFailed(f"Saleor refused {what}: {detail}")
    return payload


def _line(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


def _store_version(install: Install) -> str:
    """The store's Saleor line, asked each time a payout is first seen (a store may have been upgraded); kept on the
    install (``saleor_version``) for operators."""
    shop = _client(install).execute("shop_schema_version").get("shop")
    version = str((shop or {}).get("schemaVersion") or "")
    if not version:
        raise SaleorError("Saleor did not say its schema version")
    if version != install.saleor_version:
        Install.objects.filter(pk=install.pk).update(saleor_version=version[:32])
    return version


def _payment(install: Install, request: PayoutRequest) -> StoreCreditPayment:
    found = StoreCreditPayment.objects.filter(install=install, key=request.key).first()
    if found is not None:
        return found
    version = _store_version(install)
    via = CreditVia.CARD_CREATE if _line(version) >= GIFT_CARDS_FROM else CreditVia.VOUCHER
    payment, _ = StoreCreditPayment.objects.get_or_create(
        install=install,
        key=request.key,
        defaults={
            "via": via,
            "amount": to_minor_units(request.amount, request.currency),
            "currency": request.currency,
            "saleor_version": version[:32],
        },
    )
    return payment


@contextmanager
def _lease(credit: StoreCredit) -> Iterator[None]:
    """Hold the card for one payout. Released when the payout is paid or refused; kept (until it lapses) when the
    outcome of a call is unknown, so that call is over in Saleor before the card is read again."""
    token = secrets.token_hex(16)
    now = timezone.now()
    taken = (
        StoreCredit.objects.filter(pk=credit.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_token=token, lease_until=now + UNKNOWN_OUTCOME_WAIT)
    )
    if not taken:
        raise StoreCreditBusy(f"the store credit of member {credit.member_id} is busy (or waits on an earlier call)")
    settled = False
    try:
        yield
        settled = True
    except PayoutFailed:
        settled = True
        raise
    finally:
        if settled:
            StoreCredit.objects.filter(pk=credit.pk, lease_token=token).update(lease_token="", lease_until=None)


def _card(node: Any, currency: str) -> Card:
    if not isinstance(node, dict) or not node.get("id"):
        raise SaleorError("Saleor returned no gift card")
    balance = node.get("currentBalance") or {}
    try:
        amount = to_money(balance.get("amount"), currency)
    except InvalidAmount as exc:
        raise SaleorError("Saleor sent a gift card with an invalid balance") from exc
    if balance.get("currency") not in (None, currency):
        raise SaleorError(f"the gift card is in {balance.get('currency')}, not {currency}")
    return Card(
        id=str(node["id"]),
        last4=str(node.get("last4CodeChars") or ""),
        balance=amount,
        currency=currency,
        created_by=node.get("loyaltyPayout"),
    )


def masked(last4: str) -> str:
    """A card shown without its code: Saleor gives apps and dashboards only the last four characters."""
    return f"gift card ****{last4}" if last4 else "gift card"


def _pay_onto_card(install: Install, request: PayoutRequest, payment: StoreCreditPayment, credit: StoreCredit) -> str:
    client = _client(install)
    if not credit.saleor_id:
        found = _find_card(client, request, credit)
        if found is None:
            return _create_card(client, request, payment, credit)
        _adopt(credit, found)
        if found.created_by == request.key:
            return _done(payment, credit, found, via=CreditVia.CARD_CREATE)
    return _top_up(client, request, payment, credit)


def _find_card(client: SaleorClient, request: PayoutRequest, credit: StoreCredit) -> Card | None:
    """The card an earlier attempt of this member's store credit created, found by the record's own random marker
    (never another member's card: a marker is unique to one ``StoreCredit``)."""
    data = client.execute("gift_card_find", {"owner": credit.marker})
    edges = ((data.get("giftCards") or {}).get("edges")) or []
    cards = [_card((edge or {}).get("node"), request.currency) for edge in edges]
    if len(cards) > 1:
        logger.warning(
            "more than one store credit gift card for a member; using the one this payout created, else the first",
            extra={"data": {"member_id": request.member_id, "cards": [c.id for c in cards]}},
        )
    return next((c for c in cards if c.created_by == request.key), cards[0] if cards else None)


def _adopt(credit: StoreCredit, card: Card) -> None:
    credit.saleor_id, credit.last4 = card.id, card.last4
    credit.save(update_fields=["saleor_id", "last4", "updated_at"])


def _create_card(client: SaleorClient, request: PayoutRequest, payment: StoreCreditPayment, credit: StoreCredit) -> str:
    card_input: dict[str, Any] = {
        "balance": {"amount": str(request.amount), "currency": request.currency},
        "isActive": True,
        "note": f"Rebates paid as store credit by the loyalty app (payout {request.payout_id}).",
        "addTags": ["loyalty-store-credit"],
        "metadata": [{"key": OWNER_KEY, "value": credit.marker}],
        "privateMetadata": [{"key": PAYOUT_KEY, "value": request.key}],
    }
    if request.saleor_user_id:
        card_input["assignedTo"] = request.saleor_user_id  # only this customer may spend it (3.23)
    if request.email:
        card_input["userEmail"] = request.email  # Saleor sends the card (its code) to the shopper
        card_input["channel"] = request.channel_slug
    StoreCreditPayment.objects.filter(pk=payment.pk).update(via=CreditVia.CARD_CREATE, attempts=F("attempts") + 1)
    data = client.execute("gift_card_create", {"input": card_input})
    payload = _refused(data.get("giftCardCreate"), "giftCardCreate")
    card = _card(payload.get("giftCard"), request.currency)
    _adopt(credit, card)
    return _done(payment, credit, card, via=CreditVia.CARD_CREATE)


def _read_top_ups(client: SaleorClient, card_id: str, currency: str) -> tuple[Card, list[TopUp]] | None:
    node = client.execute("gift_card_top_ups", {"id": card_id}).get("giftCard")
    if node is None:
        return None
    card = _card(node, currency)
    top_ups = []
    for event in node.get("events") or []:
        balance = (event or {}).get("balance") or {}
        try:
            after = to_money((balance.get("currentBalance") or {}).get("amount"), currency)
            before = to_money((balance.get("oldCurrentBalance") or {}).get("amount"), currency)
        except InvalidAmount:
            continue  # not a change we could have made
        top_ups.append(TopUp(id=str(event["id"]), added=after - before))
    return card, top_ups


def _top_up(client: SaleorClient, request: PayoutRequest, payment: StoreCreditPayment, credit: StoreCredit) -> str:
    read = _read_top_ups(client, credit.saleor_id, request.currency)
    if read is None:
        if payment.known_events is not None:
            raise StoreCreditNeedsAttention(
                f"gift card {credit.saleor_id} is gone from Saleor, and payout {request.key} may have topped it up"
            )
        logger.warning(
            "store credit gift card deleted in Saleor; a new one is created",
            extra={"data": {"member_id": request.member_id, "card": credit.saleor_id}},
        )
        credit.saleor_id, credit.last4, credit.balance, credit.balance_at = "", "", None, None
        credit.save(update_fields=["saleor_id", "last4", "balance", "balance_at", "updated_at"])
        return _pay_onto_card(_install(request), request, payment, credit)
    card, top_ups = read
    if card.created_by == request.key:
        return _done(payment, credit, card, via=CreditVia.CARD_CREATE)
    if payment.known_events is not None:
        known = set(payment.known_events)
        if any(t.id not in known and t.added == request.amount for t in top_ups):
            return _done(payment, credit, card, via=CreditVia.CARD_TOP_UP)  # an earlier attempt's top-up
    # Committed before the top-up is sent: what a retry compares against.
    payment.known_events = [t.id for t in top_ups]
    payment.via = CreditVia.CARD_TOP_UP
    payment.attempts += 1
    payment.save(update_fields=["known_events", "via", "attempts"])
    data = client.execute("gift_card_balance_adjust", {"id": card.id, "amount": str(request.amount)})
    payload = _refused(data.get("giftCardBalanceAdjust"), "giftCardBalanceAdjust")
    return _done(payment, credit, _card(payload.get("giftCard"), request.currency), via=CreditVia.CARD_TOP_UP)


def _install(request: PayoutRequest) -> Install:
    return Install.objects.get(pk=request.install_id)


def _done(payment: StoreCreditPayment, credit: StoreCredit, card: Card, *, via: str) -> str:
    reference = masked(card.last4)
    with transaction.atomic():
        claimed = StoreCreditPayment.objects.filter(pk=payment.pk, done_at__isnull=True).update(
            via=via, credit=credit, reference=reference, done_at=timezone.now()
        )
        credit.balance = to_minor_units(card.balance, card.currency)
        credit.balance_at = timezone.now()
        fields = ["balance", "balance_at", "updated_at"]
        if claimed:
            credit.credited += payment.amount
            fields.append("credited")
        credit.save(update_fields=fields)
    return reference


# -- Saleor 3.22: a single-use voucher per payout --------------------------------------------------------------


def voucher_code(install: Install, key: str) -> str:
    """The payout's voucher code: the same on every retry, unguessable without the app's secret."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{install.pk}:{key}".encode(), hashlib.sha256).hexdigest()
    return VOUCHER_CODE_PREFIX + digest[:16].upper()


def _find_voucher(client: SaleorClient, code: str) -> str | None:
    data = client.execute("voucher_search", {"search": code, "after": None})
    for edge in ((data.get("vouchers") or {}).get("edges")) or []:
        node = (edge or {}).get("node") or {}
        codes = [((c or {}).get("node") or {}).get("code") for c in ((node.get("codes") or {}).get("edges") or [])]
        if code in codes and node.get("id"):
            return str(node["id"])
    return None


def _channel_id(client: SaleorClient, request: PayoutRequest) -> str:
    channel = client.execute("channel_id", {"slug": request.channel_slug}).get("channel")
    if not isinstance(channel, dict) or not channel.get("id"):
        raise PayoutFailed(f"Saleor has no channel {request.channel_slug!r}")
    if channel.get("currencyCode") != request.currency:
        raise PayoutFailed(
            f"channel {request.channel_slug!r} is in {channel.get('currencyCode')}, not {request.currency}"
        )
    return str(channel["id"])


def _pay_by_voucher(install: Install, request: PayoutRequest, payment: StoreCreditPayment) -> str:
    client = _client(install)
    code = voucher_code(install, request.key)
    channel_id = _channel_id(client, request)
    voucher_id = _find_voucher(client, code)
    if voucher_id is None:
        StoreCreditPayment.objects.filter(pk=payment.pk).update(voucher_code=code, attempts=F("attempts") + 1)
        voucher_input = {
            "type": "ENTIRE_ORDER",
            "name": f"Rebate payout {request.payout_id}",
            "addCodes": [code],
            "discountValueType": "FIXED",
            "singleUse": True,
            "usageLimit": 1,
        }
        payload = client.execute("voucher_create", {"input": voucher_input}).get("voucherCreate")
        errors = payload.get("errors") or [] if isinstance(payload, dict) else []
        if any(isinstance(e, dict) and e.get("code") in ("UNIQUE", "ALREADY_EXISTS") for e in errors):
            voucher_id = _find_voucher(client, code)  # an earlier attempt created it after all
        if voucher_id is None:
            voucher_id = str((_refused(payload, "voucherCreate").get("voucher") or {}).get("id") or "")
            if not voucher_id:
                raise SaleorError("Saleor created no voucher")
    # Listing it is idempotent (it sets the value in the channel): done on every attempt. The minimum spend is the
    # voucher's value, so an order smaller than the credit cannot swallow part of it.
    listing = {
        "addChannels": [
            {"channelId": channel_id, "discountValue": str(request.amount), "minAmountSpent": str(request.amount)}
        ]
    }
    data = client.execute("voucher_channel_listing_update", {"id": voucher_id, "input": listing})
    try:
        _refused(data.get("voucherChannelListingUpdate"), "voucherChannelListingUpdate")
    except PayoutFailed:
        # A voucher without its value in the channel cannot be spent: remove it, then give the money back.
        _refused(client.execute("voucher_delete", {"id": voucher_id}).get("voucherDelete"), "voucherDelete")
        raise
    with transaction.atomic():
        StoreCreditPayment.objects.filter(pk=payment.pk, done_at__isnull=True).update(
            voucher_code=code, reference=code, done_at=timezone.now()
        )
    return code
