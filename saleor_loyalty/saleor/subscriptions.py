"""The webhooks the app subscribes to: which events, with which subscription document, delivered where.

This one table feeds the manifest (what Saleor sends), the webhook views (what they accept) and the contract
tests (every document validates against each supported Saleor schema).

Why ORDER_FULLY_PAID and not ORDER_PAID: ORDER_PAID fires for every payment, partial ones included, and we only
earn on orders that were paid in full (an order that never completes payment must not earn). Earning is
state-based, so every order event below carries the whole order and any of them can settle the ledger;
ORDER_CREATED is kept because only its ``issuingPrincipal`` tells whether the shopper placed the order logged in
or as a guest who typed a registered customer's email.
"""

from dataclasses import dataclass

from . import documents


def version_line(version: str | None) -> tuple[int, int] | None:
    """A Saleor schema version ("3.23", "3.23.28") as its line, (3, 23); None when absent or unreadable."""
    parts = (version or "").strip().split(".")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    return int(parts[0]), int(parts[1])


@dataclass(frozen=True)
class Subscription:
    name: str  # manifest webhook name
    document: str  # file under graphql/subscriptions/ (without .graphql): valid on every supported Saleor line
    path: str  # under /api/webhooks/
    events: tuple[str, ...]  # WebhookEventTypeAsyncEnum values
    # Documents for newer Saleor lines, oldest line first: ((3, 23), "order_events_3_23") is given to a Saleor of 3.23
    # or newer (by the manifest's `Saleor-Schema-Version` header); each selects what ``document`` does and more.
    newer: tuple[tuple[tuple[int, int], str], ...] = ()

    @property
    def query(self) -> str:
        """The document every supported Saleor line accepts."""
        return documents.subscription(self.document)

    def query_for(self, saleor_version: str | None) -> str:
        """The document for a Saleor of this schema version: the newest one its line accepts."""
        line = version_line(saleor_version)
        chosen = self.document
        for since, document in self.newer:
            if line is not None and line >= since:
                chosen = document
        return documents.subscription(chosen)

    @property
    def queries(self) -> tuple[str, ...]:
        """Every document a store's webhook may carry for this subscription (which one depends on the Saleor line
        the app was installed on)."""
        return (self.query, *(documents.subscription(document) for _, document in self.newer))


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription(
        name="Loyalty: order events",
        document="order_events",
        path="orders",
        events=(
            "ORDER_CREATED",
            "ORDER_FULLY_PAID",
            "ORDER_REFUNDED",
            "ORDER_FULLY_REFUNDED",
            "ORDER_CANCELLED",
        ),
        newer=(((3, 23), "order_events_3_23"),),  # + each payment's gift-card details: store credit earns nothing
    ),
    Subscription(
        name="Loyalty: customer events",
        document="customer_events",
        path="customers",
        events=("CUSTOMER_CREATED", "ACCOUNT_CONFIRMED", "CUSTOMER_UPDATED"),
    ),
    Subscription(
        name="Loyalty: checkout events",
        document="checkout_events",
        path="checkouts",
        events=("CHECKOUT_UPDATED",),
    ),
    Subscription(
        name="Loyalty: app deleted",
        document="app_deleted",
        path="app",
        events=("APP_DELETED",),
    ),
)


def _typename(event: str) -> str:
    """The ``__typename`` of an event's payload: ORDER_FULLY_PAID -> "OrderFullyPaid"."""
    return "".join(part.capitalize() for part in event.lower().split("_"))


# The events, defined once above, by the name Saleor sends lower-cased in the Saleor-Event header: the body type
# each carries, and the subscription each arrives through.
EVENT_TYPENAMES: dict[str, str] = {event.lower(): _typename(event) for s in SUBSCRIPTIONS for event in s.events}
SUBSCRIPTION_OF_EVENT: dict[str, Subscription] = {event.lower(): s for s in SUBSCRIPTIONS for event in s.events}


def subscription_for_path(path: str) -> Subscription | None:
    return next((s for s in SUBSCRIPTIONS if s.path == path), None)
