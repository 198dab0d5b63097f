"""Refunding part of an order's Stripe payment, at most once per idempotency key, whatever happens on the way.

Three guards, each covering what the one before cannot:

1. Our row (``StripeRefund``, unique per install and key) records every attempt before Stripe is called and the
   refund once Stripe answered. A call with a key whose refund is known returns it without calling Stripe; one whose
   earlier attempt was refused raises the same refusal again; one made while another is under way waits (a lease).
2. Stripe's ``Idempotency-Key`` (the caller's key, prefixed with the install): a retry after a lost answer gets the
   first answer back — for 24 hours, and only from the real Stripe (the test fake ignores it: docs/stripe.md).
3. Before every refund is created, the payment's refunds are listed and one carrying our key in its metadata is
   taken as the answer. This covers retries after Stripe's 24 hours, a fake without idempotency, and a caller that
   called from inside its own transaction and rolled our row back after Stripe had acted (one GET per attempt:
   payouts are rare, paying twice is not an option).

The caller keeps its own record (a payout row) and retries ``StripeOutcomeUnknown`` with the SAME key; only
``StripeRefused`` means no money moved and another way (store credit) may be taken.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install

from .client import StripeOutcomeUnknown, StripeRefused, classify, stripe_client
from .models import StripeRefund

logger = logging.getLogger(__name__)
METADATA_KEY = "saleor_loyalty_idempotency_key"
REFUSED = "refused"


@dataclass(frozen=True)
class RefundResult:
    refund_id: str
    status: str  # Stripe's: pending, requires_action, succeeded, failed, canceled
    amount_minor: int
    currency: str


class IdempotencyKeyReused(ValueError):
    """The key was used before for a different refund: a bug in the caller, never retried."""


def stripe_idempotency_key(install: Install, key: str) -> str:
    """The key Stripe sees: idempotency keys are per Stripe account, and two stores may share one account."""
    return f"saleor-loyalty:{install.pk}:{key}"


def refund_payment(
    install: Install,
    payment_intent_id: str,
    amount_minor: int,
    currency: str,
    idempotency_key: str,
    metadata: dict[str, str] | None = None,
) -> RefundResult:
    """Refund ``amount_minor`` (in the currency's minor unit) of the PaymentIntent, once for this key.

    Raises ``StripeRefused`` (no money moved, for sure), ``StripeOutcomeUnknown`` (retry with the same key),
    ``StripeNotConnected``, or ``IdempotencyKeyReused``.
    """
    currency = currency.lower()
    _check_arguments(payment_intent_id, amount_minor, currency, idempotency_key, metadata or {})
    row = _claim(install, payment_intent_id, amount_minor, currency, idempotency_key, metadata or {})
    if row.refund_id:
        return _result(row)
    try:
        result = _call_stripe(install, row)
    except StripeRefused as exc:
        StripeRefund.objects.filter(pk=row.pk).update(
            status=REFUSED, failure_code=exc.code[:64], failure_message=exc.message, in_flight_until=None
        )
        raise
    except BaseException:
        StripeRefund.objects.filter(pk=row.pk).update(in_flight_until=None)
        raise
    StripeRefund.objects.filter(pk=row.pk).update(
        refund_id=result.refund_id, status=result.status, in_flight_until=None
    )
    return result


def _check_arguments(
    payment_intent_id: str, amount_minor: int, currency: str, key: str, metadata: dict[str, str]
) -> None:
    if not payment_intent_id.startswith("pi_") or len(payment_intent_id) > 255:
        raise ValueError("not a PaymentIntent id")
    if not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValueError("amount_minor must be a positive integer")
    if len(currency) != 3 or not currency.isalpha():
        raise ValueError("currency must be a three-letter code")
    if not key or len(key) > 200:
        raise ValueError("idempotency_key must be 1 to 200 characters")
    if len(metadata) > 49 or METADATA_KEY in metadata:  # Stripe allows 50 keys; one is ours
        raise ValueError("too many metadata keys, or a reserved one")
    for name, value in metadata.items():
        if not isinstance(value, str) or len(name) > 40 or len(value) > 500 or "\x00" in name + value:
            raise ValueError(f"metadata {name!r}: Stripe takes keys up to 40 and string values up to 500 characters")


def _claim(
    install: Install, payment_intent_id: str, amount_minor: int, currency: str, key: str, metadata: dict[str, str]
) -> StripeRefund:
    """The key's row, with this attempt recorded (committed before Stripe is called, unless the caller holds a
    transaction open)."""
    wanted: dict[str, Any] = {
        "payment_intent": payment_intent_id,
        "amount_minor": amount_minor,
        "currency": currency,
        "metadata": metadata,
    }
    try:
        with transaction.atomic():
            StripeRefund.objects.get_or_create(install=install, idempotency_key=key, defaults=wanted)
    except IntegrityError:
        pass  # created concurrently: the row is there either way
    with transaction.atomic():
        row = StripeRefund.objects.select_for_update().get(install=install, idempotency_key=key)
        if {name: getattr(row, name) for name in wanted} != wanted:
            raise IdempotencyKeyReused(f"idempotency key {key!r} was used for another refund")
        if row.refund_id:
            return row
        if row.status == REFUSED:
            raise StripeRefused(row.failure_code, row.failure_message)
        now = timezone.now()
        if row.in_flight_until is not None and row.in_flight_until > now:
            raise StripeOutcomeUnknown("another attempt with this key is under way")
        row.attempts += 1
        row.in_flight_until = now + timedelta(seconds=_call_budget_seconds())
        row.save(update_fields=["attempts", "in_flight_until", "updated_at"])
    return row


def _call_budget_seconds() -> float:
    """How long one attempt may take: three calls at most, each bounded by the client's timeouts, and a margin."""
    per_call = float(settings.STRIPE_CONNECT_TIMEOUT) + float(settings.STRIPE_READ_TIMEOUT)
    return 3 * per_call * (1 + int(settings.STRIPE_MAX_NETWORK_RETRIES)) + 30


