"""``rebuild_balances``: recompute members' running balances from their transfers and compare."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.core.progress import Progress
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.maintenance import AccountDrift, drifted_member_accounts, rebuild_member_balances
from saleor_loyalty.ledger.models import Account
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
        if options["saleor_user"] and not options["install"]:
            raise CommandError("--saleor-user needs --install")
        installs = Install.objects.all()
        if options["install"]:
            installs = installs.filter(saleor_api_url=options["install"])
        if options["member"] or options["saleor_user"]:
            members = Member.objects.filter(install__in=installs)
            if options["member"]:
                members = members.filter(pk__in=options["member"])
            if options["saleor_user"]:
                members = members.filter(saleor_user_id=options["saleor_user"])
            checked, drifted = self._members(list(members.order_by("pk")), apply=options["apply"])
            install_ids = sorted(set(members.values_list("install_id", flat=True)))
        else:
            checked, drifted = self._stores(list(installs.order_by("pk")), apply=options["apply"])
            install_ids = sorted(installs.values_list("pk", flat=True))
        self.stdout.write(f"checked {checked} members, {drifted} drifted accounts")
        for install_id in install_ids:
            for problem in integrity_problems(install_id):
                self.stdout.write(f"install {install_id}: {problem}")
        if drifted and not options["apply"]:
            raise CommandError("balances drifted from transfers (run again with --apply to rewrite them)")

    def _members(self, members: list[Member], *, apply: bool) -> tuple[int, int]:
        """The named members, one by one (each locked while it is compared and, with ``apply``, rewritten)."""
        progress = Progress(self.stderr, len(members), "members")
        drifted = 0
        for member in members:
            for drift in rebuild_member_balances(member, apply=apply):
                drifted += 1
                self._report(member.pk, drift, apply)
            progress.advance(1)
        progress.finish()
        return len(members), drifted

    def _stores(self, installs: list[Install], *, apply: bool) -> tuple[int, int]:
        """Whole stores: the drifted accounts found by one statement per store (``drifted_member_accounts``), then
        only their members compared again under lock (``_members``) and, with ``apply``, rewritten."""
        checked = drifted = 0
        for install in installs:
            checked += Member.objects.filter(install=install).count()
            accounts = [drift.account_id for drift in drifted_member_accounts(install.pk)]
            owners = Account.objects.filter(pk__in=accounts).values("member_id")
            drifted += self._members(list(Member.objects.filter(pk__in=owners).order_by("pk")), apply=apply)[1]
        return checked, drifted

    def _report(self, member_id: int, drift: AccountDrift, apply: bool) -> None:
        self.stdout.write(
            f"member {member_id} account {drift.account_id} ({drift.code}): stored {drift.stored} "
            f"!= transfers {drift.recomputed}" + (" — rewritten" if apply else "")
        )
