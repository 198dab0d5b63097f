"""Rebates paid back onto the shopper's card: Stripe refunds of the period's paid orders, confirmed by webhook.

A payout of method ``stripe`` is **planned** once, before anything is sent (``_plan``, under the payout's lock):
split into parts, each with an idempotency key derived from the payout's and fixed for good —

- one Stripe refund per PaymentIntent of the member's orders of the payout's period, largest refundable first,
  each at most what the payment still holds (charged, less Saleor's refunds done or pending, less the refunds of
  earlier rebate payouts); key ``<payout key>:refund:<pi_…>``;
- store credit (``payer_for("store_credit")``) for what no payment can take; key ``<payout key>:credit:rest``.

A payout with nothing to refund (the shopper paid otherwise, the store has no Stripe account) becomes a store
credit payout (``method`` changes: the method actually used) and is handed to the store credit payer whole.

Sending (``StripePayer.pay``; called again by every settlement run while the payout is ``created`` or ``sent``)
sends each part still ``planned`` through ``payments.refund_payment`` (at most one refund per key, whatever
happens): an unknown outcome leaves the part planned and raises — the payout stays ``created`` and the next run
sends the same part with the same key; a refusal fails the part and plans store credit in its place (key
``<payout key>:credit:<pi_…>``, at most one per refund). Stripe's answer moves a refund part to ``sent``: the
money is on its way, and the payout waits in ``sent``.

Confirmation (``record_refund``, through ``apply_refunds``): Stripe's signed webhooks — ``refund.updated`` /
``refund.failed`` / ``charge.refund.updated`` carry the refund; ``charge.refunded`` carries the charge, whose refunds
are read back from Stripe when the event does not list them (API versions since 2022 do not). A refund
``succeeded`` is done; one ``failed`` or ``canceled`` fails its part (also after it succeeded: Stripe can fail a
refund days later) and its money goes to store credit, once. Statuses only move forward (a late ``pending`` never
undoes ``succeeded``). When every part is final the payout is settled: its hold posted for what was paid (all of it,
or less when store credit failed too: the rest is payable again), or voided when nothing was paid. Webhooks can be
lost: refunds left unconfirmed are read back from Stripe by ``refund_polling`` and applied the same way.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import stripe
from celery import shared_task
from django.db import transaction
from django.db.models import Sum

from saleor_loyalty.core.money import from_minor_units
from saleor_loyalty.installs.models import Install
from saleor_loyalty.payments.client import (
    StripeNotConnected,
    StripeOutcomeUnknown,
    StripeRefused,
    classify,
    stripe_client,
)
from saleor_loyalty.payments.events import handles
from saleor_loyalty.payments.models import StripeAccount
from saleor_loyalty.payments.refunds import METADATA_KEY, refund_payment, stripe_idempotency_key

from .models import (
    PartKind,
    PartState,
    PayoutMethod,
    PayoutState,
    RebateOrder,
    RebatePayout,
    RebatePayoutPart,
    RebatePeriod,
)
from .payers import PayoutFailed, PayoutRequest, Sent, payer_for, register_payer
from .settlement import payout_request, settle_sent

logger = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED_STATUSES = frozenset({"failed", "canceled"})
REFUSED = "refused"
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


class WaitingForStoreCredit(Exception):
    """Money is to be paid as store credit and no store credit payer is registered: the payout waits."""


# -- planning ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refundable:
    order_id: str
    payment_intent: str
    available: int  # minor units


def refundable_payments(payout: RebatePayout) -> list[Refundable]:
    """The Stripe payments of the member's orders in the payout's period, largest refundable first."""
    if not StripeAccount.objects.filter(install_id=payout.install_id).exists():
        return []
    ours = dict(
        RebatePayoutPart.objects.filter(install_id=payout.install_id, kind=PartKind.STRIPE_REFUND)
        .exclude(state=PartState.FAILED)
        .values_list("payment_intent")
        .annotate(total=Sum("amount"))
    )
    found: dict[str, tuple[int, Any, str]] = {}
    orders = RebateOrder.objects.filter(period_id=payout.period_id, member_id=payout.member_id)
    for order in orders.order_by("placed_at", "pk"):
        for payment in order.payments or ():
            reference = payment.get("psp_reference") if isinstance(payment, dict) else None
            if not isinstance(reference, str) or not reference.startswith("pi_") or reference in found:
                continue
            available = int(payment.get("charged") or 0) - int(payment.get("refunded") or 0)
            available -= int(ours.get(reference) or 0)
            if available > 0:
                found[reference] = (available, order.placed_at, order.order_id)
    ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[1][1], item[1][2]))
    return [Refundable(order_id, reference, available) for reference, (available, _, order_id) in ranked]


def _plan(payout_id: int) -> tuple[RebatePayout, list[RebatePayoutPart]]:
    """The payout's parts, made once (under the payout's lock). None made: a store credit payout (method changed)."""
    with transaction.atomic():
        payout = RebatePayout.objects.select_for_update().get(pk=payout_id)
        parts = list(payout.parts.order_by("pk"))
        if parts or payout.method != PayoutMethod.STRIPE or payout.state != PayoutState.CREATED:
            return payout, parts
        left = payout.amount
        for payment in refundable_payments(payout):
            if left <= 0:
                break
            amount = min(left, payment.available)
            parts.append(
                RebatePayoutPart.objects.create(
                    install_id=payout.install_id,
                    payout=payout,
                    kind=PartKind.STRIPE_REFUND,
                    amount=amount,
                    order_id=payment.order_id,
                    payment_intent=payment.payment_intent,
                    idempotency_key=f"{payout.idempotency_key}:refund:{payment.payment_intent}",
                )
            )
            left -= amount
        if not parts:
            payout.method = PayoutMethod.STORE_CREDIT
            payout.save(update_fields=["method"])
            return payout, []
        if left > 0:
            parts.append(
                RebatePayoutPart.objects.create(
                    install_id=payout.install_id,
                    payout=payout,
                    kind=PartKind.STORE_CREDIT,
                    amount=left,
                    idempotency_key=f"{payout.idempotency_key}:credit:rest",
                )
            )
    return payout, parts


# -- recording what Stripe said ------------------------------------------------------------------------------------


def _apply_status(part: RebatePayoutPart, refund_id: str, status: str, *, confirmed: bool, failure: str = "") -> bool:
    """Move a refund part (locked by the caller) forward by what Stripe says of its refund. ``confirmed``: said by
    a signed webhook (only then is a success final). Returns True if the part changed."""
    before = (part.state, part.stripe_status, part.reference)
    if refund_id and not part.reference:
        part.reference = refund_id
    if part.state == PartState.FAILED:
        return False
    if status in FAILED_STATUSES or status == REFUSED:
        part.state, part.stripe_status = PartState.FAILED, status
        part.failure = failure or f"the refund {status}"
        part.save()
        _plan_fallback(part)
        return True
    if part.state == PartState.DONE:
        return False  # a late "pending" or a repeated "succeeded" changes nothing
    if status == SUCCEEDED and confirmed:
        part.state, part.stripe_status = PartState.DONE, status
    elif status:
        part.state = PartState.SENT
        if part.stripe_status != SUCCEEDED or status == SUCCEEDED:
            part.stripe_status = status
    if (part.state, part.stripe_status, part.reference) != before:
        part.save()
        return True
    return False


def _plan_fallback(part: RebatePayoutPart) -> RebatePayoutPart:
    """Store credit in place of a refund that moved no money: at most one per refund."""
    fallback, _ = RebatePayoutPart.objects.get_or_create(
        fallback_for=part,
        defaults={
            "install_id": part.install_id,
            "payout_id": part.payout_id,
            "kind": PartKind.STORE_CREDIT,
            "amount": part.amount,
            "order_id": part.order_id,
            "payment_intent": part.payment_intent,
            "idempotency_key": f"{part.payout.idempotency_key}:credit:{part.payment_intent}",
        },
    )
    return fallback


def _record_answer(part_id: int, *, refund_id: str = "", status: str, failure: str = "") -> None:
    with transaction.atomic():
        part = RebatePayoutPart.objects.select_for_update().select_related("payout").get(pk=part_id)
        _apply_status(part, refund_id, status, confirmed=False, failure=failure)


def conclude(payout_id: int) -> None:
    """Settle the payout once every part is final: its hold posted for what was paid, or voided if nothing was."""
    with transaction.atomic():
        period_id = RebatePayout.objects.values_list("period_id", flat=True).get(pk=payout_id)
        RebatePeriod.objects.select_for_update().get(pk=period_id)  # the period first, as settlement locks them
        payout = RebatePayout.objects.select_for_update().get(pk=payout_id)
        if payout.state not in (PayoutState.CREATED, PayoutState.SENT):
            return
        parts = list(payout.parts.all())
        if not parts or any(part.state in (PartState.PLANNED, PartState.SENT) for part in parts):
            return
        paid = sum(part.amount for part in parts if part.state == PartState.DONE)
        failures = [f"{part.kind} {part.payment_intent or ''}: {part.failure}" for part in parts if part.failure]
        if failures:
            RebatePayout.objects.filter(pk=payout.pk).update(failure="; ".join(failures)[:2000])
        settle_sent(payout.pk, paid_amount=paid, detail=_reference(parts) if paid else "; ".join(failures))


def _reference(parts: Iterable[RebatePayoutPart]) -> str:
    """The payout's reference: its Stripe refund ids and store credit references, in order."""
    return ",".join(part.reference for part in parts if part.reference and part.state != PartState.FAILED)[:255]


