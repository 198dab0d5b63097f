"""``rebuild_balances``: recompute members' running balances from their transfers and compare."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.ledger.maintenance import rebuild_member_balances
from saleor_loyalty.ledger.queries import integrity_problems
from saleor_loyalty.members.models import Member


class Command(BaseCommand):
    help = "Compare members' stored balances with their transfers; --apply rewrites drifted totals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--member", type=int, action="append", default=[], help="member id (repeatable)")
        parser.add_argument("--saleor-user", help="Saleor user id (with --install)")
        parser.add_argument("--install", help="Saleor API URL of the install (all its members by default)")
        parser.add_argument("--apply", action="store_true", help="rewrite drifted totals from transfers")

    def handle(self, *args: Any, **options: Any) -> None:
        members = Member.objects.all()
        if options["member"]:
            members = members.filter(pk__in=options["member"])
        if options["install"]:
            members = members.filter(install__saleor_api_url=options["install"])
        if options["saleor_user"]:
            if not options["install"]:
                raise CommandError("--saleor-user needs --install")
            members = members.filter(saleor_user_id=options["saleor_user"])
        checked = drifted = 0
        for member in members.order_by("pk").iterator():
            checked += 1
            for drift in rebuild_member_balances(member, apply=options["apply"]):
                drifted += 1
                self.stdout.write(
                    f"member {member.pk} account {drift.account_id} ({drift.code}): stored {drift.stored} "
                    f"!= transfers {drift.recomputed}" + (" — rewritten" if options["apply"] else "")
                )
        self.stdout.write(f"checked {checked} members, {drifted} drifted accounts")
        install_ids = set(members.values_list("install_id", flat=True))
        for install_id in sorted(install_ids):
            for problem in integrity_problems(install_id):
                self.stdout.write(f"install {install_id}: {problem}")
        if drifted and not options["apply"]:
            raise CommandError("balances drifted from transfers (run again with --apply to rewrite them)")
