"""Operator tools: recompute an account's running totals from its transfers, compare, and repair.

Running totals are a cache of the transfers (which are immutable and the source of truth). If they ever
disagree — a bug, a manual SQL edit — ``rebuild_member_balances`` says where, and can rewrite the totals.

``drifted_member_accounts`` finds every member account of a store whose totals differ from its transfers, and
``uncovered_points_accounts`` every points account whose lots do not hold its balance, each in one statement on
PostgreSQL (the store's transfers and lots summed by account in the database: a store of a million members has
millions of accounts, which one query per account would take hours to read); account by account elsewhere.
"""

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q, Sum

from saleor_loyalty.members.models import Member

from .models import POINTS, Account, AccountCode, Lot, Transfer, TransferPhase

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


def _drift(account: Account) -> AccountDrift | None:
    """The account's stored totals against its transfers; None when they agree."""
    recomputed = recompute_totals(account)
    stored = {name: getattr(account, name) for name in TOTAL_FIELDS}
    return None if stored == recomputed else AccountDrift(account.pk, account.code, stored, recomputed)


def rebuild_member_balances(member: Member, *, apply: bool = False) -> list[AccountDrift]:
    """Compare each of the member's accounts with its transfers; with ``apply``, rewrite drifted totals."""
    drifts = []
    with transaction.atomic():
        for account in Account.objects.select_for_update().filter(member=member).order_by("pk"):
            drift = _drift(account)
            if drift is not None:
                drifts.append(drift)
                if apply:
                    Account.objects.filter(pk=account.pk).update(**drift.recomputed)
    return drifts


# Each member account's four totals from the store's transfers (a pending transfer counts while nothing resolved
# it), against the stored ones: only the accounts that differ come back.
_DRIFTED = """
WITH t AS (
    SELECT x.debit_account_id AS account,
           CASE WHEN x.phase IN ('posted', 'post_pending') THEN x.amount ELSE 0 END AS dp,
           CASE WHEN x.phase = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = x.id)
                THEN x.amount ELSE 0 END AS dpe,
           0 AS cp, 0 AS cpe
    FROM ledger_transfer x
    WHERE x.install_id = %(install)s AND x.phase <> 'void_pending'
    UNION ALL
    SELECT x.credit_account_id, 0, 0,
           CASE WHEN x.phase IN ('posted', 'post_pending') THEN x.amount ELSE 0 END,
           CASE WHEN x.phase = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfer r WHERE r.pending_id = x.id)
                THEN x.amount ELSE 0 END
    FROM ledger_transfer x
    WHERE x.install_id = %(install)s AND x.phase <> 'void_pending'
), sums AS (
    SELECT account, sum(dp) AS dp, sum(dpe) AS dpe, sum(cp) AS cp, sum(cpe) AS cpe FROM t GROUP BY account
)
SELECT a.id, a.code, a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
       coalesce(s.dpe, 0), coalesce(s.dp, 0), coalesce(s.cpe, 0), coalesce(s.cp, 0)
FROM ledger_account a LEFT JOIN sums s ON s.account = a.id
WHERE a.install_id = %(install)s AND a.member_id IS NOT NULL
  AND (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
      IS DISTINCT FROM (coalesce(s.dpe, 0), coalesce(s.dp, 0), coalesce(s.cpe, 0), coalesce(s.cp, 0))
ORDER BY a.id
"""


def drifted_member_accounts(install_id: int) -> list[AccountDrift]:
    """Every member account of the store whose running totals differ from its transfers."""
    if connection.vendor != "postgresql":
        accounts = Account.objects.filter(install_id=install_id, member__isnull=False).order_by("pk")
        return [drift for drift in map(_drift, accounts) if drift is not None]
    with connection.cursor() as cursor:
        cursor.execute(_DRIFTED, {"install": install_id})
        rows = cursor.fetchall()
    return [
        AccountDrift(
            row[0],
            row[1],
            dict(zip(TOTAL_FIELDS, (int(v) for v in row[2:6]), strict=True)),
            dict(zip(TOTAL_FIELDS, (int(v) for v in row[6:10]), strict=True)),
        )
        for row in rows
    ]


_UNCOVERED = """
SELECT a.id, a.code, a.credits_posted - a.debits_posted - a.debits_pending, coalesce(l.held, 0)
FROM ledger_account a
LEFT JOIN (
    SELECT account_id, sum(remaining) AS held FROM ledger_lot WHERE install_id = %(install)s GROUP BY account_id
) l ON l.account_id = a.id
WHERE a.install_id = %(install)s AND a.member_id IS NOT NULL AND a.unit = %(points)s AND a.code <> %(debt)s
  AND a.credits_posted - a.debits_posted - a.debits_pending <> coalesce(l.held, 0)
ORDER BY a.id
"""


def uncovered_points_accounts(install_id: int) -> list[tuple[int, str, int, int]]:
    """Every member points account (but debt, which holds no lots) whose lots do not hold what it holds: (account,
    code, available, lots' remaining)."""
    if connection.vendor != "postgresql":
        accounts = Account.objects.filter(install_id=install_id, member__isnull=False, unit=POINTS).exclude(
            code=AccountCode.POINTS_DEBT
        )
        found = []
        for account in accounts.order_by("pk"):
            held = int(Lot.objects.filter(account=account).aggregate(s=Sum("remaining"))["s"] or 0)
            if held != account.available:
                found.append((account.pk, account.code, account.available, held))
        return found
    with connection.cursor() as cursor:
        cursor.execute(_UNCOVERED, {"install": install_id, "points": POINTS, "debt": AccountCode.POINTS_DEBT})
        return [(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in cursor.fetchall()]