# -- the payer -----------------------------------------------------------------------------------------------------


class StripePayer:
    """The payer for method ``stripe`` (registered by the rebates app)."""

    def pay(self, request: PayoutRequest) -> str | Sent:
        payout, parts = _plan(request.payout_id)
        if not parts:
            return _whole_as_store_credit(request)
        install = Install.objects.get(pk=payout.install_id)
        unknown = 0
        for part in parts:
            if part.kind != PartKind.STRIPE_REFUND or part.state != PartState.PLANNED:
                continue
            try:
                result = refund_payment(
                    install,
                    part.payment_intent,
                    part.amount,
                    payout.currency,
                    part.idempotency_key,
                    metadata={"rebate_payout": str(payout.pk), "saleor_order": part.order_id[:500]},
                )
            except (StripeRefused, StripeNotConnected) as exc:
                logger.warning("rebate refund refused", extra={"data": {"part": part.pk, "error": str(exc)}})
                _record_answer(part.pk, status=REFUSED, failure=str(exc)[:1000])
            except StripeOutcomeUnknown:
                logger.warning("rebate refund outcome unknown; sent again", extra={"data": {"part": part.pk}})
                unknown += 1
            else:
                _record_answer(part.pk, refund_id=result.refund_id, status=result.status)
        if unknown:
            raise StripeOutcomeUnknown(f"{unknown} refund(s) of payout {payout.pk} may have been made: retried")
        finish(payout.pk, request=request)
        return Sent(_reference(RebatePayoutPart.objects.filter(payout_id=payout.pk).order_by("pk")))


