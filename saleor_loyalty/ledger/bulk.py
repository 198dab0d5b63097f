"""Set-based earning: the same points for many members in one statement (the program's birthday bonuses, campaigns
to a segment), instead of a Python loop per member. Which members are due is the caller's rule (``due_sql``).

Each due member gets a lot, an EARN transfer from the program's issued account (idempotency key
``<key_prefix>:<member id>``) and the running totals of their available points account, exactly what
``ledger.actions.earn`` would write for one member. Members are locked first (the order every posting uses:
member, then accounts), and accounts they never had are opened in the same transaction. As in ``posting.post``,
the transfer claims its key first (``ON CONFLICT DO NOTHING``, carrying the lot's id from the lot sequence) and
only claimed transfers get a lot and move balances: two concurrent runs never leave a member an orphan lot.
"""

from datetime import datetime
from typing import Any

from django.db import connection

from saleor_loyalty.core.metrics import LEDGER_POSTINGS

from .accounts import program_account
from .models import AccountCode

_OPEN_ACCOUNTS = """
INSERT INTO ledger_account (install_id, member_id, code, unit, no_overdraft, tracks_balance, debits_pending,
                            debits_posted, credits_pending, credits_posted, created_at)
SELECT %(install)s, d.member_id, c.code, 'PTS', c.no_overdraft, true, 0, 0, 0, 0, %(now)s
FROM ({due}) d
CROSS JOIN (VALUES ('points', true), ('points_pending', true), ('points_debt', false)) AS c(code, no_overdraft)
ON CONFLICT DO NOTHING
"""

_EARN = """
WITH due AS (
    SELECT m.id AS member_id, a.id AS account_id
    FROM members_member m
    JOIN ledger_account a ON a.member_id = m.id AND a.code = 'points' AND a.unit = 'PTS'
    WHERE m.id IN (SELECT member_id FROM ({due}) d)
      AND NOT EXISTS (SELECT 1 FROM ledger_transfer t
                      WHERE t.install_id = %(install)s AND t.idempotency_key = %(key_prefix)s || ':' || m.id)
    ORDER BY m.id
    FOR UPDATE OF m
), transfers AS (
    INSERT INTO ledger_transfer (install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id,
                                 amount, unit, member_id, lot_id, memo, created_at)
    SELECT %(install)s, %(key_prefix)s || ':' || member_id, 'earn', 'posted', %(issued)s, account_id,
           %(points)s, 'PTS', member_id, nextval(pg_get_serial_sequence('ledger_lot', 'id')),
           jsonb_build_object('source', %(source)s::text), %(now)s
    FROM due
    ON CONFLICT (install_id, idempotency_key) DO NOTHING
    RETURNING lot_id, credit_account_id, member_id
), lots AS (
    INSERT INTO ledger_lot (id, install_id, member_id, account_id, points, remaining, source, rule, earned_at,
                            unlocked_at, expires_at)
    SELECT lot_id, %(install)s, member_id, credit_account_id, %(points)s, %(points)s, %(source)s, '{{}}'::jsonb,
           %(now)s, %(now)s, %(expires_at)s
    FROM transfers
), credited AS (
    UPDATE ledger_account a SET credits_posted = a.credits_posted + %(points)s
    FROM transfers t WHERE a.id = t.credit_account_id
    RETURNING t.member_id
)
UPDATE members_member m
SET lifetime_points = m.lifetime_points + %(points)s, last_activity_at = %(now)s
FROM credited c WHERE m.id = c.member_id
RETURNING m.id
"""


def bulk_earn(
    *,
    install_id: int,
    due_sql: str,
    params: dict[str, Any],
    points: int,
    key_prefix: str,
    source: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> list[int]:
    """Earn ``points`` for every member ``due_sql`` selects (a SELECT of ``member_id``). Returns their ids.

    Must run inside ``transaction.atomic``. A member already credited under ``key_prefix`` gets nothing more.
    """
    issued = program_account(install_id, AccountCode.ISSUED)
    values = {
        **params,
        "install": install_id,
        "now": now,
        "expires_at": expires_at,
        "points": points,
        "source": source,
        "key_prefix": key_prefix,
        "issued": issued.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_ACCOUNTS.format(due=due_sql), values)
        cursor.execute(_EARN.format(due=due_sql), values)
        members = [row[0] for row in cursor.fetchall()]
    LEDGER_POSTINGS.labels(kind="earn").inc(len(members))
    return members
