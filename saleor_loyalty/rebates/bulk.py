"""Settling rebate periods set-based: a batch of periods in two statements, never a Python loop per member.

One batch (5,000 periods by default) is one transaction:

1. lock the batch's periods that still have work, in id order (``FOR UPDATE``: a period another run settled
   meanwhile no longer matches and is skipped — running twice, or twice at once, moves money once);
2. one statement that locks their members' rebate accounts in id order and reads them under that lock, computes
   what each period does from its counters — release pending → payable when its return window has passed, net
   what the member owes (``net`` policy), hold the rest for a payout — and writes it: the ledger transfers
   (``rebate:<period>:r<revision>:release | :netting | :payout``, ids drawn in period and step order), one
   ``RebatePayout`` (state ``created``) per hold, the accounts' running totals and the periods' counters.
   Periods whose member has no rebate accounts yet are left out of it; their accounts are opened and the
   statement runs again for them (rare: accounts open with a member's first accrual).

That is what settling one period at a time by the rules wrote (``movements``' single postings): the transfers
have the same keys, kinds, accounts, amounts and memos, the revision moves the same way (one bump for a release,
one for a payout attempt, even when netting takes it all). Periods of one member in one currency (two channels'
programs) share the member's accounts: they are netted in period id order, each from what the earlier ones left
owed (a window sum).

Locks are taken in the order every rebate writer uses — the period, then the member's accounts by id (the order
path takes the member and its points accounts before those; settlement takes neither) — so settlement cannot
deadlock with order deliveries, payout answers or another settlement. An idempotency key already used means the
counters and the ledger disagree: the INSERT fails, and the whole batch with it.

PostgreSQL only (data-modifying CTEs), like ``ledger.bulk`` and ``ledger.expiry``.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.core.metrics import LEDGER_POSTINGS
from saleor_loyalty.core.money import to_minor_units
from saleor_loyalty.core.parallel import map_apart
from saleor_loyalty.ledger.accounts import program_account
from saleor_loyalty.ledger.models import AccountCode, TransferKind

from .models import RebateProgram, RecoveryPolicy

BATCH = 5000

# What a period still has to do. Closing (its period has ended): release what is due, pay what is payable, mark it
# closed once nothing is pending. Releasing (the hourly run, periods still open): release what is due, and pay
# early if the period's payable reaches its program's minimum payout.
_CLOSING_WORK = (
    "p.ends_at <= %(now)s AND ((p.pending > 0 AND p.release_at <= %(now)s) OR p.payable > 0"
    " OR (p.pending = 0 AND p.closed_at IS NULL))"
)
_RELEASING_WORK = "p.pending > 0 AND p.release_at <= %(now)s"

_LOCK_PERIODS = """
SELECT p.id, p.install_id, p.member_id, p.currency
FROM rebates_period p
WHERE p.id = ANY(%(ids)s) AND ({work})
ORDER BY p.id
FOR UPDATE
"""

# The accounts ``rebates.accounts.rebate_accounts`` opens on first use (pending and payable never below zero).
_OPEN_ACCOUNTS = """
INSERT INTO ledger_account (install_id, member_id, code, unit, no_overdraft, tracks_balance, debits_pending,
                            debits_posted, credits_pending, credits_posted, created_at)
SELECT o.install_id, o.member_id, c.code, o.unit, c.no_overdraft, true, 0, 0, 0, 0, %(wall)s
FROM unnest(%(installs)s::bigint[], %(members)s::bigint[], %(units)s::varchar[]) AS o(install_id, member_id, unit)
CROSS JOIN (VALUES ('rebate_pending', true), ('rebate_payable', true), ('rebate_recoverable', false))
    AS c(code, no_overdraft)
