"""``replay_inbox_event``: process a stored webhook delivery again (after a fix, or to inspect a failure)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.webhooks.models import InboxEvent, InboxStatus
from saleor_loyalty.webhooks.tasks import process_event


class Command(BaseCommand):
    help = "Process inbox events again by id (processing is state-based, so a replay never double-awards)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_ids", nargs="*", type=int)
        parser.add_argument("--failed", action="store_true", help="replay every failed event")
        parser.add_argument("--force", action="store_true", help="also replay events already processed")

    def handle(self, *args: Any, **options: Any) -> None:
        ids: list[int] = list(options["event_ids"])
        if options["failed"]:
            ids += list(InboxEvent.objects.filter(status=InboxStatus.FAILED).values_list("pk", flat=True))
        if not ids:
            raise CommandError("give inbox event ids, or --failed")
        for event_id in ids:
            if not InboxEvent.objects.filter(pk=event_id).exists():
                raise CommandError(f"no inbox event {event_id}")
            outcome = process_event(event_id, force=options["force"])
            event = InboxEvent.objects.get(pk=event_id)
            shown = outcome or f"skipped (status {event.status}; use --force to replay processed events)"
            self.stdout.write(
                f"{event_id} {event.event}: {shown}" + (f" — {event.last_error}" if event.last_error else "")
            )
