"""``pin_tier``: pin a customer at a tier (a floor reviews never go below), or remove the pin."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.tiers.configuration import InvalidTierConfig, pin_tier, unpin_tier


class Command(BaseCommand):
    help = "Pin a customer at a tier with a reason (--tier, --reason), or remove the pin (--unpin)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--customer", required=True, help="the Saleor customer's id (User global id)")
        parser.add_argument("--tier", help="tier name")
        parser.add_argument("--reason", default="")
        parser.add_argument("--by", default="", help="who pinned (recorded)")
        parser.add_argument("--unpin", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        member = member_for_user(install, options["customer"])
        if options["unpin"]:
            unpin_tier(member)
            self.stdout.write(f"pin removed for {member}")
            return
        if not options["tier"]:
            raise CommandError("--tier is required (or --unpin)")
        try:
            state = pin_tier(member, options["tier"], reason=options["reason"], by=options["by"])
        except InvalidTierConfig as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{member} pinned at {options['tier']}; current tier: {state.tier}")
