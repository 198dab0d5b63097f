"""Mutation errors the Saleor way: ``errors { field code message }`` with one enum of codes."""

import enum
from collections.abc import Mapping
from typing import Any

import graphene
from graphene.utils.str_converters import to_camel_case
from graphql import Undefined


class LoyaltyErrorCode(graphene.Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    BELOW_MINIMUM = "BELOW_MINIMUM"
    ABOVE_MAXIMUM = "ABOVE_MAXIMUM"
    ABOVE_ORDER_CAP = "ABOVE_ORDER_CAP"
    INVALID_STEP = "INVALID_STEP"
    LIMIT_REACHED = "LIMIT_REACHED"
    ALREADY_IN_PROGRESS = "ALREADY_IN_PROGRESS"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    SALEOR_ERROR = "SALEOR_ERROR"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    NOT_AVAILABLE = "NOT_AVAILABLE"
    STRIPE_ERROR = "STRIPE_ERROR"


class LoyaltyError(graphene.ObjectType):
    field = graphene.String(description="The input field the error is about, if any.")
    code = graphene.Field(LoyaltyErrorCode, required=True)
    message = graphene.String(required=True)


def invalid_fields(errors: Mapping[str, str]) -> list[dict[str, Any]]:
    """A domain refusal naming fields (snake_case, as ``SettingsInvalid.errors``) as the API's ``errors``, each
    on its input field in camelCase so a page shows it next to that field."""
    return [
        {"field": to_camel_case(field), "code": "INVALID", "message": f"{to_camel_case(field)} {message}"}
        for field, message in errors.items()
    ]


def given(input: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an input object the caller did give (``null`` included), with enum members as their values,
    in nested inputs and lists too: what a partial update applies."""
    return {name: _plain(value) for name, value in input.items() if value is not Undefined}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {name: _plain(item) for name, item in value.items()}
    return value.value if isinstance(value, enum.Enum) else value
