"""The Stripe webhooks of paid memberships, registered with the payments inbox (``payments.events.handles``).

Each runs inside the inbox's savepoint for one stored event (a raise undoes its writes and the sweep retries it);
each is idempotent and order-proof through ``state`` (Stripe's ``created`` and period timestamps decide). Events
that do not name a membership of this store (another feature's session, another store on a shared Stripe account)
are ignored.

| event | effect |
| --- | --- |
| ``checkout.session.completed`` | the subscription is read from Stripe and applied: active, tier held, benefits |
| ``customer.subscription.updated`` | status and period sync; a new paid period records its benefits |
| ``invoice.payment_failed`` | past due, grace from the first failure (``PaidPlan.grace_days``) |
| ``customer.subscription.deleted`` | canceled; the tier stays until the paid period (or the grace) ends |
"""

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

import stripe

from saleor_loyalty.installs.models import Install
from saleor_loyalty.payments.client import classify, stripe_client
from saleor_loyalty.payments.events import handles

from . import state
from .models import Membership

logger = logging.getLogger(__name__)


def _data(event: stripe.Event) -> dict[str, Any]:
    data: dict[str, Any] = event.data.object.to_dict()
    return data


def _created(event: stripe.Event) -> datetime:
    at = state.moment(event.created)
    if at is None:
        raise ValueError("a Stripe event without its creation time")
    return at


def _metadata(data: dict[str, Any]) -> dict[str, str]:
    metadata = data.get("metadata") or {}
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


@handles("checkout.session.completed")
def checkout_completed(install: Install, event: stripe.Event) -> None:
    session = _data(event)
    metadata = _metadata(session)
    if session.get("mode") != "subscription":
        return
    membership = state.membership_named(install.pk, metadata)
    if membership is None:
        return
    customer = session.get("customer")
    if membership.stripe_customer_id and customer != membership.stripe_customer_id:
        logger.warning("checkout completed for another customer: ignored", extra={"data": {"session": session["id"]}})
        return
    subscription_id = session.get("subscription")
    if isinstance(subscription_id, dict):
        subscription_id = subscription_id.get("id")
    if not isinstance(subscription_id, str) or not subscription_id:
        logger.warning("completed subscription checkout without a subscription", extra={"data": {"id": session["id"]}})
        return
    try:  # the session names the subscription; its status and period are on the subscription
        subscription = stripe_client(install).v1.subscriptions.retrieve(subscription_id)
    except stripe.StripeError as exc:
        raise classify(exc) from exc  # the inbox retries the event
    view = state.subscription_view(subscription.to_dict())
    if view.customer != customer:
        logger.warning("subscription of another customer: ignored", extra={"data": {"subscription": view.id}})
        return
    plan = state.plan_named(install.pk, metadata)
    state.apply_subscription(membership, view, _created(event), plan=plan, paid=session.get("payment_status") == "paid")


@handles("customer.subscription.updated", "customer.subscription.deleted")
def subscription_changed(install: Install, event: stripe.Event) -> None:
    view = state.subscription_view(_data(event))
    membership = _membership_of(install, view.id, view.metadata)
    if membership is None:
        return
    if event.type == "customer.subscription.deleted" and view.status != "canceled":
        view = replace(view, status="canceled")
    state.apply_subscription(membership, view, _created(event))


@handles("invoice.payment_failed")
def invoice_payment_failed(install: Install, event: stripe.Event) -> None:
    invoice = _data(event)
    # API 2025-03 and later: parent.subscription_details; before: the invoice's own subscription field
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    subscription_id = details.get("subscription") or invoice.get("subscription")
    if isinstance(subscription_id, dict):
        subscription_id = subscription_id.get("id")
    if not isinstance(subscription_id, str) or not subscription_id:
        return  # not a subscription's invoice
    metadata = _metadata(details) if details else {}
    membership = _membership_of(install, subscription_id, metadata)
    if membership is None:
        return
    state.payment_failed(membership, subscription_id, _created(event))


def _membership_of(install: Install, subscription_id: str, metadata: dict[str, str]) -> Membership | None:
    """The membership following this subscription, or the one its metadata names (an event that overtook
    ``checkout.session.completed``)."""
    found = Membership.objects.filter(install=install, subscription_id=subscription_id).first()
    return found if found is not None else state.membership_named(install.pk, metadata)
