"""How payable rebates leave the app: a payer per payout method, behind one small interface.

Store credit (a Saleor gift card) and Stripe payers come from later work; they register themselves with
``register_payer`` (from their app's ``ready``). Until a method has a payer, its payouts wait in ``created`` and
are sent by the next settlement run after one is registered.

A payer is called outside any database transaction (it talks to the outside world) and may be called again for
the same payout after a crash or a timeout: it must treat ``PayoutRequest.key`` as an idempotency key (Stripe's
``Idempotency-Key``; a gift card tagged with it) and return the first payment's reference for a key it has seen.
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


class PayoutFailed(Exception):
    """The payer is sure nothing was paid (a card declined, an account closed): the money becomes payable again.

    Anything else a payer raises leaves the payout ``created``, to be sent again with the same key."""


class Payer(Protocol):
    def pay(self, request: PayoutRequest) -> str:
        """Pay the request; return the payment's reference (a gift card code, a Stripe transfer id)."""
        ...


_payers: dict[str, Payer] = {}


def register_payer(method: str, payer: Payer) -> None:
    _payers[method] = payer


def payer_for(method: str) -> Payer | None:
    return _payers.get(method)
