"""What the paid plan mutations share: the input as the domain reads it, and a refusal on its input field."""

from collections.abc import Mapping
from typing import Any

from graphene.utils.str_converters import to_camel_case

from saleor_loyalty.memberships.configuration import InvalidMembershipConfig

from ...errors import given


def plan_from(input: Mapping[str, Any]) -> dict[str, Any]:
    """The fields given, as the domain keeps them (benefits as the plan's JSON)."""
    plan = given(input)
    if "benefits" in plan:
        plan["benefits"] = [
            {
                "kind": b["kind"],
                "channel_id": b["channel_id"],
                "value": None if b.get("value") is None else str(b["value"]),
            }
            for b in plan["benefits"] or []
        ]
    return plan


def refusal(exc: InvalidMembershipConfig, default_field: str | None = None) -> dict[str, Any]:
    """The domain's refusal as ``errors``: on its input field in camelCase, the message naming it the same way."""
    field = exc.field or default_field
    message = str(exc)
    if field is None:
        return {"field": None, "code": "INVALID", "message": message}
    name = to_camel_case(field)
    if message.startswith(field):
        message = name + message[len(field) :]
    return {"field": name, "code": "INVALID", "message": message}


def not_found() -> dict[str, Any]:
    return {"field": "id", "code": "NOT_FOUND", "message": "no such paid plan"}
