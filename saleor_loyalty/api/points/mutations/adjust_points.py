"""``adjustPoints``: staff credit or deduct a customer's points from the dashboard, with a reason."""

from typing import Any

import graphene

from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.queries import MemberNotFound, find_member
from saleor_loyalty.program.adjustments import AdjustmentError, adjust_points

from ...errors import LoyaltyError
from ..types import PointsBalance

PERMISSION = "MANAGE_USERS"  # the customer's loyalty account is part of the customer


class AdjustPointsPayload(graphene.ObjectType):
    balance = graphene.Field(PointsBalance, description="The customer's balance after the adjustment.")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def resolve_adjust_points(
    root: Any, info: Any, customer_id: str, points: int, reason: str, idempotency_key: str
) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        member = find_member(staff.install, user_id=customer_id)
    except MemberNotFound as exc:
        return {"balance": None, "errors": [{"field": "customerId", "code": "NOT_FOUND", "message": str(exc)}]}
    try:
        balances = adjust_points(
            member,
            points=points,
            reason=reason,
            actor=staff.email or staff.user_id,
            key=f"dashboard:{idempotency_key}" if idempotency_key else "",
        )
    except AdjustmentError as exc:
        field = "idempotencyKey" if exc.field == "key" else exc.field
        return {
            "balance": member_balances(member),
            "errors": [{"field": field, "code": exc.code, "message": exc.message}],
        }
    return {"balance": balances, "errors": []}


def adjust_points_field(deprecation_reason: str | None = None) -> graphene.Field:
    """The field, for the staff schema (and, deprecated, the storefront schema, where it started)."""
    return graphene.Field(
        AdjustPointsPayload,
        required=True,
        customer_id=graphene.ID(required=True, description="The customer's Saleor user id."),
        points=graphene.Int(
            required=True, description="Positive to credit, negative to deduct (available points only)."
        ),
        reason=graphene.String(required=True, description="Why; kept on the ledger transfer with who did it."),
        idempotency_key=graphene.String(
            required=True, description="A fresh key per adjustment; a retry never repeats it."
        ),
        resolver=resolve_adjust_points,
        deprecation_reason=deprecation_reason,
        description=(
            "Staff only, with the dashboard extension's app token and MANAGE_USERS: credit or deduct a customer's "
            "points. A deduction never goes below zero."
        ),
    )
