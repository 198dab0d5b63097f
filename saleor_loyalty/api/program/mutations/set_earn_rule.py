"""``setEarnRule`` and ``deactivateEarnRule``: staff edit a channel's earning from the dashboard's Program page."""

from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case

from saleor_loyalty.program.configuration import InvalidRule, deactivate_earn_rule, set_earn_rule

from ...errors import LoyaltyError, given
from .. import PERMISSION
from ..types import EarnRule, EarnRuleInput

# Domain argument names → the input's field names, for errors shown next to the right field.
_FIELDS = {"channel_slug": "channel", "include_tax": "includesTax", "include_shipping": "includesShipping"}


class EarnRulePayload(graphene.ObjectType):
    rule = graphene.Field(EarnRule, description="The rule after the mutation (null when refused).")
    errors = graphene.List(graphene.NonNull(LoyaltyError), required=True)


def _refused(exc: InvalidRule) -> dict[str, Any]:
    field = _FIELDS.get(exc.field or "", to_camel_case(exc.field)) if exc.field else None
    return {"rule": None, "errors": [{"field": field, "code": "INVALID", "message": str(exc)}]}


def resolve_set_earn_rule(root: Any, info: Any, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    listed = given(input).get("multipliers")  # left out or null: keep the rule's multipliers
    multipliers = None if listed is None else {(given(m)["target"], m["saleor_id"]): m["multiplier"] for m in listed}
    try:
        rule = set_earn_rule(
            staff.install,
            channel_slug=input["channel"],
            currency=input["currency"],
            points_per_unit=input["points_per_unit"],
            include_tax=bool(input.get("includes_tax")),
            include_shipping=bool(input.get("includes_shipping")),
            min_order_amount=input.get("min_order_amount") or 0,
            multipliers=multipliers,
            actor=staff.email or staff.user_id,
        )
    except InvalidRule as exc:
        return _refused(exc)
    return {"rule": rule, "errors": []}


def resolve_deactivate_earn_rule(root: Any, info: Any, channel: str, currency: str) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    try:
        rule = deactivate_earn_rule(
            staff.install, channel_slug=channel, currency=currency, actor=staff.email or staff.user_id
        )
    except InvalidRule as exc:
        return _refused(exc)
    return {"rule": rule, "errors": []}


set_earn_rule_field = graphene.Field(
    EarnRulePayload,
    required=True,
    input=graphene.Argument(EarnRuleInput, required=True),
    resolver=resolve_set_earn_rule,
    description="Create or replace a channel's earn rule (MANAGE_DISCOUNTS); orders already earning keep theirs.",
)
deactivate_earn_rule_field = graphene.Field(
    EarnRulePayload,
    required=True,
    channel=graphene.String(required=True),
    currency=graphene.String(required=True),
    resolver=resolve_deactivate_earn_rule,
    description="Switch a channel's rule off: it earns by the default rate (MANAGE_DISCOUNTS).",
)
