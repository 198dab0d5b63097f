"""Mutation errors the Saleor way: ``errors { field code message }`` with one enum of codes."""

import graphene


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


class LoyaltyError(graphene.ObjectType):
    field = graphene.String(description="The input field the error is about, if any.")
    code = graphene.Field(LoyaltyErrorCode, required=True)
    message = graphene.String(required=True)
