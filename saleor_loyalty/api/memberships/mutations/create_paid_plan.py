"""``createPaidPlan``: staff start selling a tier as a Stripe subscription from the dashboard."""

from typing import Any

import graphene

from saleor_loyalty.memberships.configuration import InvalidMembershipConfig, create_paid_plan

from .. import PERMISSION
from ..types import PaidPlanInput, PaidPlanPayload
from .base import plan_from, refusal


def resolve_create_paid_plan(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        plan = create_paid_plan(staff.install, plan_from(input), actor=staff.email or staff.user_id)
    except InvalidMembershipConfig as exc:
        return {"plan": None, "errors": [refusal(exc)]}
    return {"plan": plan, "errors": []}


create_paid_plan_field = graphene.Field(
    PaidPlanPayload,
    required=True,
    input=graphene.Argument(PaidPlanInput, required=True),
    resolver=resolve_create_paid_plan,
    description=(
        "Sell a tier as a Stripe subscription (MANAGE_DISCOUNTS). The Stripe Price is made in Stripe and named by "
        "its id; Checkout sells it. An invalid field creates nothing and is named in errors. Recorded in "
        "settingsChanges."
    ),
)
