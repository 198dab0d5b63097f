"""Stripe refunds whose outcome never arrived: read back from Stripe and applied as their webhook would be.

A rebate refund made by the app (``stripe_payout``) is confirmed by Stripe's signed webhooks. Webhooks can be lost:
the merchant did not enable the events, the endpoint was down for longer than Stripe retries, or a refund stays
``pending`` for days. So every few minutes (``poll-stripe-refunds`` in ``saleor_loyalty.schedule``) each refund part
left ``sent`` — made, not yet confirmed — for longer than ``POLL_AFTER`` is retrieved from Stripe with the store's
key (``GET /v1/refunds/<id>``) and handed to ``stripe_payout.apply_refunds``, the path the webhook takes: a refund
``succeeded`` is done and its payout settled (and the shopper emailed); one ``failed`` or ``canceled`` is given as
store credit instead, once.

It races the webhook harmlessly: each applies under the part's row lock, statuses only move forward, and a payout is
settled once (under its own lock), so whichever comes second finds nothing to change. A refund still pending is
looked at again ``POLL_AFTER`` later (its part's ``updated_at`` is the clock).
"""

import logging
from datetime import datetime, timedelta
from typing import Any

import stripe
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.payments.client import (
    StripeNotConnected,
    StripeOutcomeUnknown,
    StripeRefused,
    classify,
    stripe_client,
)

from .models import PartKind, PartState, RebatePayoutPart
from .stripe_payout import apply_refunds

logger = logging.getLogger(__name__)

POLL_AFTER = timedelta(minutes=10)  # a webhook normally arrives within seconds; Stripe retries a failed one soon
BATCH = 200  # refunds read back per run (one GET each)


def unconfirmed_refunds(now: datetime, older_than: timedelta = POLL_AFTER) -> "QuerySet[RebatePayoutPart]":
    """Refund parts Stripe made and has not confirmed, untouched for ``older_than``: the oldest first."""
    return (
        RebatePayoutPart.objects.filter(
            kind=PartKind.STRIPE_REFUND, state=PartState.SENT, updated_at__lte=now - older_than
        )
        .exclude(reference="")
        .order_by("updated_at", "pk")
    )


def retrieve_refund(install: Install, refund_id: str) -> dict[str, Any]:
    """The refund as Stripe holds it now, read with the store's key."""
    try:
        return stripe_client(install).v1.refunds.retrieve(refund_id).to_dict()
    except stripe.StripeError as exc:
        raise classify(exc) from exc


def poll_refunds(
    now: datetime | None = None, *, older_than: timedelta = POLL_AFTER, limit: int = BATCH
) -> dict[str, int]:
    """Read back the unconfirmed refunds (at most ``limit``) and apply what Stripe says. Safe to run at any time,
    twice at once, and beside the webhooks. Returns how many were read, changed, and could not be read."""
    now = now or timezone.now()
    due = list(unconfirmed_refunds(now, older_than).values_list("pk", "install_id", "reference")[:limit])
    installs = Install.objects.in_bulk({install_id for _, install_id, _ in due})
    counts = {"polled": 0, "changed": 0, "unreadable": 0}
    for part_id, install_id, refund_id in due:
        install = installs[install_id]
        try:
            refund = retrieve_refund(install, refund_id)  # outside any transaction: a network call
        except (StripeNotConnected, StripeRefused, StripeOutcomeUnknown) as exc:
            logger.warning(
                "rebate refund not read back; tried again later",
                extra={"data": {"part": part_id, "refund": refund_id, "error": str(exc)[:300]}},
            )
            counts["unreadable"] += 1
            _looked_at(part_id, now)
            continue
        counts["polled"] += 1
        with transaction.atomic():
            changed = apply_refunds(install, [refund])
            if not changed:
                _looked_at(part_id, now)
        counts["changed"] += bool(changed)
    if due:
        logger.info("rebate refunds polled", extra={"data": counts})
    return counts


def _looked_at(part_id: int, now: datetime) -> None:
    """Nothing new (still pending, or unreadable): the part waits ``POLL_AFTER`` from this run before it is read
    again."""
    RebatePayoutPart.objects.filter(pk=part_id, state=PartState.SENT).update(updated_at=now)
