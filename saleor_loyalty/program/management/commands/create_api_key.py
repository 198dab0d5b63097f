"""``create_api_key``: a key the merchant's server uses for ``recordEvent`` (printed once)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_loyalty.program.custom_events import issue_api_key
from saleor_loyalty.saleor.commands import install_named


class Command(BaseCommand):
    help = "Create a server API key for an install (store it now: it is not shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        parser.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        issued = issue_api_key(install, options["name"])
        self.stdout.write(issued.key)
