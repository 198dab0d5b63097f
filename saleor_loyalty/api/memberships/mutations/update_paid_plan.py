"""``updatePaidPlan``: staff change a plan; its members keep their subscription (and Stripe Price)."""

from typing import Any

import graphene

from saleor_loyalty.memberships import queries
from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, update_paid_plan

from ...core.ids import from_global_id
from .. import PERMISSION
from ..types import PaidPlanPayload, PaidPlanUpdateInput
from .base import not_found, plan_from, refusal


def resolve_update_paid_plan(root: Any, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    plan = queries.paid_plan_by_id(staff.install, from_global_id(id, "PaidPlan"))
    if plan is None:
        return {"plan": None, "errors": [not_found()]}
    try:
        plan = update_paid_plan(plan, plan_from(input), actor=staff.email or staff.user_id)
    except InvalidMembershipConfig as exc:
        return {"plan": None, "errors": [refusal(exc)]}
    return {"plan": plan, "errors": []}


update_paid_plan_field = graphene.Field(
    PaidPlanPayload,
    required=True,
    id=graphene.ID(required=True, description="The plan's id (paidPlans)."),
    input=graphene.Argument(PaidPlanUpdateInput, required=True),
    resolver=resolve_update_paid_plan,
    description=(
        "Change a paid plan (MANAGE_DISCOUNTS): the fields given, all or nothing. Its tier and currency cannot "
        "change while members subscribe to it; a new Price, amount or interval applies to new Checkouts. "
        "isActive: true sells an archived plan again. Recorded in settingsChanges."
    ),
)