def _call_stripe(install: Install, row: StripeRefund) -> RefundResult:
    client = stripe_client(install)
    key = stripe_idempotency_key(install, row.idempotency_key)
    try:
        intent = client.v1.payment_intents.retrieve(row.payment_intent)
        if str(intent.currency).lower() != row.currency:
            raise StripeRefused("currency_mismatch", f"the payment is in {intent.currency}, not {row.currency}")
        earlier = _find_refund(client, row.payment_intent, key)
        if earlier is not None:
            logger.info("stripe refund found before creating it", extra={"data": {"refund": earlier.id}})
            return _from_stripe(earlier)
        refund = client.v1.refunds.create(
            params={
                "payment_intent": row.payment_intent,
                "amount": row.amount_minor,
                "metadata": {**row.metadata, METADATA_KEY: key},
            },
            options={"idempotency_key": key},
        )
    except stripe.StripeError as exc:
        raise classify(exc) from exc
    return _from_stripe(refund)


def _find_refund(client: stripe.StripeClient, payment_intent_id: str, key: str) -> stripe.Refund | None:
    refunds = client.v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    for refund in refunds.auto_paging_iter():
        metadata = refund.metadata
        if metadata is not None and METADATA_KEY in metadata and metadata[METADATA_KEY] == key:
            return refund
    return None


def _from_stripe(refund: stripe.Refund) -> RefundResult:
    return RefundResult(
        refund_id=refund.id, status=str(refund.status), amount_minor=int(refund.amount), currency=refund.currency
    )


def _result(row: StripeRefund) -> RefundResult:
    return RefundResult(
        refund_id=row.refund_id, status=row.status, amount_minor=row.amount_minor, currency=row.currency
    )
