"""``updateReward``: staff change a reward in place (not its kind or channel); the change is logged."""

from typing import Any

import graphene

from saleor_loyalty.redemption.configuration import InvalidConfiguration, update_reward
from saleor_loyalty.redemption.rewards import find_reward

from ...core.ids import from_global_id
from ...errors import given
from .. import PERMISSION
from ..types import RewardUpdateInput
from .manage import RewardPayload, not_found, refusal

_FIELDS = {"channel": "channel_slug"}


def resolve_update_reward(root: Any, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    reward = find_reward(staff.install, from_global_id(id, "Reward"))
    if reward is None:
        return {"reward": None, "errors": not_found("reward")}
    changes = {_FIELDS.get(name, name): value for name, value in given(input).items()}
    if "variant_id" in changes and changes["variant_id"] is None:
        changes["variant_id"] = ""
    try:
        updated = update_reward(reward, changes, actor=staff.email or staff.user_id)
    except InvalidConfiguration as exc:
        return {"reward": None, "errors": refusal(exc)}
    return {"reward": updated, "errors": []}


update_reward_field = graphene.Field(
    RewardPayload,
    required=True,
    id=graphene.ID(required=True),
    input=graphene.Argument(RewardUpdateInput, required=True),
    resolver=resolve_update_reward,
    description=(
        "Change a reward from now on (MANAGE_DISCOUNTS): fields left out stay. Redemptions already made keep what "
        "they were priced at. Its kind and channel never change; a switched-off reward takes a new name or "
        "description only."
    ),
)
