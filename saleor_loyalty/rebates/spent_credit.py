"""Store credit spent on an order: the part of it that earns neither points nor rebates.

A rebate paid as store credit is a Saleor gift card (``store_credit.py``); on 3.23 the shopper spends it through
Saleor's gift-card gateway, which leaves the order's total whole and records the card's share as a transaction
(``GiftCardPaymentMethodDetails``, the card code's last characters). Earning on that share would pay cash back on
cash back, so the program and the rebate accrual take it out of what the order earns on, pro rata across its lines
(``program.earning.paid_shares``).

Only the program's own card counts: the member's ``StoreCredit`` in the order's currency, matched by its last code
characters. Other gift cards (bought ones, a merchant's goodwill card) are the shopper's money and earn as cash. On
3.22 store credit is a voucher, a discount that lowers the order's total: it never earned.
"""

from decimal import Decimal

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.snapshots import OrderSnapshot

from .models import StoreCredit


def store_credit_spent(install: Install, member: Member, order: OrderSnapshot) -> Decimal:
    """What ``order`` kept of the payments made with the member's store credit card (charged, less Saleor's
    refunds to the card). No lookup for an order without gift-card payments (nearly every order)."""
    gift_cards = [payment for payment in order.payments if payment.gift_card_last_chars]
    if not gift_cards:
        return Decimal(0)
    ours = {
        last4.upper()
        for last4 in StoreCredit.objects.filter(install=install, member=member, currency=order.currency)
        .exclude(last4="")
        .values_list("last4", flat=True)
    }
    return sum(
        (payment.kept for payment in gift_cards if (payment.gift_card_last_chars or "").upper() in ours), Decimal(0)
    )
