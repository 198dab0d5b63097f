"""``set_earning_action``: define a custom action (review, follow, newsletter) and its points and cap."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.program.earning_actions import set_earning_action
from saleor_loyalty.program.settings_changes import SettingsInvalid


class Command(BaseCommand):
    help = "Create or update a custom earning action reported by recordEvent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True)
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--points", type=int, required=True)
        parser.add_argument("--max-per-period", type=int, default=None)
        parser.add_argument("--period-days", type=int, default=30)

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        try:
            action = set_earning_action(
                install,
                code=options["code"],
                name=options["name"],
                points=options["points"],
                max_per_period=options["max_per_period"],
                period_days=options["period_days"],
            )
        except SettingsInvalid as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"action saved: {action}")
