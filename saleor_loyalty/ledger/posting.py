"""The one code path that writes transfers and moves balances.

``post`` inserts the transfer (idempotently: a key seen before returns the first transfer, or raises if the
request differs) and moves the running totals of the member accounts involved, in account-id order so that
concurrent postings lock rows in the same order and cannot deadlock — all in one statement, one round trip. A
debit that would overdraw a ``no_overdraft`` account matches no row and raises ``InsufficientBalance``; the CHECK
constraint on the table is the database's own last word on the same rule.

A posting that credits a new lot (``new_lot``) writes the lot in the same step, and only when its transfer claimed
the idempotency key: concurrent writers with one key leave one transfer and one lot, never an orphan lot.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.core.metrics import LEDGER_POSTINGS

from .errors import IdempotencyConflict, InsufficientBalance, InvalidTransfer, PendingTransferResolved
from .models import Account, Lot, Transfer, TransferKind, TransferPhase

MAX_AMOUNT = 10**12

_COLUMNS = (
    "install_id",
    "idempotency_key",
    "kind",
    "phase",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "unit",
    "pending_id",
    "reverses_id",
    "member_id",
    "order_id",
    "lot_id",
    "memo",
    "created_at",
)
# A constant column list; every value is a bound parameter.
_INSERT_SQL = (
    f"INSERT INTO ledger_transfer ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "  # noqa: S608
    "ON CONFLICT (install_id, idempotency_key) DO NOTHING RETURNING id"
)


# On PostgreSQL a posting is one round trip: insert the transfer and, only if it is new, move both accounts'
# totals in ONE UPDATE (its index scan locks the two rows in id order, as every posting does, so postings cannot
# deadlock). An overdraft is refused by the account_no_overdraft CHECK constraint, which fails the whole
# statement: nothing is written, inside a transaction or not.
_NAMED_VALUES = ", ".join(f"%({column})s" for column in _COLUMNS)
_POST_SQL = (
    f"WITH t AS (INSERT INTO ledger_transfer ({', '.join(_COLUMNS)}) VALUES ({_NAMED_VALUES}) "  # noqa: S608
    "ON CONFLICT (install_id, idempotency_key) DO NOTHING RETURNING id), "
    "moved AS (UPDATE ledger_account SET "
    "debits_{phase} = debits_{phase} + CASE WHEN id = %(debit_account_id)s THEN %(amount)s ELSE 0 END, "
    "credits_{phase} = credits_{phase} + CASE WHEN id = %(credit_account_id)s THEN %(amount)s ELSE 0 END "
    "WHERE id IN (%(debit_account_id)s, %(credit_account_id)s) AND tracks_balance AND EXISTS (SELECT 1 FROM t) "
    "RETURNING id) "
    "SELECT (SELECT id FROM t), (SELECT count(*) FROM moved)"
)
_POST_SQL_BY_PHASE = {phase: _POST_SQL.format(phase=phase) for phase in ("posted", "pending")}

# A posting that credits a new lot. The transfer claims the idempotency key first, carrying the lot's id drawn from
# the lot sequence; the lot is inserted from the claimed row only (``FROM t``), so a writer that loses the key
# writes nothing at all. The transfer's foreign key to the lot is checked after the statement (at commit, as
# Django's constraints are DEFERRABLE INITIALLY DEFERRED), when the lot is there. Every value the lot takes is cast:
# the lot's columns are filled by a SELECT, where an untyped parameter would be text.
_LOT_COLUMNS = (
    "id",
    "install_id",
    "member_id",
    "account_id",
    "points",
    "remaining",
    "source",
    "order_id",
    "order_line_id",
    "rule",
    "earned_at",
    "unlocks_at",
    "unlocked_at",
    "expires_at",
)
_LOT_VALUES = (
    "t.lot_id, %(install_id)s::bigint, %(member_id)s::bigint, %(credit_account_id)s::bigint, %(amount)s::bigint, "
    "%(amount)s::bigint, %(lot_source)s::varchar, %(order_id)s::varchar, %(lot_order_line_id)s::varchar, "
    "%(lot_rule)s::jsonb, %(lot_earned_at)s::timestamptz, %(lot_unlocks_at)s::timestamptz, "
    "%(lot_unlocked_at)s::timestamptz, %(lot_expires_at)s::timestamptz"
)
_NEXT_LOT_ID = "nextval(pg_get_serial_sequence('ledger_lot', 'id'))"
_POST_WITH_LOT_SQL = (
    f"WITH t AS (INSERT INTO ledger_transfer ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({_NAMED_VALUES.replace('%(lot_id)s', _NEXT_LOT_ID)}) "
    "ON CONFLICT (install_id, idempotency_key) DO NOTHING RETURNING id, lot_id), "
    f"lot AS (INSERT INTO ledger_lot ({', '.join(_LOT_COLUMNS)}) SELECT {_LOT_VALUES} FROM t RETURNING id), "
    "moved AS (UPDATE ledger_account SET "
    "debits_posted = debits_posted + CASE WHEN id = %(debit_account_id)s THEN %(amount)s ELSE 0 END, "
    "credits_posted = credits_posted + CASE WHEN id = %(credit_account_id)s THEN %(amount)s ELSE 0 END "
    "WHERE id IN (%(debit_account_id)s, %(credit_account_id)s) AND tracks_balance AND EXISTS (SELECT 1 FROM t) "
    "RETURNING id) "
    "SELECT (SELECT id FROM t), (SELECT count(*) FROM moved), (SELECT id FROM lot)"
)


@dataclass(frozen=True)
class NewLot:
    """The lot a crediting posting creates: its provenance and dates (the lot's points are the amount posted, its
    account the credited one, its member the posting's member)."""

    source: str
    order_line_id: str | None = None
    rule: dict[str, Any] = field(default_factory=dict)
    earned_at: datetime | None = None  # None: now
    unlocks_at: datetime | None = None
    unlocked_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Posted:
    transfer_id: int
    created: bool  # False: the idempotency key was seen before and nothing was written
    lot_id: int | None = None  # the transfer's lot: the one this posting created, or the earlier transfer's


def _check(install_id: int, debit: Account, credit: Account, amount: int, key: str) -> None:
    if not key or len(key) > 255:
        raise InvalidTransfer("an idempotency key of 1-255 characters is required")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidTransfer(f"amount must be a whole number between 1 and {MAX_AMOUNT}, got {amount!r}")
    if debit.pk == credit.pk:
        raise InvalidTransfer("debit and credit accounts must differ")
    if debit.unit != credit.unit:
        raise InvalidTransfer(f"cannot move {debit.unit} into a {credit.unit} account")
    if debit.install_id != install_id or credit.install_id != install_id:
        raise InvalidTransfer("accounts belong to another install")


# One fixed statement (no ORM query building on the hot path): add the four deltas, and refuse — by matching
# no row — a debit the account cannot cover when it must not be overdrawn.
_MOVE_SQL = """
UPDATE ledger_account
SET debits_pending = debits_pending + %(debits_pending)s, debits_posted = debits_posted + %(debits_posted)s,
    credits_pending = credits_pending + %(credits_pending)s, credits_posted = credits_posted + %(credits_posted)s
WHERE id = %(id)s
  AND (%(guard)s = 0 OR NOT no_overdraft OR credits_posted >= debits_posted + debits_pending + %(guard)s)
"""


def _move(account: Account, field_deltas: dict[str, int], overdraft_guard: int) -> None:
    """Apply deltas to an account's totals; ``overdraft_guard`` is the amount its available must still cover."""
    if not account.tracks_balance:
        return
    params = {"debits_pending": 0, "debits_posted": 0, "credits_pending": 0, "credits_posted": 0, **field_deltas}
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_SQL, {**params, "id": account.pk, "guard": overdraft_guard})
        updated = cursor.rowcount
    if updated != 1:
        raise InsufficientBalance(f"account {account.pk} cannot cover {overdraft_guard}")