def _whole_as_store_credit(request: PayoutRequest) -> str:
    credit = payer_for(PayoutMethod.STORE_CREDIT)
    if credit is None:
        raise WaitingForStoreCredit("no Stripe payment to refund and no store credit payer: the payout waits")
    answer = credit.pay(replace(request, method=PayoutMethod.STORE_CREDIT))
    if isinstance(answer, Sent):  # not expected of store credit; recorded as paid by its reference
        return answer.reference
    return answer


def finish(payout_id: int, *, request: PayoutRequest | None = None) -> None:
    """Pay the payout's planned store credit parts (fallbacks and the rest), then settle it if every part is
    final. Safe to repeat; called by the payer, after a webhook failed a refund, and by the hourly run."""
    payout = RebatePayout.objects.select_related("member", "program").get(pk=payout_id)
    planned = list(payout.parts.filter(kind=PartKind.STORE_CREDIT, state=PartState.PLANNED).order_by("pk"))
    if planned:
        credit = payer_for(PayoutMethod.STORE_CREDIT)
        if credit is None:
            others = payout.parts.exclude(kind=PartKind.STORE_CREDIT)
            if payout.state == PayoutState.CREATED and not others.exclude(state=PartState.FAILED).exists():
                payout.parts.filter(state=PartState.PLANNED).update(
                    state=PartState.FAILED, failure="no store credit payer"
                )
                raise PayoutFailed("Stripe refused every refund and there is no store credit to fall back on")
            logger.warning("rebate store credit waits for a payer", extra={"data": {"payout": payout_id}})
        else:
            base = request or payout_request(payout)
            for part in planned:
                _pay_store_credit(credit, base, part)
    conclude(payout_id)


def _pay_store_credit(credit: Any, base: PayoutRequest, part: RebatePayoutPart) -> None:
    request = replace(
        base,
        key=part.idempotency_key,
        amount=from_minor_units(part.amount, base.currency),
        method=PayoutMethod.STORE_CREDIT,
    )
    try:
        answer = credit.pay(request)
    except PayoutFailed as exc:
        RebatePayoutPart.objects.filter(pk=part.pk, state=PartState.PLANNED).update(
            state=PartState.FAILED, failure=f"store credit: {exc}"[:1000]
        )
        return
    reference = answer.reference if isinstance(answer, Sent) else answer
    RebatePayoutPart.objects.filter(pk=part.pk, state=PartState.PLANNED).update(
        state=PartState.DONE, reference=str(reference)[:255]
    )


@shared_task(name="saleor_loyalty.rebates.stripe_payout.finish_payout")
def finish_payout(payout_id: int) -> None:
    """After a webhook failed a refund: pay its store credit and settle the payout (outside the webhook's
    transaction: store credit talks to Saleor)."""
    try:
        finish(payout_id)
    except PayoutFailed:
        logger.warning("rebate payout has nothing left to pay", extra={"data": {"payout": payout_id}})


