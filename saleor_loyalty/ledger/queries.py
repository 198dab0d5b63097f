"""Reads of the ledger: a member's balances, program totals by aggregation, and integrity checks."""

from dataclasses import dataclass

from django.db.models import Q, Sum

from saleor_loyalty.members.models import Member

from .accounts import member_accounts
from .models import MEMBER_ACCOUNT_CODES, POINTS, Account, AccountCode, Lot, Transfer, TransferPhase


@dataclass(frozen=True)
class Balances:
    available: int  # spendable now
    pending: int  # earned, still in the return window
    held: int  # reserved by redemptions not yet completed
    owed: int  # taken back after being spent; repaid from future points
    lifetime: int  # ever earned, net of clawbacks

    @property
    def net(self) -> int:
        """What a shopper sees as their balance: available minus what they owe (can be negative)."""
        return self.available - self.owed


def member_balances(member: Member) -> Balances:
    """One query: the member's three accounts, with the member's lifetime figure joined in."""
    accounts = {a.code: a for a in Account.objects.filter(member=member, unit=POINTS).select_related("member")}
    if len(accounts) < len(MEMBER_ACCOUNT_CODES):
        member_accounts(member)  # a member who never earned: open the accounts, then read them
        accounts = {a.code: a for a in Account.objects.filter(member=member, unit=POINTS).select_related("member")}
    points, pending, debt = (
        accounts[AccountCode.POINTS],
        accounts[AccountCode.POINTS_PENDING],
        accounts[AccountCode.POINTS_DEBT],
    )
    return Balances(
        available=points.available,
        pending=pending.available,
        held=points.debits_pending,
        owed=debt.debits_posted - debt.credits_posted,
        lifetime=points.member.lifetime_points if points.member else 0,
    )


def account_balance(account: Account) -> int:
    """Credits minus debits (posted), aggregated from transfers: how program accounts are read."""
    posted = Q(phase__in=[TransferPhase.POSTED, TransferPhase.POST_PENDING])
    credits = Transfer.objects.filter(posted, credit_account=account).aggregate(s=Sum("amount"))["s"] or 0
    debits = Transfer.objects.filter(posted, debit_account=account).aggregate(s=Sum("amount"))["s"] or 0
    return int(credits) - int(debits)


def program_totals(install_id: int) -> dict[str, int]:
    """Program account balances by aggregation, plus the outstanding liability (points members hold)."""
    totals = {
        account.code: account_balance(account)
        for account in Account.objects.filter(install_id=install_id, member__isnull=True)
    }
    member_sums = Account.objects.filter(install_id=install_id, member__isnull=False).aggregate(
        credits=Sum("credits_posted"), debits=Sum("debits_posted")
    )
    totals["member_balance_sum"] = int(member_sums["credits"] or 0) - int(member_sums["debits"] or 0)
    return totals


def integrity_problems(install_id: int) -> list[str]:
    """Everything that should be impossible; empty when the ledger is sound."""
    problems = []
    totals = program_totals(install_id)
    program_sum = sum(v for k, v in totals.items() if k != "member_balance_sum")
    if program_sum + totals["member_balance_sum"] != 0:
        problems.append(f"balances do not sum to zero: program {program_sum}, members {totals['member_balance_sum']}")
    for account in Account.objects.filter(install_id=install_id, member__isnull=False).exclude(
        code=AccountCode.POINTS_DEBT
    ):
        lot_sum = Lot.objects.filter(account=account).aggregate(s=Sum("remaining"))["s"] or 0
        if lot_sum != account.available:
            problems.append(f"account {account.pk} ({account.code}) holds {account.available} but lots hold {lot_sum}")
        recomputed = account_balance(account)
        if recomputed != account.credits_posted - account.debits_posted:
            problems.append(f"account {account.pk} running totals differ from its transfers ({recomputed})")
    return problems
