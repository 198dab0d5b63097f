"""From a stored delivery to a domain action. One function per kind of event; nothing here writes rows."""

import json
from collections.abc import Callable
from typing import Any

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.enrolment import enrol_customer
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.redemption.actions import checkout_changed
from saleor_loyalty.saleor.registration import deactivate_install
from saleor_loyalty.saleor.subscriptions import SUBSCRIPTION_OF_EVENT

from . import payloads
from .payloads import MalformedPayload


def _order(install: Install, event_name: str, event: dict[str, Any]) -> str:
    snapshot = payloads.order_snapshot(event)
    outcome = reconcile_order(
        install, snapshot, principal=payloads.principal(event), is_creation=event_name == "order_created"
    )
    return str(outcome)


def _customer(install: Install, event_name: str, event: dict[str, Any]) -> str:
    if event.get("user") is None and "user" in event:
        # Saleor sends CUSTOMER_UPDATED for staff users too (the Dashboard saves their preferences in metadata),
        # with ``user: null`` because the app may not read staff: nothing for the loyalty program.
        return "ignored_not_a_customer"
    enrol_customer(install, payloads.customer_snapshot(event), event=event_name)
    return "enrolled"


def _checkout(install: Install, event_name: str, event: dict[str, Any]) -> str:
    change = payloads.checkout_change(event)
    released = checkout_changed(
        install, checkout_id=change.checkout_id, voucher_code=change.voucher_code, issued_at=change.issued_at
    )
    return "released" if released else "unchanged"


def _app_deleted(install: Install, event_name: str, event: dict[str, Any]) -> str:
    """Every app on a store is told, signed by the store, that *it* was deleted: deactivate only on our own app
    id, never because another app of the same store was removed."""
    deleted_app_id = payloads.deleted_app_id(event)
    if not install.app_id or deleted_app_id != install.app_id:
        return "ignored_other_app"
    deactivate_install(install)
    return "uninstalled"


# One handler per subscription (``saleor.subscriptions``, where the events are listed), by its path.
HANDLERS: dict[str, Callable[[Install, str, dict[str, Any]], str]] = {
    "orders": _order,
    "customers": _customer,
    "checkouts": _checkout,
    "app": _app_deleted,
}


def is_own_echo(install: Install, event: dict[str, Any]) -> bool:
    """A change our own app made (e.g. metadata we wrote) must not trigger our own handlers again."""
    principal = event.get("issuingPrincipal")
    return (
        isinstance(principal, dict)
        and principal.get("__typename") == "App"
        and bool(install.app_id)
        and principal.get("id") == install.app_id
    )


class SubscriptionAltered(Exception):
    """The store's webhooks no longer carry our subscription documents (``saleor.subscription_audit``): its
    bodies may say anything under our field names, so they are held, not processed."""


def handle(install: Install, event_name: str, body: str) -> str:
    """Run the handler for one delivery; returns a short outcome for the inbox and logs."""
    subscription = SUBSCRIPTION_OF_EVENT.get(event_name)
    handler = HANDLERS.get(subscription.path) if subscription is not None else None
    if handler is None:
        raise MalformedPayload(f"no handler for event {event_name!r}")
    if install.subscription_problem and event_name != "app_deleted":
        raise SubscriptionAltered(install.subscription_problem)
    event = json.loads(body)
    if not isinstance(event, dict):
        raise MalformedPayload("body is not an object")
    payloads.require_storable_text(event, body)
    if is_own_echo(install, event) and not event_name.startswith(("order_", "checkout_")):
        # Orders and checkouts are handled by their state, so even our own echoes are harmless there.
        return "ignored_own_echo"
    return handler(install, event_name, event)
