"""``review_referral``: list referrals held for review, and approve or reject one (until the dashboard pages)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_loyalty.installs.commands import install_named
from saleor_loyalty.referrals.actions import ReferralError, approve_referral, reject_referral
from saleor_loyalty.referrals.models import Referral, ReferralStatus


def describe(referral: Referral) -> str:
    return "\t".join(
        [
            str(referral.pk),
            str(referral.status),
            referral.reason or "-",
            f"referrer={referral.referrer_id}:{referral.referrer.email or referral.referrer.saleor_user_id}",
            f"referee={referral.referee_id}:{referral.referee.email or referral.referee.saleor_user_id}",
            f"order={referral.order_number or referral.order_id or '-'}",
            f"points={referral.referrer_points}/{referral.referee_points}",
            referral.created_at.isoformat(),
        ]
    )


class Command(BaseCommand):
    help = (
        "List referrals held for review (id, status, reason, referrer, referee, order, points referrer/referee), "
        "or approve or reject one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--install", required=True, help="Saleor API URL of the install")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--approve", type=int, metavar="ID", help="pay this held referral")
        action.add_argument("--reject", type=int, metavar="ID", help="refuse this referral (pending rewards voided)")
        parser.add_argument("--status", default="held", help="with neither: list referrals in this status (or all)")
        parser.add_argument("--reviewer", default="", help="who decided (kept with the referral)")
        parser.add_argument("--note", default="", help="why (kept with the referral)")

    def handle(self, *args: Any, **options: Any) -> None:
        install = install_named(options["install"])
        referrals = Referral.objects.filter(install=install).select_related("referrer", "referee")
        target = options["approve"] or options["reject"]
        if target is None:
            status = options["status"].lower()
            if status != "all":
                if status not in ReferralStatus.values:
                    raise CommandError(f"--status must be one of {', '.join(ReferralStatus.values)} or all")
                referrals = referrals.filter(status=status)
            for referral in referrals.order_by("created_at", "pk"):
                self.stdout.write(describe(referral))
            return
        found = referrals.filter(pk=target).first()
        if found is None:
            raise CommandError(f"no referral {target} in this install")
        review = approve_referral if options["approve"] else reject_referral
        try:
            referral = review(found, reviewer=options["reviewer"], note=options["note"])
        except ReferralError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"referral {referral.pk} is now {referral.status}")