_IDENTITY = ("kind", "phase", "debit_account_id", "credit_account_id", "amount")


def _existing(install_id: int, key: str, row: dict[str, Any], first_lot_wins: bool = False) -> Posted:
    """The transfer posted earlier under this key, if it is the same transfer; else IdempotencyConflict.

    ``first_lot_wins``: an earlier transfer that created a lot is the answer whatever this request says."""
    transfer = Transfer.objects.get(install_id=install_id, idempotency_key=key)
    if first_lot_wins and transfer.lot_id is not None:
        return Posted(transfer.pk, created=False, lot_id=transfer.lot_id)
    for name in _IDENTITY:
        value = row[name]
        if getattr(transfer, name) != value:
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different transfer ({name})")
    return Posted(transfer.pk, created=False, lot_id=transfer.lot_id)


def post(
    *,
    install_id: int,
    key: str,
    kind: TransferKind,
    debit: Account,
    credit: Account,
    amount: int,
    pending: bool = False,
    member_id: int | None = None,
    order_id: str | None = None,
    lot_id: int | None = None,
    reverses_id: int | None = None,
    memo: dict[str, Any] | None = None,
    new_lot: NewLot | None = None,
    first_lot_wins: bool = False,
) -> Posted:
    """Post a transfer (or place a pending one with ``pending=True``).

    One SQL statement, so a lone posting is atomic even outside a transaction; writes that belong together (a
    transfer and its lots, an order's award) must share the caller's ``transaction.atomic``. With ``new_lot`` the
    posting credits a new lot of ``amount`` points in ``credit``, written in the same statement and only if this
    transfer claims ``key`` (``Posted.lot_id`` names it; a repeat gets the first transfer's lot and writes nothing).
    ``first_lot_wins``: a repeat whose first transfer created a lot gets that lot back even if this request differs
    (an earn repeated after its return window moved, say); otherwise a differing repeat raises IdempotencyConflict.
    """
    _check(install_id, debit, credit, amount, key)
    if new_lot is not None and (pending or lot_id is not None or member_id is None or credit.member_id != member_id):
        raise InvalidTransfer("a new lot is credited, posted, to an account of the posting's member")
    phase = TransferPhase.PENDING if pending else TransferPhase.POSTED
    row: dict[str, Any] = {
        "install_id": install_id,
        "idempotency_key": key,
        "kind": str(kind),
        "phase": str(phase),
        "debit_account_id": debit.pk,
        "credit_account_id": credit.pk,
        "amount": amount,
        "unit": debit.unit,
        "pending_id": None,
        "reverses_id": reverses_id,
        "member_id": member_id,
        "order_id": order_id,
        "lot_id": lot_id,
        "memo": memo,
    }
    if connection.vendor != "postgresql":
        return _post_in_steps(row, debit, credit, new_lot, first_lot_wins)
    params = {**row, "memo": json.dumps(memo or {}), "created_at": timezone.now()}
    sql = _POST_SQL_BY_PHASE[str(phase)]
    if new_lot is not None:
        sql = _POST_WITH_LOT_SQL
        params.update(_lot_params(new_lot, params["created_at"]))
    try:
        result = db.fetchone(sql, params)  # prepared on PostgreSQL: planning this CTE cost more than running it
    except IntegrityError as exc:
        if "account_no_overdraft" in str(exc):
            raise InsufficientBalance(f"account {debit.pk} cannot cover {amount}") from exc
        raise
    assert result is not None  # the statement always returns its one row
    transfer_id, moved = result[0], result[1]
    if transfer_id is None:
        return _existing(install_id, key, row, first_lot_wins)
    if moved != debit.tracks_balance + credit.tracks_balance:
        raise InvalidTransfer(f"accounts {debit.pk}/{credit.pk} are not both there to be moved")
    LEDGER_POSTINGS.labels(kind=str(kind)).inc()
    return Posted(int(transfer_id), created=True, lot_id=int(result[2]) if new_lot is not None else lot_id)


