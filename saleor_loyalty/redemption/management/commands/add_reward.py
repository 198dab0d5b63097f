"""``add_reward``: add a reward to a channel's catalog (until the dashboard pages exist)."""

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.redemption.configuration import InvalidConfiguration, create_reward
from saleor_loyalty.redemption.models import RewardKind


def _moment(value: str | None, name: str) -> datetime | None:
    """ISO 8601 date or date and time; UTC unless it says otherwise."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--{name} must be an ISO 8601 date or date and time, not {value!r}") from exc
    return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = "Add a reward that shoppers can take with points."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = ", ".join(value.upper() for value in RewardKind.values)
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--channel", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, help=kinds)
        parser.add_argument("--points-cost", required=True)
        parser.add_argument("--value", default=None, help="FIXED_AMOUNT: amount off; PERCENTAGE: percent off")
        parser.add_argument("--max-amount", default=None, help="PERCENTAGE: the most it takes off")
        parser.add_argument("--variant", default="", help="FREE_PRODUCT: the Saleor product variant id")
        parser.add_argument("--starts-at", default=None, help="ISO 8601, UTC unless an offset is given")
        parser.add_argument("--ends-at", default=None, help="ISO 8601, UTC unless an offset is given")
        parser.add_argument("--per-shopper-limit", default=None, help="how often one shopper may take it")
        parser.add_argument("--description", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        try:
            reward = create_reward(
                install,
                name=options["name"],
                kind=options["kind"],
                points_cost=options["points_cost"],
                channel_slug=options["channel"],
                value=options["value"],
                max_amount=options["max_amount"],
                variant_id=options["variant"],
                starts_at=_moment(options["starts_at"], "starts-at"),
                ends_at=_moment(options["ends_at"], "ends-at"),
                per_shopper_limit=options["per_shopper_limit"],
                description=options["description"],
            )
        except InvalidConfiguration as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"reward {reward.pk} added: {reward}")