ORDER BY o.member_id, c.code
ON CONFLICT DO NOTHING
"""

# One statement per batch. ``owned``: the ids of the batch's members' rebate accounts, each period's found by index
# (a fenced LATERAL: a hash join would read every account of every store for each batch); ``account``: those
# accounts, locked in id order (the Sort below the lock reads every id first, then the accounts) and read under
# that lock; a period whose
# member lacks an account is left out (the caller opens them and settles it again). ``plan``: what each period
# does, from its counters (periods are read under the lock the caller took). Then the writes: the transfers (ids
# drawn in period and step order), the payouts (holding the payout transfers), the accounts' totals, the periods.
_SETTLE = """
WITH owned AS MATERIALIZED (
    SELECT p.id AS period_id, a.id
    FROM rebates_period p
    CROSS JOIN LATERAL (
        SELECT a.id FROM ledger_account a
        WHERE a.install_id = p.install_id AND a.member_id = p.member_id AND a.unit = p.currency
          AND a.code IN ('rebate_pending', 'rebate_payable', 'rebate_recoverable')
        OFFSET 0  -- a fence: each period's accounts by the unique index, never a scan of every account
    ) a
    WHERE p.id = ANY(%(ids)s)
), account AS MATERIALIZED (
    SELECT o.period_id, a.id, a.code, a.debits_posted - a.credits_posted AS debit_balance
    FROM ledger_account a
    JOIN owned o ON o.id = a.id
    WHERE a.id = ANY(ARRAY(SELECT id FROM owned))
    ORDER BY a.id
    FOR UPDATE OF a
), owner AS (
    SELECT period_id,
           max(id) FILTER (WHERE code = 'rebate_pending') AS pending_account,
           max(id) FILTER (WHERE code = 'rebate_payable') AS payable_account,
           max(id) FILTER (WHERE code = 'rebate_recoverable') AS recoverable_account,
           greatest(0, max(debit_balance) FILTER (WHERE code = 'rebate_recoverable')) AS owed
    FROM account
    GROUP BY period_id
    HAVING count(DISTINCT code) = 3
), released AS (
    SELECT p.id, p.install_id, p.program_id, p.member_id, p.currency, p.revision, p.pending,
           CASE WHEN r.releases THEN p.pending ELSE 0 END AS released,
           p.payable + CASE WHEN r.releases THEN p.pending ELSE 0 END AS payable_now,
           p.revision + r.releases::int AS release_revision,
           pr.nets, pr.method, pr.minimum, pa.paid_account,
           o.pending_account, o.payable_account, o.recoverable_account, o.owed,
           'rebate:' || p.id || ':r' AS key_prefix,
           jsonb_build_object('rebate_period', p.id, 'period', p.period, 'program', p.program_id) AS memo
    FROM owner o
    JOIN rebates_period p ON p.id = o.period_id
    CROSS JOIN LATERAL (SELECT p.pending > 0 AND coalesce(p.release_at <= %(now)s, false) AS releases) r
    JOIN unnest(%(programs)s::bigint[], %(nets)s::boolean[], %(methods)s::varchar[], %(minimums)s::bigint[])
         AS pr(program_id, nets, method, minimum) ON pr.program_id = p.program_id
    JOIN unnest(%(paid_installs)s::bigint[], %(paid_units)s::varchar[], %(paid_accounts)s::bigint[])
         AS pa(install_id, unit, paid_account) ON pa.install_id = p.install_id AND pa.unit = p.currency
), paying AS (
    SELECT released.*, payable_now > 0 AND (%(closing)s OR (minimum > 0 AND payable_now >= minimum)) AS pays
    FROM released
), plan AS MATERIALIZED (
    SELECT paying.*,
           CASE WHEN pays AND nets THEN least(payable_now, greatest(0, owed - coalesce(
               sum(payable_now) FILTER (WHERE pays AND nets) OVER (
                   PARTITION BY recoverable_account ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ), 0)))
           ELSE 0 END AS net,
           release_revision + pays::int AS new_revision
    FROM paying
), legs AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('ledger_transfer', 'id')) AS transfer_id, l.*
    FROM (
        SELECT id, 1 AS step, 'rebate_release' AS kind, 'posted' AS phase, pending_account AS debit,
               payable_account AS credit, released AS amount, key_prefix || release_revision || ':release' AS key,
               install_id, program_id, member_id, currency, memo, method
        FROM plan WHERE released > 0
        UNION ALL
        SELECT id, 2, 'rebate_netting', 'posted', payable_account, recoverable_account, net,
               key_prefix || new_revision || ':netting', install_id, program_id, member_id, currency, memo, method
        FROM plan WHERE net > 0
        UNION ALL
        SELECT id, 3, 'rebate_payout', 'pending', payable_account, paid_account, payable_now - net,
               key_prefix || new_revision || ':payout', install_id, program_id, member_id, currency, memo, method
        FROM plan WHERE pays AND payable_now > net
        ORDER BY 1, 2
    ) l
), transfers AS (
    INSERT INTO ledger_transfer (id, install_id, idempotency_key, kind, phase, debit_account_id, credit_account_id,
                                 amount, unit, member_id, memo, created_at)
    SELECT transfer_id, install_id, key, kind, phase, debit, credit, amount, currency, member_id, memo, %(wall)s
    FROM legs
    RETURNING 1
), payouts AS (
    INSERT INTO rebates_payout (install_id, program_id, period_id, member_id, amount, currency, method, state,
                                idempotency_key, hold_transfer_id, reference, failure, created_at)
    SELECT install_id, program_id, id, member_id, amount, currency, method, 'created', key, transfer_id, '', '',
           %(wall)s
    FROM legs WHERE step = 3
    ORDER BY id
    RETURNING id
), moves AS MATERIALIZED (  -- what each account's totals move by, from the plan (the legs above, per account)
    SELECT v.account, v.debits_posted, v.debits_pending, v.credits_posted
    FROM plan
    CROSS JOIN LATERAL (VALUES  -- rebates_paid, the payout's credit side, keeps no running totals
        (pending_account, released, 0::numeric, 0::numeric),  -- release: pending → payable
        (payable_account, net, CASE WHEN pays THEN payable_now - net ELSE 0 END, released),  -- netting, payout hold
        (recoverable_account, 0, 0, net)  -- netting: what the member owed, paid back from payable
    ) AS v(account, debits_posted, debits_pending, credits_posted)
    WHERE v.debits_posted > 0 OR v.debits_pending > 0 OR v.credits_posted > 0
), moved AS (
    UPDATE ledger_account a
    SET debits_posted = a.debits_posted + m.debits_posted, debits_pending = a.debits_pending + m.debits_pending,
        credits_posted = a.credits_posted + m.credits_posted
    FROM (
        SELECT account, sum(debits_posted)::bigint AS debits_posted, sum(debits_pending)::bigint AS debits_pending,
               sum(credits_posted)::bigint AS credits_posted
        FROM moves
        GROUP BY account
    ) m
    WHERE a.id = m.account
    RETURNING 1
), settled AS (
    UPDATE rebates_period p
    SET revision = plan.new_revision,
        pending = plan.pending - plan.released,
        payable = plan.payable_now - plan.net - CASE WHEN plan.pays THEN plan.payable_now - plan.net ELSE 0 END,
        netted = p.netted + plan.net,
        paid = p.paid + CASE WHEN plan.pays THEN plan.payable_now - plan.net ELSE 0 END,
        closed_at = CASE WHEN %(closing)s AND plan.pending = plan.released AND p.closed_at IS NULL
                         THEN %(now)s ELSE p.closed_at END,
        updated_at = %(wall)s
    FROM plan
    WHERE p.id = plan.id
    RETURNING p.id
)
SELECT (SELECT count(*) FROM settled),
       (SELECT coalesce(array_agg(id), '{}'::bigint[]) FROM settled),
       (SELECT count(*) FROM plan WHERE released > 0),
       (SELECT count(*) FROM plan WHERE net > 0),
       (SELECT coalesce(sum(net), 0) FROM plan),
       (SELECT count(*) FROM transfers),
       (SELECT count(*) FROM legs),
       (SELECT count(*) FROM moved),
       (SELECT count(DISTINCT account) FROM moves),
       (SELECT coalesce(array_agg(id ORDER BY id), '{}'::bigint[]) FROM payouts)