@dataclass(frozen=True)
class LotPosting:
    """One of the postings ``post_lots`` writes: its key, its points and the lot it credits."""

    key: str
    amount: int
    new_lot: NewLot
    memo: dict[str, Any] = field(default_factory=dict)


# Several postings of one kind between the same two accounts, each crediting a new lot, in one statement: the
# transfers claim their keys (in the order given: ids rise with it), each claimed transfer's lot is written from
# it, and the accounts move once by the claimed transfers' sum (one UPDATE, the rows locked in id order, as every
# posting's). A key claimed before writes nothing; the caller looks it up.
_LOT_ARRAYS = {
    "keys": "varchar",
    "amounts": "bigint",
    "memos": "jsonb",
    "sources": "varchar",
    "order_line_ids": "varchar",
    "rules": "jsonb",
    "earned_ats": "timestamptz",
    "unlocks_ats": "timestamptz",
    "unlocked_ats": "timestamptz",
    "expires_ats": "timestamptz",
}
_LOT_UNNEST = ", ".join(f"%({name})s::{kind}[]" for name, kind in _LOT_ARRAYS.items())
_POST_LOTS_SQL = (
    f"WITH r AS (SELECT * FROM unnest({_LOT_UNNEST}) WITH ORDINALITY AS r(key, amount, memo, source, "  # noqa: S608
    "order_line_id, rule, earned_at, unlocks_at, unlocked_at, expires_at, n)), "
    f"t AS (INSERT INTO ledger_transfer ({', '.join(_COLUMNS)}) "
    "SELECT %(install_id)s, r.key, %(kind)s, 'posted', %(debit_account_id)s, %(credit_account_id)s, r.amount, "
    f"%(unit)s, NULL, NULL, %(member_id)s, %(order_id)s, {_NEXT_LOT_ID}, r.memo, %(created_at)s FROM r ORDER BY r.n "
    "ON CONFLICT (install_id, idempotency_key) DO NOTHING RETURNING idempotency_key, id, lot_id, amount), "
    f"lot AS (INSERT INTO ledger_lot ({', '.join(_LOT_COLUMNS)}) "
    "SELECT t.lot_id, %(install_id)s, %(member_id)s, %(credit_account_id)s, t.amount, t.amount, r.source, "
    "%(order_id)s, r.order_line_id, r.rule, r.earned_at, r.unlocks_at, r.unlocked_at, r.expires_at "
    "FROM t JOIN r ON r.key = t.idempotency_key RETURNING id), "
    "total AS (SELECT sum(amount)::bigint AS points FROM t), "
    "moved AS (UPDATE ledger_account SET "
    "debits_posted = debits_posted + CASE WHEN id = %(debit_account_id)s THEN total.points ELSE 0 END, "
    "credits_posted = credits_posted + CASE WHEN id = %(credit_account_id)s THEN total.points ELSE 0 END "
    "FROM total WHERE id IN (%(debit_account_id)s, %(credit_account_id)s) AND tracks_balance "
    "AND total.points IS NOT NULL RETURNING id) "
    "SELECT t.idempotency_key, t.id, t.lot_id, (SELECT count(*) FROM moved), (SELECT count(*) FROM lot) FROM t"
)


