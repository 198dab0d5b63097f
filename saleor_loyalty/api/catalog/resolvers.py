"""Listing the rewards catalog and campaigns."""

from typing import Any

from saleor_loyalty.program.models import Campaign
from saleor_loyalty.redemption.models import Reward

from . import PERMISSION


def resolve_catalog_rewards(root: Any, info: Any) -> list[Reward]:
    staff = info.context.require_staff(PERMISSION)
    return list(Reward.objects.filter(install=staff.install).order_by("-is_active", "channel_slug", "points_cost"))


def resolve_campaigns(root: Any, info: Any) -> list[Campaign]:
    staff = info.context.require_staff(PERMISSION)
    return list(Campaign.objects.filter(install=staff.install).order_by("-is_active", "-starts_at"))
