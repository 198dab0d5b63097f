"""``serve``: run the app and print the manifest URL to paste into the Saleor dashboard."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.core import embedded_beat
from saleor_loyalty.core.views import pending_migrations


class Command(BaseCommand):
    help = "Serve the app (development server) and print the manifest URL for Saleor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, **options: Any) -> None:
        pending = pending_migrations()
        if pending:
            raise CommandError(
                f"{len(pending)} migrations are not applied (e.g. {pending[0]}): run `saleor-loyalty migrate` first"
            )
        if not settings.CELERY_BROKER_URL:
            embedded_beat.start()
            self.stdout.write("No CELERY_BROKER_URL: tasks run in-process, periodic work in a background thread.")
        manifest = f"{settings.APP_URL}/api/manifest"
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  Install into Saleor with this manifest URL:\n    {manifest}\n"
                f"  (Dashboard → Extensions → Install with manifest URL; "
                f"Saleor must be able to reach {settings.APP_URL})\n"
            )
        )
        call_command("runserver", f"{options['host']}:{options['port']}", use_reloader=False)
