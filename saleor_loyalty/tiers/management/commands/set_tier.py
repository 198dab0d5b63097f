"""``set_tier``: configure the tier program and its tiers (until the dashboard pages exist)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.tiers.configuration import InvalidTierConfig, configure_tiers, set_tier


def _pairs(specs: list[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for spec in specs:
        unit, sep, amount = spec.partition(":")
        if not sep:
            raise CommandError(f"{option} takes UNIT:AMOUNT, e.g. USD:500 or PTS:1000")
        pairs[unit] = amount
    return pairs


class Command(BaseCommand):
    help = (
        "Set the tier program (--basis, --window, --grace-days, --active/--inactive) and/or create or replace "
        "one tier (--name, --rank, --threshold, ...)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--basis", choices=["spend", "points"])
        parser.add_argument("--window", help="rolling:DAYS (e.g. rolling:365) or calendar_year")
        parser.add_argument("--grace-days", type=int)
        parser.add_argument("--active", dest="is_active", action="store_true", default=None)
        parser.add_argument("--inactive", dest="is_active", action="store_false")
        parser.add_argument("--name", help="the tier to create or replace")
        parser.add_argument("--rank", type=int, help="1 = lowest tier")
        parser.add_argument("--threshold", action="append", default=[], metavar="UNIT:AMOUNT", help="USD:500")
        parser.add_argument("--retain", action="append", default=[], metavar="UNIT:AMOUNT", help="USD:400")
        parser.add_argument("--multiplier", default="1")
        parser.add_argument("--bonus", type=int, default=0, help="bonus points on reaching the tier")
        parser.add_argument("--perk", action="append", default=[])
        parser.add_argument("--access", action="append", default=[], help="exclusive-access flag, e.g. early_access")
        parser.add_argument("--disable-tier", action="store_true", help="keep the tier but stop qualifying for it")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        window_kind = window_days = None
        if options["window"]:
            kind, _, days = options["window"].partition(":")
            window_kind = kind
            if days:
                if not days.isdigit():
                    raise CommandError("--window rolling:DAYS needs a whole number of days")
                window_days = int(days)
        try:
            settings_row = configure_tiers(
                install,
                basis=options["basis"],
                window_kind=window_kind,
                window_days=window_days,
                grace_days=options["grace_days"],
                is_active=options["is_active"],
            )
            self.stdout.write(f"program saved: {settings_row}")
            if options["name"]:
                if options["rank"] is None:
                    raise CommandError("--rank is required with --name")
                tier = set_tier(
                    install,
                    name=options["name"],
                    rank=options["rank"],
                    thresholds=_pairs(options["threshold"], "--threshold"),
                    retain=_pairs(options["retain"], "--retain"),
                    multiplier=options["multiplier"],
                    bonus_points=options["bonus"],
                    perks=options["perk"],
                    access=options["access"],
                    is_active=not options["disable_tier"],
                )
                self.stdout.write(f"tier saved: {tier}")
        except InvalidTierConfig as exc:
            raise CommandError(str(exc)) from exc
