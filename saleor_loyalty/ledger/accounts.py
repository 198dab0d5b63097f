"""Finding (and lazily opening) member and program accounts.

A member's accounts are read in one statement (opened, on first use, by one more); a program account never changes
once it exists (it keeps no running totals), so each process remembers it after the transaction that read it
commits and never reads it again.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.members.actions import MEMBER_COLUMNS, ShopperKey
from saleor_loyalty.members.actions import insert as insert_member
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


def member_accounts(
    member: Member,
    *,
    new_member: bool = False,
    looked_up: db.Query | None = None,
    enrolment: "EnrolWithAccounts | None" = None,
) -> MemberAccounts:
    """The member's three points accounts, opened on first use (race-safe: conflicts are ignored).

    ``new_member``: the caller enrolled the member in this transaction, so it has none yet: open them at once
    (one statement, not a read that finds nothing and then the insert). ``looked_up``:
    ``lookup_member_with_points_accounts`` for the shopper, already run with the caller's other reads: its rows
    are used when they are this member's. ``enrolment``: the one that enrolled the member, accounts and all."""
    if enrolment is not None and enrolment.member is member and enrolment.accounts:
        known: dict[str, Account] | None = enrolment.accounts
        new_member = False
    else:
        known = None if looked_up is None or new_member else _looked_up(member, looked_up)
    rows = member_accounts_in(member, POINTS, _MEMBER_ACCOUNT_FLAGS, new_member=new_member, known=known)
    return MemberAccounts(
        points=rows[AccountCode.POINTS],
        pending=rows[AccountCode.POINTS_PENDING],
        debt=rows[AccountCode.POINTS_DEBT],
    )


def member_accounts_in(
    member: Member,
    unit: str,
    no_overdraft: dict[AccountCode, bool],
    *,
    new_member: bool = False,
    known: dict[str, Account] | None = None,
) -> dict[str, Account]:
    """The member's accounts of the given codes in ``unit`` (points, or a currency's money accounts), by code: one
    statement, and one more to open those missing (race-safe). ``no_overdraft``: code -> whether that account may
    never go negative; ``new_member``: as for ``member_accounts``; ``known``: the member's accounts as the caller
    read them in this transaction (no read then, only the opening of those missing)."""
    rows = {} if new_member else dict(known) if known is not None else _accounts_in(member, unit, no_overdraft)
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


def lookup_member_with_points_accounts(shopper: ShopperKey) -> db.Query:
    """One statement for the member ``shopper`` finds (``members.actions.shopper_key``), locked, and its points
    accounts: the member's columns first (``members.actions.found`` reads it), then an account's per row (none when
    it has none yet). To run in one round trip with the caller's other reads (``db.fetch_together``)."""
    where, params = shopper
    return db.Query(
        f"SELECT {MEMBER_COLUMNS}, {_ACCOUNT.columns('a')} FROM members_member m "  # noqa: S608
        f"LEFT JOIN ledger_account a ON a.member_id = m.id AND a.unit = %s WHERE {where} FOR UPDATE OF m",
        [POINTS, *params],
    )


_ACCOUNTS_AT = len(Member._meta.concrete_fields)  # where an account's columns start in that query's rows


def _looked_up(member: Member, query: db.Query) -> dict[str, Account] | None:
    accounts = list(_ACCOUNT.each(query.rows, _ACCOUNTS_AT))
    if any(account.member_id != member.pk for account in accounts):
        return None  # the lookup found another member (the order's member is not the shopper's own)
    return {account.code: account for account in accounts if account.code in _MEMBER_ACCOUNT_FLAGS}


class EnrolWithAccounts:
    """Enrols a new member (``members.actions.find_or_enrol_*``'s ``enrol``) and opens its points accounts in the
    same statement (PostgreSQL; elsewhere the member alone): a new shopper's first order then costs one statement
    for both, and ``member_accounts(enrolment=...)`` reads nothing."""

    def __init__(self) -> None:
        self.member: Member | None = None
        self.accounts: dict[str, Account] = {}

    def __call__(self, member: Member) -> bool:
        if connection.vendor != "postgresql":
            return insert_member(member)
        now = timezone.now()
        member.last_activity_at = member.last_activity_at or now  # enrolled by an order: active now (no later write)
        rows = db.fetchall(_enrol_with_accounts_sql(), [*db.insert_params(member), member.install_id, now])
        if not rows:
            return False  # a concurrent delivery enrolled the shopper first
        member.pk = rows[0][0]
        member._state.adding, member._state.db = False, connection.alias
        self.member = member
        self.accounts = {
            account.code: account
            for account in (Account.from_db(connection.alias, ["id", *_OPEN_COLUMNS], tuple(row[1:])) for row in rows)
        }
        return True


@lru_cache(maxsize=1)
def _enrol_with_accounts_sql() -> str:
    _, insert_member_sql = db.insert_values(Member)
    codes = ", ".join(f"('{code}', {'true' if flag else 'false'})" for code, flag in _MEMBER_ACCOUNT_FLAGS.items())
    return (
        f"WITH m AS ({insert_member_sql} ON CONFLICT DO NOTHING RETURNING id), "  # noqa: S608 - constant names
        f"a AS (INSERT INTO ledger_account ({', '.join(_OPEN_COLUMNS)}) "
        f"SELECT %s, m.id, v.code, '{POINTS}', v.no_overdraft, true, 0, 0, 0, 0, %s "
        f"FROM m CROSS JOIN (VALUES {codes}) AS v(code, no_overdraft) "
        f"RETURNING id, {', '.join(_OPEN_COLUMNS)}) "
        "SELECT a.member_id, a.* FROM a"
    )


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
    fetched = db.fetchall(_open_sql(len(accounts)), values)  # prepared: a new member's accounts are opened as one
    return [Account.from_db(connection.alias, ["id", *_OPEN_COLUMNS], tuple(row)) for row in fetched]


@lru_cache(maxsize=8)
def _open_sql(rows: int) -> str:
    return (
        f"INSERT INTO ledger_account ({', '.join(_OPEN_COLUMNS)}) VALUES {', '.join([_OPEN_ROW] * rows)} "  # noqa: S608 - constant names
        f"ON CONFLICT DO NOTHING RETURNING id, {', '.join(_OPEN_COLUMNS)}"
    )


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
