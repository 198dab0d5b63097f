"""Expiring points, set-based: one SQL statement per batch of accounts, never a Python loop per member.

Each batch locks its member points accounts in id order (the order every posting uses, so no deadlocks), then
in one statement: picks the due lots, writes one EXPIRE transfer per account (idempotency key per run and
account), records a lot movement per lot, empties the lots and moves the accounts' totals. Only lots in a
member's *available* points account are touched: pending points (return window) and held points (reserved by a
redemption, so no longer in any lot) never expire. Running it twice expires nothing the second time.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from saleor_loyalty.core.metrics import LEDGER_POSTINGS

from .accounts import program_account
from .models import AccountCode

_FIND_ACCOUNTS = """
SELECT DISTINCT l.account_id
FROM ledger_lot l
JOIN ledger_account a ON a.id = l.account_id
JOIN members_member m ON m.id = l.member_id
WHERE l.install_id = %(install)s AND a.code = 'points' AND l.remaining > 0 AND ({due})
ORDER BY l.account_id
LIMIT %(batch)s
"""

_LOCK_ACCOUNTS = "SELECT id FROM ledger_account WHERE id = ANY(%(accounts)s) ORDER BY id FOR UPDATE"

_EXPIRE = """
WITH due AS (
    SELECT l.id AS lot_id, l.account_id, l.member_id, l.remaining
    FROM ledger_lot l
    JOIN members_member m ON m.id = l.member_id
    WHERE l.account_id = ANY(%(accounts)s) AND l.remaining > 0 AND ({due})
    FOR UPDATE OF l
), per_account AS (
    SELECT account_id, member_id, SUM(remaining) AS amount FROM due GROUP BY account_id, member_id
), transfers AS (
    INSERT INTO ledger_transfer (install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id,
                                 amount, unit, member_id, memo, created_at)
    SELECT %(install)s, 'expire:' || %(run)s || ':' || account_id, 'expire', 'posted', account_id,
           %(expired_account)s, amount, 'PTS', member_id, '{{}}'::jsonb, now()
    FROM per_account
    ON CONFLICT (install_id, idempotency_key) DO NOTHING
    RETURNING id, debit_account_id, amount
), movements AS (
    INSERT INTO ledger_lot_movement (transfer_id, lot_id, delta)
    SELECT t.id, d.lot_id, -d.remaining FROM transfers t JOIN due d ON d.account_id = t.debit_account_id
    RETURNING lot_id, delta
), emptied AS (
    UPDATE ledger_lot l SET remaining = l.remaining + mv.delta FROM movements mv WHERE l.id = mv.lot_id
    RETURNING l.id
)
UPDATE ledger_account a SET debits_posted = a.debits_posted + t.amount
FROM transfers t WHERE a.id = t.debit_account_id
RETURNING t.amount
"""


@dataclass(frozen=True)
class ExpiryRun:
    accounts: int
    points: int


def expire_due_lots(*, install_id: int, due_sql: str, cutoff: datetime, run_key: str, batch: int = 5000) -> ExpiryRun:
    """Expire every due lot of the install, a batch of accounts per transaction."""
    expired = program_account(install_id, AccountCode.EXPIRED)
    accounts_done = points_done = 0
    params: dict[str, Any] = {
        "install": install_id,
        "cutoff": cutoff,
        "batch": batch,
        "run": run_key,
        "expired_account": expired.pk,
    }
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_FIND_ACCOUNTS.format(due=due_sql), params)
            accounts = [row[0] for row in cursor.fetchall()]
            if not accounts:
                break
            cursor.execute(_LOCK_ACCOUNTS, {"accounts": accounts})
            cursor.execute(_EXPIRE.format(due=due_sql), {**params, "accounts": accounts})
            amounts = [row[0] for row in cursor.fetchall()]
        accounts_done += len(amounts)
        points_done += sum(amounts)
        LEDGER_POSTINGS.labels(kind="expire").inc(len(amounts))
        if len(amounts) < len(accounts):  # some accounts had no due lot left (a concurrent spend): done with them
            break
    return ExpiryRun(accounts=accounts_done, points=points_done)
