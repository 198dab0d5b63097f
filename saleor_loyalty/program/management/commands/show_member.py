"""``show_member``: a customer's loyalty state for support — balances, tier, lots, recent activity. Reads only."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_loyalty.ledger.history import member_activity
from saleor_loyalty.ledger.models import Lot
from saleor_loyalty.ledger.queries import member_balances
from saleor_loyalty.members.actions import current
from saleor_loyalty.members.commands import add_customer_arguments, customer_named
from saleor_loyalty.tiers.queries import tier_name


class Command(BaseCommand):
    help = "Show a customer's balances, tier, open lots and latest activity (what a support agent needs)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_customer_arguments(parser)
        parser.add_argument("--activity", type=int, default=20, help="how many recent entries (default 20)")

    def handle(self, *args: Any, **options: Any) -> None:
        found = customer_named(options)
        member = current(found)
        write = self.stdout.write
        if member.pk != found.pk:
            write(f"member #{found.pk} (guest) was merged into member #{member.pk}")
        balances = member_balances(member)
        write(
            f"member #{member.pk}  user {member.saleor_user_id or '-'}  email {member.email or '-'}  "
            f"tier {tier_name(member) or '-'}"
        )
        write(
            f"available {balances.available}  pending {balances.pending}  held {balances.held}  "
            f"owed {balances.owed}  net {balances.net}  lifetime {balances.lifetime}"
        )
        lots = Lot.objects.filter(member=member, remaining__gt=0).order_by("expires_at", "id")
        write("open lots (soonest to expire first):")
        for lot in lots[:50]:
            state = "pending" if lot.unlocked_at is None else "available"
            expires = lot.expires_at.date().isoformat() if lot.expires_at else "never"
            write(f"  lot #{lot.pk}: {lot.remaining}/{lot.points} {state}, {lot.source}, expires {expires}")
        write(f"latest activity (newest first, at most {options['activity']}):")
        for entry in member_activity(member, limit=max(1, min(options["activity"], 500))):
            order = f"  order {entry.order_id}" if entry.order_id else ""
            write(
                f"  {entry.created_at:%Y-%m-%d %H:%M}  {entry.kind:<20} {entry.points:>8}  "
                f"balance {entry.balance_change:+d}{order}"
            )
