"""The one code path that writes transfers and moves balances.

``post`` inserts the transfer (idempotently: a key seen before returns the first transfer, or raises if the
request differs) and moves the running totals of the member accounts involved, in account-id order so that
concurrent postings lock rows in the same order and cannot deadlock — all in one statement, one round trip. A
debit that would overdraw a ``no_overdraft`` account matches no row and raises ``InsufficientBalance``; the CHECK
constraint on the table is the database's own last word on the same rule.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.core.metrics import LEDGER_POSTINGS

from .errors import IdempotencyConflict, InsufficientBalance, InvalidTransfer, PendingTransferResolved
from .models import Account, Transfer, TransferKind, TransferPhase

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


@dataclass(frozen=True)
class Posted:
    transfer_id: int
    created: bool  # False: the idempotency key was seen before and nothing was written


def _check(install_id: int, debit: Account, credit: Account, amount: int) -> None:
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


def _existing(install_id: int, key: str, row: dict[str, Any]) -> Posted:
    """The transfer posted earlier under this key, if it is the same transfer; else IdempotencyConflict."""
    transfer = Transfer.objects.get(install_id=install_id, idempotency_key=key)
    for field in _IDENTITY:
        value = row[field]
        if getattr(transfer, field) != value:
            raise IdempotencyConflict(f"idempotency key {key!r} was used for a different transfer ({field})")
    return Posted(transfer.pk, created=False)


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
) -> Posted:
    """Post a transfer (or place a pending one with ``pending=True``).

    One SQL statement, so a lone posting is atomic even outside a transaction; writes that belong together (a
    transfer and its lots, an order's award) must share the caller's ``transaction.atomic``.
    """
    _check(install_id, debit, credit, amount)
    if not key or len(key) > 255:
        raise InvalidTransfer("an idempotency key of 1-255 characters is required")
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
        return _post_in_steps(row, debit, credit)
    try:
        result = db.fetchone(  # prepared on PostgreSQL: planning this CTE cost more than running it
            _POST_SQL_BY_PHASE[str(phase)], {**row, "memo": json.dumps(memo or {}), "created_at": timezone.now()}
        )
    except IntegrityError as exc:
        if "account_no_overdraft" in str(exc):
            raise InsufficientBalance(f"account {debit.pk} cannot cover {amount}") from exc
        raise
    assert result is not None  # the statement always returns its one row
    transfer_id, moved = result
    if transfer_id is None:
        return _existing(install_id, key, row)
    if moved != debit.tracks_balance + credit.tracks_balance:
        raise InvalidTransfer(f"accounts {debit.pk}/{credit.pk} are not both there to be moved")
    LEDGER_POSTINGS.labels(kind=str(kind)).inc()
    return Posted(int(transfer_id), created=True)


def _post_in_steps(row: dict[str, Any], debit: Account, credit: Account) -> Posted:
    """The same posting as INSERT + two guarded UPDATEs, for databases without data-modifying CTEs (SQLite)."""
    transfer_id = _insert(**row)
    if transfer_id is None:
        return _existing(row["install_id"], row["idempotency_key"], row)
    amount = row["amount"]
    suffix = "pending" if row["phase"] == TransferPhase.PENDING else "posted"
    moves = [(debit, {f"debits_{suffix}": amount}, amount), (credit, {f"credits_{suffix}": amount}, 0)]
    for account, deltas, guard in sorted(moves, key=lambda m: m[0].pk):
        _move(account, deltas, guard)
    LEDGER_POSTINGS.labels(kind=str(row["kind"])).inc()
    return Posted(transfer_id, created=True)


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