def post_lots(
    *,
    install_id: int,
    kind: TransferKind,
    debit: Account,
    credit: Account,
    member_id: int,
    order_id: str | None,
    postings: Sequence[LotPosting],
) -> list[Posted]:
    """``post(new_lot=…, first_lot_wins=True)`` for each of ``postings``, in one statement on PostgreSQL (an order's
    points and its carried fractions: one round trip, one move of the two accounts). Each key is idempotent on its
    own: a key claimed before gets its first transfer and lot back, the others are written. In ``postings``' order
    (transfer ids rise with it); elsewhere (SQLite) one ``post`` each."""
    if len({p.key for p in postings}) != len(postings):
        raise InvalidTransfer("each posting needs its own idempotency key")
    if connection.vendor != "postgresql" or len(postings) == 1:
        return [
            post(
                install_id=install_id,
                key=p.key,
                kind=kind,
                debit=debit,
                credit=credit,
                amount=p.amount,
                member_id=member_id,
                order_id=order_id,
                memo=p.memo,
                new_lot=p.new_lot,
                first_lot_wins=True,
            )
            for p in postings
        ]
    for p in postings:
        _check(install_id, debit, credit, p.amount, p.key)
    if credit.member_id != member_id:
        raise InvalidTransfer("a new lot is credited, posted, to an account of the posting's member")
    now = timezone.now()
    lots = [(p, _lot_params(p.new_lot, now)) for p in postings]
    params: dict[str, Any] = {
        "install_id": install_id,
        "kind": str(kind),
        "debit_account_id": debit.pk,
        "credit_account_id": credit.pk,
        "unit": debit.unit,
        "member_id": member_id,
        "order_id": order_id,
        "created_at": now,
        "keys": [p.key for p, _ in lots],
        "amounts": [p.amount for p, _ in lots],
        "memos": [json.dumps(p.memo) for p, _ in lots],
        "sources": [lot["lot_source"] for _, lot in lots],
        "order_line_ids": [lot["lot_order_line_id"] for _, lot in lots],
        "rules": [lot["lot_rule"] for _, lot in lots],
        "earned_ats": [lot["lot_earned_at"] for _, lot in lots],
        "unlocks_ats": [lot["lot_unlocks_at"] for _, lot in lots],
        "unlocked_ats": [lot["lot_unlocked_at"] for _, lot in lots],
        "expires_ats": [lot["lot_expires_at"] for _, lot in lots],
    }
    try:
        rows = db.fetchall(_POST_LOTS_SQL, params)
    except IntegrityError as exc:
        if "account_no_overdraft" in str(exc):
            raise InsufficientBalance(f"account {debit.pk} cannot cover the postings") from exc
        raise
    claimed = {key: (int(transfer_id), int(lot_id)) for key, transfer_id, lot_id, _, _ in rows}
    if rows and (rows[0][3] != debit.tracks_balance + credit.tracks_balance or rows[0][4] != len(rows)):
        raise InvalidTransfer(f"accounts {debit.pk}/{credit.pk} are not both there to be moved")
    LEDGER_POSTINGS.labels(kind=str(kind)).inc(len(claimed))
    posted = []
    for p in postings:
        if p.key in claimed:
            transfer_id, lot_id = claimed[p.key]
            posted.append(Posted(transfer_id, created=True, lot_id=lot_id))
            continue
        asked = {
            "kind": str(kind),
            "phase": str(TransferPhase.POSTED),
            "debit_account_id": debit.pk,
            "credit_account_id": credit.pk,
            "amount": p.amount,
        }
        posted.append(_existing(install_id, p.key, asked, first_lot_wins=True))
    return posted