"""


@dataclass
class Settled:
    """What a settlement run did."""

    periods: int = 0  # periods that changed
    released: int = 0  # of which released pending → payable
    netted: int = 0  # of which netted what their member owed
    netted_amount: int = 0
    payouts: list[int] = field(default_factory=list)  # the payouts created, by id
    batches: int = 0
    considered: int = 0  # periods looked at: settled, or found with nothing left to do (another run's)

    def add(self, other: "Settled") -> None:
        self.periods += other.periods
        self.released += other.released
        self.netted += other.netted
        self.netted_amount += other.netted_amount
        self.payouts.extend(other.payouts)
        self.batches += other.batches
        self.considered += other.considered


class SettlementMismatch(RuntimeError):
    """The statement wrote fewer rows than it planned: nothing of the batch is kept."""


def batches_of(periods: Iterable[tuple[int, int]], size: int = BATCH) -> list[list[int]]:
    """``(member id, period id)`` pairs as the units one transaction settles: about ``size`` periods each, in
    member then period order, and every period of a member in the same unit (cut only between members).

    So two units never share a member, hence never an account: settled at once on several connections they do not
    wait on each other, and a member's periods of one currency (two channels' programs) net what the member owes
    in period order, as one after the other would."""
    batches: list[list[int]] = []
    current: list[int] = []
    last_member = None
    for member_id, period_id in sorted(set(periods)):
        if len(current) >= size and member_id != last_member:
            batches.append(current)
            current = []
        current.append(period_id)
        last_member = member_id
    if current:
        batches.append(current)
    return batches


def settle_periods(
    batches: Sequence[list[int]],
    *,
    now: datetime,
    closing: bool,
    workers: int = 1,
    on_batch: Callable[[Settled], None] | None = None,
) -> Settled:
    """Settle the given batches of periods (``batches_of``), each in a transaction of its own. ``closing``: their
    periods have ended (release what is due, pay every payable, mark closed); otherwise release what is due and pay
    early at the program's minimum payout. Periods with nothing to do are left alone.

    ``workers`` > 1 settles that many batches at once, each on its own connection (``core.parallel``: outside a
    transaction, on PostgreSQL): PostgreSQL runs a statement on one core, and batches share no period and no
    member, so they never wait on each other. ``on_batch`` sees each batch's result once it is committed."""
    terms = _Terms()
    settled = Settled()
    for done in map_apart(
        lambda ids: _settle_batch(ids, now=now, closing=closing, terms=terms),
        batches,
        workers=workers,
        on_done=on_batch,
    ):
        settled.add(done)
    return settled


