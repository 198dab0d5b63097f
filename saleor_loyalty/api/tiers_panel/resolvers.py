"""Reads of the tiers panel; the queries themselves live in ``tiers``."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.tiers.models import TierSettings
from saleor_loyalty.tiers.preview import ReviewPreview, preview_review
from saleor_loyalty.tiers.queries import (
    TierMembers,
    TierMovement,
    settings_or_defaults,
    tier_movements,
    tiers_with_members,
)
from saleor_loyalty.tiers.review import UnsupportedDatabase

from . import CUSTOMER_PERMISSION, PROGRAM_PERMISSION


def resolve_tiers(root: Any, info: Any) -> list[TierMembers]:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    return tiers_with_members(staff.install.pk)


def resolve_tier_settings(root: Any, info: Any) -> TierSettings:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    return settings_or_defaults(staff.install)


def resolve_tier_movements(root: Any, info: Any, weeks: int | None = 26) -> list[TierMovement]:
    staff = info.context.require_staff(PROGRAM_PERMISSION)
    return tier_movements(staff.install.pk, weeks=max(1, min(26 if weeks is None else weeks, 104)))


def resolve_tier_review_preview(root: Any, info: Any) -> ReviewPreview:
    staff = info.context.require_staff(CUSTOMER_PERMISSION)  # it names customers
    try:
        return preview_review(staff.install.pk)
    except UnsupportedDatabase as exc:
        raise GraphQLError("the review preview needs PostgreSQL", extensions={"code": "UNSUPPORTED"}) from exc
