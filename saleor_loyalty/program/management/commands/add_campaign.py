"""``add_campaign``: a time-boxed bonus (multiplier and/or fixed points) for orders placed in a window."""

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.program.configuration import InvalidRule, create_campaign


def _when(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Create a bonus campaign (dates in ISO 8601; UTC when no offset is given)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--name", required=True)
        parser.add_argument("--starts", required=True, type=_when)
        parser.add_argument("--ends", required=True, type=_when)
        parser.add_argument("--multiplier", default="1")
        parser.add_argument("--fixed-bonus", type=int, default=0)
        parser.add_argument("--channel", default="")
        parser.add_argument("--product", action="append", default=[], help="Saleor product id (repeatable)")
        parser.add_argument("--category", action="append", default=[], help="Saleor category id (repeatable)")
        parser.add_argument("--tier", action="append", default=[], help="tier name (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        try:
            campaign = create_campaign(
                install,
                name=options["name"],
                starts_at=options["starts"],
                ends_at=options["ends"],
                multiplier=options["multiplier"],
                fixed_bonus=options["fixed_bonus"],
                channel_slug=options["channel"],
                product_ids=options["product"],
                category_ids=options["category"],
                tiers=options["tier"],
            )
        except InvalidRule as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"campaign {campaign.pk} saved: {campaign}")