def _lot_params(new_lot: NewLot, now: datetime) -> dict[str, Any]:
    return {
        "lot_source": new_lot.source,
        "lot_order_line_id": new_lot.order_line_id,
        "lot_rule": json.dumps(new_lot.rule),
        "lot_earned_at": new_lot.earned_at or now,
        "lot_unlocks_at": new_lot.unlocks_at,
        "lot_unlocked_at": new_lot.unlocked_at,
        "lot_expires_at": new_lot.expires_at,
    }


def _post_in_steps(
    row: dict[str, Any], debit: Account, credit: Account, new_lot: NewLot | None = None, first_lot_wins: bool = False
) -> Posted:
    """The same posting as INSERT + two guarded UPDATEs, for databases without data-modifying CTEs (SQLite).

    A new lot is written first (its id goes on the transfer) and deleted again if the key was taken: SQLite has
    one writer at a time, and the lot never left this transaction.
    """
    if new_lot is not None:
        lot = Lot.objects.create(
            install_id=row["install_id"],
            member_id=row["member_id"],
            account=credit,
            points=row["amount"],
            remaining=row["amount"],
            source=new_lot.source,
            order_id=row["order_id"],
            order_line_id=new_lot.order_line_id,
            rule=new_lot.rule,
            earned_at=new_lot.earned_at or timezone.now(),
            unlocks_at=new_lot.unlocks_at,
            unlocked_at=new_lot.unlocked_at,
            expires_at=new_lot.expires_at,
        )
        row = {**row, "lot_id": lot.pk}
    transfer_id = _insert(**row)
    if transfer_id is None:
        if new_lot is not None:
            Lot.objects.filter(pk=row["lot_id"]).delete()
        return _existing(row["install_id"], row["idempotency_key"], row, first_lot_wins)
    amount = row["amount"]
    suffix = "pending" if row["phase"] == TransferPhase.PENDING else "posted"
    moves = [(debit, {f"debits_{suffix}": amount}, amount), (credit, {f"credits_{suffix}": amount}, 0)]
    for account, deltas, guard in sorted(moves, key=lambda m: m[0].pk):
        _move(account, deltas, guard)
    LEDGER_POSTINGS.labels(kind=str(row["kind"])).inc()
    return Posted(transfer_id, created=True, lot_id=row["lot_id"])


