"""The shopper's "rebate paid" email: decided when a payout is recorded paid, sent after that transaction commits.

A payout is paid once (``settlement._record``, under the payout's lock): store credit topped up (or a 3.22 voucher
made), or every Stripe refund of it confirmed by Stripe. That is when the shopper is told, through the notifications
outbox (``notify``: one row per key, sent after commit; skipped for guests, opted-out shoppers and when the
merchant switched the kind off). The key is the payout's (``rebate_paid:<payout id>``), so a payout is announced
once whatever repeats.

The email says how much was paid (what was actually paid: a payout can be paid in part) and how: refunded onto the
card the shopper paid with, added to their store credit (the gift card's last four characters), or — on Saleor
3.22 — a single-use voucher code, which Saleor itself never emails.
"""

from decimal import Decimal

from saleor_loyalty.core.money import from_minor_units
from saleor_loyalty.notifications.actions import notify
from saleor_loyalty.notifications.models import NotificationKind

from .models import CreditVia, PartKind, PartState, PayoutMethod, RebatePayout, StoreCreditPayment


def email_rebate_paid(payout: RebatePayout, paid_amount: int) -> None:
    """Decide the "rebate paid" email for ``payout``, paid ``paid_amount`` (minor units), inside the transaction
    that records it paid. Once per payout (its key)."""
    if paid_amount <= 0:
        return
    notify(
        payout.member,
        NotificationKind.REBATE_PAID,
        key=f"rebate_paid:{payout.pk}",
        context=paid_context(payout, paid_amount),
    )


def paid_context(payout: RebatePayout, paid_amount: int) -> dict[str, str]:
    """What the templates get: ``amount``, ``currency``, ``period``, and how it was paid — ``card_refund`` (money
    refunded onto the card), ``store_credit`` (money added as store credit), ``store_credit_last4`` (the gift card's
    last four characters), ``voucher_code`` (3.22: the single-use code to spend it). Amounts are strings at the
    currency's precision; "" where it does not apply."""
    currency = payout.currency
    refunded = 0
    credit_keys: list[tuple[str, int]] = []  # (store credit payment key, amount) of what went to store credit
    if payout.method == PayoutMethod.STRIPE:
        for part in payout.parts.filter(state=PartState.DONE).order_by("pk"):
            if part.kind == PartKind.STRIPE_REFUND:
                refunded += part.amount
            else:
                credit_keys.append((part.idempotency_key, part.amount))
    else:
        credit_keys.append((payout.idempotency_key, paid_amount))
    payments = {
        payment.key: payment
        for payment in StoreCreditPayment.objects.filter(
            install_id=payout.install_id, key__in=[key for key, _ in credit_keys]
        ).select_related("credit")
    }
    last4 = next(
        (p.credit.last4 for p in payments.values() if p.credit is not None and p.credit.last4 and p.done_at), ""
    )
    vouchers = [p.voucher_code for p in payments.values() if p.via == CreditVia.VOUCHER and p.voucher_code]
    credited = sum((amount for _, amount in credit_keys), 0)
    return {
        "amount": _money(paid_amount, currency),
        "currency": currency,
        "period": payout.period.period,
        "card_refund": _money(refunded, currency) if refunded else "",
        "store_credit": _money(credited, currency) if credited else "",
        "store_credit_last4": last4,
        "voucher_code": ", ".join(vouchers),
    }


def _money(minor: int, currency: str) -> str:
    amount: Decimal = from_minor_units(minor, currency)
    return str(amount)
