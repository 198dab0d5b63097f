"""``export_schema``: write the app's own GraphQL schema to graphql/schema.graphql (a test keeps it current)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_loyalty.api.schema import schema
from saleor_loyalty.saleor.documents import documents_dir


def schema_sdl() -> str:
    return str(schema).rstrip() + "\n"


class Command(BaseCommand):
    help = "Export the storefront GraphQL schema (SDL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", default=None, help="default: graphql/schema.graphql")

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["output"]) if options["output"] else documents_dir() / "schema.graphql"
        target.write_text(schema_sdl())
        self.stdout.write(f"schema written to {target}")
