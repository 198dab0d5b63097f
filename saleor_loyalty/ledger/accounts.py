"""Finding (and lazily opening) member and program accounts.

A member's accounts are read in one statement (opened, on first use, by one more); a program account never changes
once it exists (it keeps no running totals), so each process remembers it after the transaction that read it
commits and never reads it again.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.core import db
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


def member_accounts(member: Member, *, new_member: bool = False) -> MemberAccounts:
    """The member's three points accounts, opened on first use (race-safe: conflicts are ignored).

    ``new_member``: the caller enrolled the member in this transaction, so it has none yet: open them at once
    (one statement, not a read that finds nothing and then the insert)."""
    rows = member_accounts_in(member, POINTS, _MEMBER_ACCOUNT_FLAGS, new_member=new_member)
    return MemberAccounts(
        points=rows[AccountCode.POINTS],
        pending=rows[AccountCode.POINTS_PENDING],
        debt=rows[AccountCode.POINTS_DEBT],
    )


def member_accounts_in(
    member: Member, unit: str, no_overdraft: dict[AccountCode, bool], *, new_member: bool = False
) -> dict[str, Account]:
    """The member's accounts of the given codes in ``unit`` (points, or a currency's money accounts), by code: one
    statement, and one more to open those missing (race-safe). ``no_overdraft``: code -> whether that account may
    never go negative; ``new_member``: as for ``member_accounts``."""
    rows = {} if new_member else _accounts_in(member, unit, no_overdraft)
    missing = [
        Account(install_id=member.install_id, member=member, code=code, unit=unit, no_overdraft=flag)
        for code, flag in no_overdraft.items()
        if code not in rows
    ]
    if missing:
        rows.update({a.code: a for a in _open(missing)})
        if len(rows) < len(no_overdraft):  # another writer opened some of them meanwhile (or not PostgreSQL)
            rows = _accounts_in(member, unit, no_overdraft)
    return rows


_ACCOUNT = db.Row(Account)
_MEMBER_ACCOUNTS = f"SELECT {_ACCOUNT.columns('a')} FROM ledger_account a WHERE a.member_id = %s AND a.unit = %s"  # noqa: S608


def _accounts_in(member: Member, unit: str, codes: Iterable[str]) -> dict[str, Account]:
    """A prepared statement: every posting reads the member's accounts first."""
    wanted = set(codes)
    found = _ACCOUNT.each(db.fetchall(_MEMBER_ACCOUNTS, [member.pk, unit]))
    return {account.code: account for account in found if account.code in wanted}


_OPEN_COLUMNS = (
    "install_id",
    "member_id",
    "code",
    "unit",
    "no_overdraft",
    "tracks_balance",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
    "created_at",
)
_OPEN_ROW = f"({', '.join(['%s'] * len(_OPEN_COLUMNS))})"


def _open(accounts: list[Account]) -> list[Account]:
    """INSERT the accounts, skipping any that exist; the ones inserted, as read back (PostgreSQL: one statement)."""
    if connection.vendor != "postgresql":
        Account.objects.bulk_create(accounts, ignore_conflicts=True)
        return []
    now = timezone.now()
    for account in accounts:
        account.created_at = now
    values = [getattr(account, column) for account in accounts for column in _OPEN_COLUMNS]
    sql = (
        f"INSERT INTO ledger_account ({', '.join(_OPEN_COLUMNS)}) VALUES {', '.join([_OPEN_ROW] * len(accounts))} "  # noqa: S608 - constant names
        f"ON CONFLICT DO NOTHING RETURNING id, {', '.join(_OPEN_COLUMNS)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        fetched = cursor.fetchall()
    return [Account.from_db(connection.alias, ["id", *_OPEN_COLUMNS], tuple(row)) for row in fetched]


# (install_id, code, unit) -> the program account, once a transaction that read it has committed (a row created
# in a transaction that rolls back is never remembered).
_program_accounts: dict[tuple[int, str, str], Account] = {}


def program_account(install_id: int, code: AccountCode, unit: str = POINTS) -> Account:
    """A program-side account. It keeps no running totals (see ledger.models), so it is never a hot row, and it
    never changes: read once per process."""
    cache_key = (install_id, str(code), unit)
    remembered = _program_accounts.get(cache_key)
    if remembered is not None:
        return remembered
    account = Account.objects.filter(install_id=install_id, member__isnull=True, code=code, unit=unit).first()
    if account is None:
        Account.objects.bulk_create(
            [Account(install_id=install_id, code=code, unit=unit, tracks_balance=False)],
            ignore_conflicts=True,
        )
        account = Account.objects.get(install_id=install_id, member__isnull=True, code=code, unit=unit)
    transaction.on_commit(lambda: _program_accounts.setdefault(cache_key, account))
    return account
