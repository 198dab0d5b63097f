"""Reads of the ledger: a member's balances, program totals by aggregation, and integrity checks."""

from dataclasses import dataclass

from django.db.models import Q, Sum

from saleor_loyalty.core import db
from saleor_loyalty.members.models import Member

from .accounts import member_accounts
from .actions import CLAWBACK_PARTS
from .maintenance import drifted_member_accounts, uncovered_points_accounts
from .models import MEMBER_ACCOUNT_CODES, POINTS, Account, AccountCode, Transfer, TransferPhase


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


# An account's running totals as read: credits posted, debits posted, debits pending.
_Totals = tuple[int, int, int]


def _balances(totals: dict[str, _Totals], lifetime: int) -> Balances:
    points, pending, debt = (
        totals[AccountCode.POINTS],
        totals[AccountCode.POINTS_PENDING],
        totals[AccountCode.POINTS_DEBT],
    )
    return Balances(
        available=points[0] - points[1] - points[2],
        pending=pending[0] - pending[1] - pending[2],
        held=points[2],
        owed=debt[1] - debt[0],
        lifetime=lifetime,
    )


def member_balances(member: Member) -> Balances:
    """One query: the member's three accounts, with the member's lifetime figure joined in."""
    accounts = {a.code: a for a in Account.objects.filter(member=member, unit=POINTS).select_related("member")}
    if len(accounts) < len(MEMBER_ACCOUNT_CODES):
        member_accounts(member)  # a member who never earned: open the accounts, then read them
        accounts = {a.code: a for a in Account.objects.filter(member=member, unit=POINTS).select_related("member")}
    totals = {code: (a.credits_posted, a.debits_posted, a.debits_pending) for code, a in accounts.items()}
    lifetime = accounts[AccountCode.POINTS].member
    return _balances(totals, lifetime.lifetime_points if lifetime else 0)


@dataclass(frozen=True)
class MemberAccount:
    """A member read together with their balances, as a page that shows both needs them."""

    member: Member
    balances: Balances


_MEMBER = db.Row(Member)
_MEMBER_ACCOUNT_SQL = (
    f"SELECT {_MEMBER.columns('m')}, a.code, a.credits_posted, a.debits_posted, a.debits_pending"  # noqa: S608 - model columns
    " FROM members_member m LEFT JOIN ledger_account a ON a.member_id = m.id AND a.unit = %s"
    " WHERE m.install_id = %s AND m.saleor_user_id = %s"
)


def customer_account(install_id: int, saleor_user_id: str) -> MemberAccount | None:
    """The member of a Saleor customer with their balances, in one statement (the customer widget's first read;
    ``members.queries.find_member`` then ``member_balances`` took three). None when the customer never joined."""
    rows = db.fetchall(_MEMBER_ACCOUNT_SQL, (POINTS, install_id, saleor_user_id))
    member = _MEMBER.build(rows[0]) if rows else None
    if member is None:
        return None
    at = _MEMBER.width
    totals = {row[at]: (row[at + 1], row[at + 2], row[at + 3]) for row in rows if row[at] is not None}
    if len(totals) < len(MEMBER_ACCOUNT_CODES):
        return MemberAccount(member, member_balances(member))  # opens the accounts of a member who never earned
    return MemberAccount(member, _balances(totals, member.lifetime_points))


def account_balance(account: Account) -> int:
    """Credits minus debits (posted), aggregated from transfers: how program accounts are read."""
    posted = Q(phase__in=[TransferPhase.POSTED, TransferPhase.POST_PENDING])
    credits = Transfer.objects.filter(posted, credit_account=account).aggregate(s=Sum("amount"))["s"] or 0
    debits = Transfer.objects.filter(posted, debit_account=account).aggregate(s=Sum("amount"))["s"] or 0
    return int(credits) - int(debits)


def program_totals(install_id: int, unit: str = POINTS) -> dict[str, int]:
    """Program account balances in ``unit`` by aggregation, plus the outstanding liability (what members hold)."""
    totals = {
        account.code: account_balance(account)
        for account in Account.objects.filter(install_id=install_id, member__isnull=True, unit=unit)
    }
    member_sums = Account.objects.filter(install_id=install_id, member__isnull=False, unit=unit).aggregate(
        credits=Sum("credits_posted"), debits=Sum("debits_posted")
    )
    totals["member_balance_sum"] = int(member_sums["credits"] or 0) - int(member_sums["debits"] or 0)
    return totals


def clawed_back(install_id: int, key: str) -> bool:
    """Whether ``actions.claw_back`` ran under ``key``: a part of it was posted. By the exact keys of its parts (the
    unique key index), not a prefix match, which PostgreSQL answers by index only under the C collation (else: a
    scan of the store's transfers)."""
    keys = [f"{key}:{part}" for part in CLAWBACK_PARTS]
    return Transfer.objects.filter(install_id=install_id, idempotency_key__in=keys).exists()


def integrity_problems(install_id: int) -> list[str]:
    """Everything that should be impossible; empty when the ledger is sound."""
    problems = []
    units = set(Account.objects.filter(install_id=install_id).values_list("unit", flat=True).distinct()) | {POINTS}
    for unit in sorted(units):  # each unit's balances sum to zero on their own: points are not money
        totals = program_totals(install_id, unit)
        program_sum = sum(v for k, v in totals.items() if k != "member_balance_sum")
        if program_sum + totals["member_balance_sum"] != 0:
            problems.append(
                f"{unit} balances do not sum to zero: program {program_sum}, members {totals['member_balance_sum']}"
            )
    for account_id, code, available, held in uncovered_points_accounts(install_id):
        problems.append(f"account {account_id} ({code}) holds {available} but lots hold {held}")
    for drift in drifted_member_accounts(install_id):
        differ = ", ".join(
            f"{name} {drift.stored[name]} ≠ {drift.recomputed[name]}"
            for name in drift.stored
            if drift.stored[name] != drift.recomputed[name]
        )
        problems.append(f"account {drift.account_id} ({drift.code}) running totals differ from its transfers: {differ}")
    return problems
