"""``set_redemption_rule``: what points are worth at checkout in a channel (until the dashboard pages exist)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.redemption.configuration import InvalidConfiguration, set_redemption_rule


class Command(BaseCommand):
    help = "Create or replace the redemption rule of a channel and currency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--channel", required=True)
        parser.add_argument("--currency", required=True)
        parser.add_argument(
            "--points-per-unit", required=True, help="points for one unit of currency off (100: a point is a cent)"
        )
        parser.add_argument("--min-points", default="0", help="the fewest points one redemption may spend")
        parser.add_argument("--max-points-per-order", default=None, help="the most points one order may spend")
        parser.add_argument(
            "--max-percent", default="100", help="the most of the checkout subtotal points may pay, in percent"
        )
        parser.add_argument("--step", default="1", help="points are redeemed in multiples of this")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        try:
            rule = set_redemption_rule(
                install,
                channel_slug=options["channel"],
                currency=options["currency"],
                points_per_unit=options["points_per_unit"],
                min_points=options["min_points"],
                max_points_per_order=options["max_points_per_order"],
                max_percent_of_subtotal=options["max_percent"],
                step_points=options["step"],
            )
        except InvalidConfiguration as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"rule saved: {rule}")
