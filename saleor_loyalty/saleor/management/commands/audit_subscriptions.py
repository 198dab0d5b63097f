"""``audit_subscriptions``: compare the webhooks each store runs for us with the manifest's documents."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.installs.models import Install
from saleor_loyalty.saleor.client import SaleorError
from saleor_loyalty.saleor.subscription_audit import audit_subscriptions


class Command(BaseCommand):
    help = (
        "Read each active store's webhooks and record whether their subscription documents are still ours; "
        "a store whose documents differ has its deliveries held until they match again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", help="Saleor API URL of one install (all active installs by default)")

    def handle(self, *args: Any, **options: Any) -> None:
        installs = (
            [install_named(options["install"])]
            if options["install"]
            else list(Install.objects.filter(is_active=True).exclude(encrypted_token="").order_by("pk"))
        )
        altered = 0
        for install in installs:
            try:
                problem = audit_subscriptions(install)
            except SaleorError as exc:
                raise CommandError(f"{install.saleor_api_url}: could not read its webhooks: {exc}") from exc
            altered += bool(problem)
            self.stdout.write(f"{install.saleor_api_url}: {problem or 'ours'}")
        self.stdout.write(f"audited {len(installs)} installs, {altered} with altered subscriptions")
        if altered:
            self.stdout.write(
                "Restore the app's webhooks in Saleor (or reinstall the app), audit again, then replay what was "
                "held: saleor-loyalty replay_inbox_event --failed"
            )