def resolve_pending(*, pending_id: int, key: str, post_amount: int | None, order_id: str | None = None) -> Posted:
    """Resolve a pending transfer exactly once.

    ``post_amount=None`` voids it; an integer posts that much (at most the pending amount) and releases the rest.
    ``order_id`` names the order that settled it (a redemption hold is placed before its order exists).
    """
    pending = Transfer.objects.select_for_update().select_related("debit_account", "credit_account").get(pk=pending_id)
    phase = TransferPhase.VOID_PENDING if post_amount is None else TransferPhase.POST_PENDING
    existing = Transfer.objects.filter(install_id=pending.install_id, idempotency_key=key).first()
    if existing is not None:
        if existing.pending_id != pending.pk or existing.phase != phase:
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different transfer")
        return Posted(existing.pk, created=False)
    if pending.phase != TransferPhase.PENDING:
        raise InvalidTransfer(f"transfer {pending.pk} is not pending")
    if Transfer.objects.filter(pending=pending).exists():
        raise PendingTransferResolved(f"pending transfer {pending.pk} was already resolved")
    amount = pending.amount if post_amount is None else post_amount
    if isinstance(amount, bool) or not 0 < amount <= pending.amount:
        raise InvalidTransfer(f"can post between 1 and {pending.amount}, got {amount!r}")
    debit, credit = pending.debit_account, pending.credit_account
    transfer_id = _insert(
        install_id=pending.install_id,
        idempotency_key=key,
        kind=pending.kind,
        phase=phase,
        debit_account_id=debit.pk,
        credit_account_id=credit.pk,
        amount=amount,
        unit=debit.unit,
        pending_id=pending.pk,
        member_id=pending.member_id,
        order_id=order_id or pending.order_id,
        lot_id=pending.lot_id,
    )
    assert transfer_id is not None  # the key was checked under the pending row's lock
    posted = 0 if post_amount is None else amount
    moves = [
        (debit, {"debits_pending": -pending.amount, "debits_posted": posted}),
        (credit, {"credits_pending": -pending.amount, "credits_posted": posted}),
    ]
    for account, deltas in sorted(moves, key=lambda m: m[0].pk):
        _move(account, deltas, 0)
    LEDGER_POSTINGS.labels(kind=f"{pending.kind}_{phase}").inc()
    return Posted(transfer_id, created=True)


def _insert(**values: Any) -> int | None:
    """INSERT the transfer row; None when its idempotency key exists (nothing written)."""
    if not transaction.get_connection().in_atomic_block:
        raise InvalidTransfer("ledger postings must run inside transaction.atomic()")
    values["memo"] = json.dumps(values.get("memo") or {})
    values["created_at"] = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [values.get(column) for column in _COLUMNS])
        row = cursor.fetchone()
    return int(row[0]) if row else None
