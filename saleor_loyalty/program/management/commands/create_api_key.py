"""``create_api_key``: a key the merchant's server uses for ``recordEvent`` (printed once)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.program.earning_actions import create_api_key
from saleor_loyalty.program.settings_changes import SettingsInvalid


class Command(BaseCommand):
    help = "Create a server API key for an install (store it now: it is not shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        try:
            issued = create_api_key(install, options["name"])
        except SettingsInvalid as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(issued.key)
