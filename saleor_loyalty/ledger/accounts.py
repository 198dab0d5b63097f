"""Finding (and lazily opening) member and program accounts."""

from dataclasses import dataclass

from saleor_loyalty.members.models import Member

from .models import POINTS, Account, AccountCode

# Member accounts whose balance can never go below zero; the debt account records what a member owes.
_MEMBER_ACCOUNT_FLAGS = {
    AccountCode.POINTS: True,
    AccountCode.POINTS_PENDING: True,
    AccountCode.POINTS_DEBT: False,
}


@dataclass(frozen=True)
class MemberAccounts:
    points: Account
    pending: Account
    debt: Account


def member_accounts(member: Member) -> MemberAccounts:
    """The member's three points accounts, opened on first use (race-safe: conflicts are ignored)."""
    rows = {a.code: a for a in Account.objects.filter(member=member, unit=POINTS)}
    if len(rows) < len(_MEMBER_ACCOUNT_FLAGS):
        Account.objects.bulk_create(
            [
                Account(install_id=member.install_id, member=member, code=code, unit=POINTS, no_overdraft=flag)
                for code, flag in _MEMBER_ACCOUNT_FLAGS.items()
                if code not in rows
            ],
            ignore_conflicts=True,
        )
        rows = {a.code: a for a in Account.objects.filter(member=member, unit=POINTS)}
    return MemberAccounts(
        points=rows[AccountCode.POINTS],
        pending=rows[AccountCode.POINTS_PENDING],
        debt=rows[AccountCode.POINTS_DEBT],
    )


def program_account(install_id: int, code: AccountCode, unit: str = POINTS) -> Account:
    """A program-side account. It keeps no running totals (see ledger.models), so it is never a hot row."""
    account = Account.objects.filter(install_id=install_id, member__isnull=True, code=code, unit=unit).first()
    if account is None:
        Account.objects.bulk_create(
            [Account(install_id=install_id, code=code, unit=unit, tracks_balance=False)],
            ignore_conflicts=True,
        )
        account = Account.objects.get(install_id=install_id, member__isnull=True, code=code, unit=unit)
    return account
