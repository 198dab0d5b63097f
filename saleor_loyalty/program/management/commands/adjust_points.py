"""``adjust_points``: credit or deduct a customer's points by hand, with a reason (goodwill, a mistake undone)."""

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.members.commands import add_customer_arguments, customer_named
from saleor_loyalty.program.adjustments import AdjustmentError, adjust_points


class Command(BaseCommand):
    help = (
        "Add (positive --points) or deduct (negative) a customer's available points, recorded with a reason. "
        "Pass --key to make a retry safe: the same key never adjusts twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_customer_arguments(parser)
        parser.add_argument("--points", type=int, required=True, help="e.g. 500 or -200")
        parser.add_argument("--reason", required=True, help="shown to operators, kept on the transfer")
        parser.add_argument("--key", default="", help="idempotency key (default: a new one each run)")
        parser.add_argument("--actor", default="operator", help="who is adjusting (default: operator)")

    def handle(self, *args: Any, **options: Any) -> None:
        member = customer_named(options)
        key = options["key"] or f"adjust:{uuid.uuid4()}"
        try:
            balances = adjust_points(
                member, points=options["points"], reason=options["reason"], actor=options["actor"], key=f"op:{key}"
            )
        except AdjustmentError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"adjusted member #{member.pk} by {options['points']:+d} (key {key}): "
            f"available {balances.available}, pending {balances.pending}, held {balances.held}"
        )
