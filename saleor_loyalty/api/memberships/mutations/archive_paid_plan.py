"""``archivePaidPlan``: staff stop selling a plan. Never a deletion: its members keep what they paid for."""

from typing import Any

import graphene

from saleor_loyalty.memberships import queries
from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, archive_paid_plan

from ...core.ids import from_global_id
from .. import PERMISSION
from ..types import PaidPlanPayload
from .base import not_found, refusal


def resolve_archive_paid_plan(root: Any, info: Any, id: str) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    plan = queries.paid_plan_by_id(staff.install, from_global_id(id, "PaidPlan"))
    if plan is None:
        return {"plan": None, "errors": [not_found()]}
    try:
        plan = archive_paid_plan(plan, actor=staff.email or staff.user_id)
    except InvalidMembershipConfig as exc:  # a plan whose tier was since switched off, say
        return {"plan": None, "errors": [refusal(exc, "id")]}
    return {"plan": plan, "errors": []}


archive_paid_plan_field = graphene.Field(
    PaidPlanPayload,
    required=True,
    id=graphene.ID(required=True, description="The plan's id (paidPlans)."),
    resolver=resolve_archive_paid_plan,
    description=(
        "Stop selling a plan (MANAGE_DISCOUNTS). Plans are never deleted: members keep their subscription, tier "
        "and benefits until it ends. Recorded in settingsChanges."
    ),
)