def finish_waiting(limit: int = 200) -> int:
    """The hourly sweep: payouts of any state with store credit still planned (a webhook's task lost, a store
    credit payer registered since)."""
    ids = (
        RebatePayoutPart.objects.filter(kind=PartKind.STORE_CREDIT, state=PartState.PLANNED)
        .exclude(payout__state=PayoutState.FAILED)
        .values_list("payout_id", flat=True)
        .distinct()
    )
    done = 0
    for payout_id in list(ids[:limit]):
        finish_payout(payout_id)
        done += 1
    return done


def _enqueue_finish(payout_id: int) -> None:
    try:
        finish_payout.apply_async(args=[payout_id], retry=False)
    except Exception:  # the hourly sweep (finish_waiting) takes it
        logger.warning("rebate payout finish not enqueued; the sweep will", exc_info=True)


# -- Stripe's webhooks ---------------------------------------------------------------------------------------------


def _part_for(install: Install, refund: dict[str, Any]) -> RebatePayoutPart | None:
    """Our refund part for a Stripe refund object: by its id, else by the idempotency key in its metadata (a
    webhook can overtake the answer to the create call)."""
    refund_id = str(_field(refund, "id") or "")
    parts = RebatePayoutPart.objects.select_for_update().select_related("payout")
    part = (
        parts.filter(install=install, kind=PartKind.STRIPE_REFUND, reference=refund_id).first() if refund_id else None
    )
    if part is None:
        metadata = _field(refund, "metadata") or {}
        key = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
        prefix = stripe_idempotency_key(install, "")
        if isinstance(key, str) and key.startswith(prefix):
            part = parts.filter(
                install=install, kind=PartKind.STRIPE_REFUND, idempotency_key=key[len(prefix) :]
            ).first()
    return part


def _field(obj: dict[str, Any], name: str) -> Any:
    return obj.get(name)


def _plain(obj: Any) -> Any:
    """A Stripe object as plain JSON data."""
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else obj


def record_refund(install: Install, refund: dict[str, Any]) -> int | None:
    """What Stripe says of one refund, applied to our part (if it is ours). Returns the payout touched."""
    part = _part_for(install, refund)
    if part is None:
        return None
    status = str(_field(refund, "status") or "")
    reason = _field(refund, "failure_reason")
    failure = f"the refund {status}" + (f" ({reason})" if reason else "")
    if not _apply_status(part, str(_field(refund, "id") or ""), status, confirmed=True, failure=failure):
        return None
    return part.payout_id


def _charge_refunds(install: Install, charge: dict[str, Any]) -> list[dict[str, Any]]:
    """The charge's refunds: from the event when it lists them (older API versions), else read back from Stripe
    (the event is the signed trigger; the refunds' statuses come from Stripe's API with the store's key)."""
    listed = charge.get("refunds")
    if isinstance(listed, dict) and isinstance(listed.get("data"), list) and not listed.get("has_more"):
        return [refund for refund in listed["data"] if isinstance(refund, dict)]
    intent = charge.get("payment_intent")
    if (
        not isinstance(intent, str)
        or not RebatePayoutPart.objects.filter(install=install, payment_intent=intent).exists()
    ):
        return []
    try:
        client = stripe_client(install)
        found = client.v1.refunds.list(params={"payment_intent": intent, "limit": 100}).auto_paging_iter()
        return [refund.to_dict() for refund in found]
    except stripe.StripeError as exc:  # the event fails and is retried by the sweep
        raise classify(exc) from exc


@handles("charge.refunded", *REFUND_EVENTS)
def record_payout_outcome(install: Install, event: stripe.Event) -> None:
    """Stripe's word on our rebate refunds: parts confirmed or failed, payouts settled, fallbacks scheduled."""
    data = _plain(event.data.object)
    if not isinstance(data, dict):
        return
    refunds = _charge_refunds(install, data) if event.type == "charge.refunded" else [data]
    apply_refunds(install, refunds)


def apply_refunds(install: Install, refunds: Iterable[dict[str, Any]]) -> set[int]:
    """Refund objects read from Stripe (a signed webhook's, or retrieved with the store's key by the poller), applied
    inside the caller's transaction: parts confirmed or failed, payouts settled, store credit for failed refunds
    scheduled after commit. The one path for both; statuses only move forward, so either may come first, or twice.
    Returns the payouts touched."""
    touched = {payout_id for refund in refunds if (payout_id := record_refund(install, refund)) is not None}
    for payout_id in sorted(touched):
        conclude(payout_id)
        if RebatePayoutPart.objects.filter(
            payout_id=payout_id, kind=PartKind.STORE_CREDIT, state=PartState.PLANNED
        ).exists():
            transaction.on_commit(partial(_enqueue_finish, payout_id))
    return touched


def register() -> None:
    register_payer(PayoutMethod.STRIPE, StripePayer())
