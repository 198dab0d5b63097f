"""Operator tools: recompute an account's running totals from its transfers, compare, and repair.

Running totals are a cache of the transfers (which are immutable and the source of truth). If they ever
disagree — a bug, a manual SQL edit — ``rebuild_member_balances`` says where, and can rewrite the totals.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, Sum

from saleor_loyalty.members.models import Member

from .models import Account, Transfer, TransferPhase

TOTAL_FIELDS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@dataclass(frozen=True)
class AccountDrift:
    account_id: int
    code: str
    stored: dict[str, int]
    recomputed: dict[str, int]


def _sum(query: Q) -> int:
    return int(Transfer.objects.filter(query).aggregate(s=Sum("amount"))["s"] or 0)


def recompute_totals(account: Account) -> dict[str, int]:
    """The four running totals as the transfers say they should be."""
    posted = Q(phase__in=[TransferPhase.POSTED, TransferPhase.POST_PENDING])
    unresolved = Q(phase=TransferPhase.PENDING) & ~Q(resolutions__isnull=False)
    return {
        "debits_posted": _sum(posted & Q(debit_account=account)),
        "credits_posted": _sum(posted & Q(credit_account=account)),
        "debits_pending": _sum(unresolved & Q(debit_account=account)),
        "credits_pending": _sum(unresolved & Q(credit_account=account)),
    }


def rebuild_member_balances(member: Member, *, apply: bool = False) -> list[AccountDrift]:
    """Compare each of the member's accounts with its transfers; with ``apply``, rewrite drifted totals."""
    drifts = []
    with transaction.atomic():
        for account in Account.objects.select_for_update().filter(member=member).order_by("pk"):
            recomputed = recompute_totals(account)
            stored = {name: getattr(account, name) for name in TOTAL_FIELDS}
            if stored != recomputed:
                drifts.append(AccountDrift(account.pk, account.code, stored, recomputed))
                if apply:
                    Account.objects.filter(pk=account.pk).update(**recomputed)
    return drifts
