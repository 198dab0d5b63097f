"""``settle_rebates``: the periodic rebate run, or one period's close, by hand, on several connections at once."""

import os
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from saleor_loyalty.core.progress import Progress
from saleor_loyalty.installs.models import Install
from saleor_loyalty.rebates.bulk import Settled, settle_periods
from saleor_loyalty.rebates.settlement import close_period, due_now, period_batches, settle_due, settle_rebates


class Command(BaseCommand):
    help = (
        "Settle rebates now: what the hourly run settles (releases, early payouts, ended periods), or with --period "
        "one period's close for a store; then pay what waits for its payer. Safe to repeat, and beside the hourly run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", help="Saleor API URL of the store (required with --period)")
        parser.add_argument("--period", help='the period to close, e.g. "2026-11"')
        parser.add_argument("--now", help="settle as of this ISO 8601 time (default: now)")
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="database connections at once (default: CPUs)"
        )
        parser.add_argument("--no-pay", action="store_true", help="the accounting only: leave payouts for the payers")

    def handle(self, *args: Any, **options: Any) -> None:
        now = datetime.fromisoformat(options["now"]) if options["now"] else timezone.now()
        if timezone.is_naive(now):
            raise CommandError("--now needs a UTC offset, e.g. 2026-12-01T00:00:00+00:00")
        workers = options["workers"]
        if not 1 <= workers <= 64:
            raise CommandError("--workers must be between 1 and 64")
        if options["period"]:
            self._close(options["install"], options["period"], now, workers, pay=not options["no_pay"])
            return
        if options["install"]:
            raise CommandError("--install goes with --period (the periodic run settles every store)")
        due = due_now(now)
        progress = Progress(self.stderr, due.periods, "periods")
        settled = settle_due(due, workers=workers, on_batch=lambda batch: progress.advance(batch.considered))
        progress.finish()
        self._report(settled)
        if not options["no_pay"]:
            sent = settle_rebates(now)  # what is due is settled: this sends what waits for its payer
            self.stdout.write(f"payouts: {sent['paid']} paid, {sent['waiting']} waiting, {sent['sent']} sent")

    def _close(self, install_url: str | None, period: str, now: datetime, workers: int, *, pay: bool) -> None:
        if not install_url:
            raise CommandError("--period needs --install")
        install = Install.objects.filter(saleor_api_url=install_url).first()
        if install is None:
            raise CommandError(f"no store is installed from {install_url}")
        batches = period_batches(install, period, now=now)
        progress = Progress(self.stderr, sum(len(batch) for batch in batches), "periods")
        on_batch = lambda batch: progress.advance(batch.considered)  # noqa: E731
        settled = settle_periods(batches, now=now, closing=True, workers=workers, on_batch=on_batch)
        progress.finish()
        self._report(settled)
        if pay:
            closed = close_period(install, period, now=now)  # settled above: this pays what waits
            self.stdout.write(f"payouts: {closed.paid} paid, {closed.failed} failed")

    def _report(self, settled: Settled) -> None:
        self.stdout.write(
            f"settled {settled.periods} periods in {settled.batches} batches: {settled.released} released, "
            f"{settled.netted} netted, {len(settled.payouts)} payouts created"
        )
