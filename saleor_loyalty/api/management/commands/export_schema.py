"""``export_schema``: write the app's own GraphQL schemas to graphql/ (a test keeps them current).

``schema.graphql`` is the storefront's API, ``staff-schema.graphql`` the dashboard pages' (for code generation).
"""

from pathlib import Path
from typing import Any

import graphene
from django.core.management.base import BaseCommand, CommandParser

from saleor_loyalty.api.schema import schema
from saleor_loyalty.api.staff import staff_schema
from saleor_loyalty.saleor.documents import documents_dir

EXPORTS: dict[str, graphene.Schema] = {"schema.graphql": schema, "staff-schema.graphql": staff_schema}


def schema_sdl(exported: graphene.Schema = schema) -> str:
    return str(exported).rstrip() + "\n"


class Command(BaseCommand):
    help = "Export the storefront and staff GraphQL schemas (SDL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output-dir", default=None, help="default: graphql/")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["output_dir"]) if options["output_dir"] else documents_dir()
        for name, exported in EXPORTS.items():
            (folder / name).write_text(schema_sdl(exported))
            self.stdout.write(f"schema written to {folder / name}")
