"""``list_rewards``: the reward catalog of an install, as shoppers see it and what is not offered now."""

import base64
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.redemption.models import Reward


def state(reward: Reward) -> str:
    now = timezone.now()
    if not reward.is_active:
        return "inactive"
    if reward.starts_at is not None and reward.starts_at > now:
        return "scheduled"
    if reward.ends_at is not None and reward.ends_at <= now:
        return "ended"
    return "offered"


def describe(reward: Reward) -> str:
    kind = str(reward.kind).upper()
    terms = [f"{reward.points_cost} pts", kind]
    if reward.value is not None:
        terms.append(f"value={reward.value.normalize():f}")
    if reward.max_amount is not None:
        terms.append(f"max_amount={reward.max_amount.normalize():f}")
    if reward.variant_id:
        terms.append(f"variant={reward.variant_id}")
    if reward.per_shopper_limit is not None:
        terms.append(f"limit={reward.per_shopper_limit}/shopper")
    if reward.starts_at is not None:
        terms.append(f"from {reward.starts_at.isoformat()}")
    if reward.ends_at is not None:
        terms.append(f"until {reward.ends_at.isoformat()}")
    # the id shoppers pass to redeemReward (the storefront API's global id)
    api_id = base64.b64encode(f"Reward:{reward.pk}".encode()).decode()
    return f"{reward.pk}\t{api_id}\t{reward.channel_slug}\t{state(reward)}\t{reward.name}\t{', '.join(terms)}"


class Command(BaseCommand):
    help = "List the rewards of an install: id, API id, channel, state, name and terms, cheapest first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--channel", default=None, help="only this channel")
        parser.add_argument("--all", action="store_true", help="include inactive, scheduled and ended rewards")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        rewards = Reward.objects.filter(install=install).order_by("channel_slug", "points_cost", "pk")
        if options["channel"]:
            rewards = rewards.filter(channel_slug=options["channel"])
        shown = [reward for reward in rewards if options["all"] or state(reward) == "offered"]
        for reward in shown:
            self.stdout.write(describe(reward))
        if not shown:
            self.stdout.write("no rewards")
