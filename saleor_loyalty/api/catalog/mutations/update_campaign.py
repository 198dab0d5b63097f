"""``updateCampaign``: staff change a campaign in place, as far as it has not already run; the change is logged."""

from typing import Any

import graphene

from saleor_loyalty.program.configuration import InvalidRule, check_campaign_update, update_campaign
from saleor_loyalty.program.queries import find_campaign

from ...core.ids import from_global_id
from ...errors import given
from .. import PERMISSION
from ..targets import unknown_target_errors
from ..types import CampaignUpdateInput
from .manage import CampaignPayload, not_found, refusal

_FIELDS = {"channel": "channel_slug"}


def resolve_update_campaign(root: Any, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    campaign = find_campaign(staff.install, from_global_id(id, "Campaign"))
    if campaign is None:
        return {"campaign": None, "errors": not_found("campaign")}
    changes = {_FIELDS.get(name, name): value for name, value in given(input).items()}
    if changes.get("channel_slug") == "":
        changes["channel_slug"] = None  # every channel
    try:
        # The domain's own checks first: a refused change never costs a call to the store.
        check_campaign_update(campaign, changes)
    except InvalidRule as exc:
        return {"campaign": None, "errors": refusal(exc)}
    added_products = [i for i in changes.get("product_ids") or [] if i not in campaign.product_ids]
    added_categories = [i for i in changes.get("category_ids") or [] if i not in campaign.category_ids]
    errors = unknown_target_errors(staff.install, added_products, added_categories)
    if errors:
        return {"campaign": None, "errors": errors}
    try:
        updated = update_campaign(campaign, changes, actor=staff.email or staff.user_id)
    except InvalidRule as exc:
        return {"campaign": None, "errors": refusal(exc)}
    return {"campaign": updated, "errors": []}


update_campaign_field = graphene.Field(
    CampaignPayload,
    required=True,
    id=graphene.ID(required=True),
    input=graphene.Argument(CampaignUpdateInput, required=True),
    resolver=resolve_update_campaign,
    description=(
        "Change a campaign from now on (MANAGE_DISCOUNTS): fields left out stay. Orders that already earned keep "
        "the terms frozen on their points. Scheduled: everything; running: all but its start; ended or switched "
        "off: its name only. Products and categories must exist in the store."
    ),
)
