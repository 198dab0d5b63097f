"""``recordEvent``: the merchant's server reports a custom action (review, follow, newsletter) that earns points."""

from datetime import datetime
from typing import Any

import graphene

from saleor_loyalty.program.custom_events import EventRefused, record_event

from ...errors import LoyaltyError


class RecordEventPayload(graphene.ObjectType):
    points = graphene.Int(description="Points awarded for this event (the first result, on a retry).")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_record_event(
    root: Any, info: Any, action: str, customer_id: str, idempotency_key: str, occurred_at: datetime | None = None
) -> dict[str, Any]:
    install = info.context.require_server()
    try:
        event = record_event(
            install,
            action_code=action,
            saleor_user_id=customer_id,
            idempotency_key=idempotency_key,
            occurred_at=occurred_at,
        )
    except EventRefused as exc:
        return {"points": None, "errors": [{"field": exc.field, "code": exc.code, "message": exc.message}]}
    return {"points": event.points, "errors": []}


record_event_field = graphene.Field(
    RecordEventPayload,
    required=True,
    action=graphene.String(required=True, description="The action's code, as the merchant defined it."),
    customer_id=graphene.ID(required=True, description="The Saleor user id of the customer."),
    idempotency_key=graphene.String(required=True),
    occurred_at=graphene.DateTime(),
    resolver=resolve_record_event,
    description="Server-to-server (Bearer server API key): award a custom action's points, within its cap.",
)