def _settle_batch(ids: list[int], *, now: datetime, closing: bool, terms: "_Terms") -> Settled:
    wall = timezone.now()
    batch = Settled(batches=1, considered=len(ids))
    with transaction.atomic(), connection.cursor() as cursor:
        # A batch is a few thousand rows: JIT compiling the statement (its CTE estimates look large) costs seconds
        # and saves nothing; the account totals are summed in memory.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '32MB'")
        work = _CLOSING_WORK if closing else _RELEASING_WORK
        cursor.execute(_LOCK_PERIODS.format(work=work), {"ids": ids, "now": now})
        locked = cursor.fetchall()
        if not locked:
            return Settled(considered=len(ids))  # another run settled them all meanwhile
        params = {**terms.params(), "now": now, "wall": wall, "closing": closing}
        todo = [row[0] for row in locked]
        for attempt in range(2):
            cursor.execute(_SETTLE, {**params, "ids": todo})
            row = cursor.fetchone()
            assert row is not None
            periods, done, released, netted, netted_amount, inserted, planned, moved, to_move, payouts = row
            if inserted != planned or moved != to_move:
                raise SettlementMismatch(f"wrote {inserted}/{planned} transfers, moved {moved}/{to_move} accounts")
            batch.periods += periods
            batch.released += released
            batch.netted += netted
            batch.netted_amount += int(netted_amount)
            batch.payouts.extend(payouts)
            left = set(todo) - set(done)
            todo = sorted(left)
            if not todo:
                break
            if attempt == 0:  # members whose rebate accounts were never opened (a period that never accrued)
                pairs = sorted({(install, member, unit) for pk, install, member, unit in locked if pk in left})
                cursor.execute(
                    _OPEN_ACCOUNTS,
                    {
                        "installs": [p[0] for p in pairs],
                        "members": [p[1] for p in pairs],
                        "units": [p[2] for p in pairs],
                        "wall": wall,
                    },
                )
        if todo:
            raise SettlementMismatch(f"periods {todo[:10]} have no rebate accounts")
    LEDGER_POSTINGS.labels(kind=str(TransferKind.REBATE_RELEASE)).inc(batch.released)
    LEDGER_POSTINGS.labels(kind=str(TransferKind.REBATE_NETTING)).inc(batch.netted)
    LEDGER_POSTINGS.labels(kind=str(TransferKind.REBATE_PAYOUT)).inc(len(batch.payouts))
    return batch


class _Terms:
    """The program side of a run, read once: each program's recovery policy, payout method and minimum payout (minor
    units), and each (install, currency)'s ``rebates_paid`` account."""

    def __init__(self) -> None:
        programs = sorted(RebateProgram.objects.all(), key=lambda p: p.pk)
        owners = sorted({(p.install_id, p.currency) for p in programs})
        paid = [program_account(install, AccountCode.REBATES_PAID, unit).pk for install, unit in owners]
        self._params: dict[str, Any] = {
            "programs": [p.pk for p in programs],
            "nets": [p.recovery_policy == RecoveryPolicy.NET for p in programs],
            "methods": [p.payout_method for p in programs],
            "minimums": [to_minor_units(p.minimum_payout, p.currency) for p in programs],
            "paid_installs": [install for install, _ in owners],
            "paid_units": [unit for _, unit in owners],
            "paid_accounts": paid,
        }

    def params(self) -> dict[str, Any]:
        return self._params
