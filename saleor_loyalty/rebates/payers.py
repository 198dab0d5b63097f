"""How payable rebates leave the app: a payer per payout method, behind one small interface.

The store credit payer (a Saleor gift card, ``store_credit.py``) and the Stripe payer (``stripe_payout.py``) register
themselves with ``register_payer`` (from the rebates app's ``ready``). Until a method has a payer, its payouts wait
in ``created`` and are sent by the next settlement run after one is registered.

A payer is called outside any database transaction (it talks to the outside world) and may be called again for
the same payout after a crash or a timeout: it must treat ``PayoutRequest.key`` as an idempotency key (Stripe's
``Idempotency-Key``; a gift card tagged with it) and return the first payment's reference for a key it has seen.

A payer whose outcome is only known later (a Stripe refund, confirmed by Stripe's webhook) returns ``Sent``: the
payout waits in ``sent``, its money still held, until the payer settles it (``settlement.settle_sent``). Sent
payouts are offered to their payer again on each settlement run (to finish what it left to do); it must then do
nothing more than what is left.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class PayoutRequest:
    key: str  # unique per payout, the same on every retry
    payout_id: int
    install_id: int
    member_id: int
    saleor_user_id: str | None
    email: str
    channel_slug: str
    amount: Decimal  # at the currency's precision
    currency: str
    method: str


@dataclass(frozen=True)
class Sent:
    """Handed over; the outcome is confirmed later (the payout stays ``sent``, its money held)."""

    reference: str


class PayoutFailed(Exception):
    """The payer is sure nothing was paid (a card declined, an account closed): the money becomes payable again.

    Anything else a payer raises leaves the payout ``created``, to be sent again with the same key."""


class Payer(Protocol):
    def pay(self, request: PayoutRequest) -> str | Sent:
        """Pay the request; return the payment's reference (a gift card code), or ``Sent`` when its outcome is
        confirmed later (Stripe refunds)."""
        ...


_payers: dict[str, Payer] = {}


def register_payer(method: str, payer: Payer) -> None:
    _payers[method] = payer


def payer_for(method: str) -> Payer | None:
    return _payers.get(method)
