"""``set_earning_action``: define a custom action (review, follow, newsletter) and its points and cap."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.program.models import EarningAction
from saleor_loyalty.saleor.commands import install_named


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
        if not 0 < options["points"] <= 10**7 or options["period_days"] <= 0:
            raise CommandError("points must be 1..10,000,000 and period-days positive")
        action, _ = EarningAction.objects.update_or_create(
            install=install,
            code=options["code"],
            defaults={
                "name": options["name"],
                "points": options["points"],
                "max_per_period": options["max_per_period"],
                "period_days": options["period_days"],
                "is_active": True,
            },
        )
        self.stdout.write(f"action saved: {action}")
