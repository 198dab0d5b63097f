"""``set_earn_rule``: configure how a channel's orders earn points (until the dashboard pages exist)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.program.configuration import InvalidRule, set_earn_rule


class Command(BaseCommand):
    help = "Create or replace the earning rule of a channel and currency."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--channel", required=True)
        parser.add_argument("--currency", required=True)
        parser.add_argument("--points-per-unit", required=True)
        parser.add_argument("--include-tax", action="store_true")
        parser.add_argument("--include-shipping", action="store_true")
        parser.add_argument("--min-order", default="0")
        parser.add_argument(
            "--multiplier",
            action="append",
            default=[],
            metavar="TARGET:ID:FACTOR",
            help="e.g. category:Q2F0ZWdvcnk6Mzk=:2 (product, variant or category; repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        multipliers: dict[tuple[str, str], object] = {}
        for spec in options["multiplier"]:
            target, saleor_id, factor = [*spec.split(":"), "", ""][:3]  # Saleor ids never contain ":"
            multipliers[(target, saleor_id)] = factor
        try:
            rule = set_earn_rule(
                install,
                channel_slug=options["channel"],
                currency=options["currency"],
                points_per_unit=options["points_per_unit"],
                include_tax=options["include_tax"],
                include_shipping=options["include_shipping"],
                min_order_amount=options["min_order"],
                multipliers=multipliers if options["multiplier"] else None,
            )
        except InvalidRule as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"rule saved: {rule}")
