"""``adjust_points``: credit or deduct a customer's points by hand, with a reason (goodwill, a mistake undone)."""

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.members.models import Member, normalize_email
from saleor_loyalty.program.adjustments import AdjustmentError, adjust_points
from saleor_loyalty.saleor.commands import install_named


class Command(BaseCommand):
    help = (
        "Add (positive --points) or deduct (negative) a customer's available points, recorded with a reason. "
        "Pass --key to make a retry safe: the same key never adjusts twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="the store's Saleor API URL")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user-id", help="the customer's Saleor user id (e.g. VXNlcjox)")
        who.add_argument("--email", help="the customer's email (a guest's, or an account's)")
        parser.add_argument("--points", type=int, required=True, help="e.g. 500 or -200")
        parser.add_argument("--reason", required=True, help="shown to operators, kept on the transfer")
        parser.add_argument("--key", default="", help="idempotency key (default: a new one each run)")
        parser.add_argument("--actor", default="operator", help="who is adjusting (default: operator)")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        members = Member.objects.filter(install=install)
        if options["user_id"]:
            member = members.filter(saleor_user_id=options["user_id"]).first()
        else:
            matches = list(members.filter(email=normalize_email(options["email"]), merged_into__isnull=True)[:2])
            if len(matches) > 1:
                raise CommandError("several members have that email: name the customer with --user-id")
            member = matches[0] if matches else None
        if member is None:
            raise CommandError("no such customer in this store's loyalty program")
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
