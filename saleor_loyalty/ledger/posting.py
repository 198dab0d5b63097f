"""The one code path that writes transfers and moves balances.

``post`` inserts the transfer (idempotently: a key seen before returns the first transfer, or raises if the
request differs) and moves the running totals of the member accounts involved, in account-id order so that
concurrent postings lock rows in the same order and cannot deadlock. A debit that would overdraw a
``no_overdraft`` account matches no row and raises ``InsufficientBalance``; the CHECK constraint on the table is
the database's own last word on the same rule. Must run inside ``transaction.atomic``.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

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


def _existing(install_id: int, key: str, expected: dict[str, Any]) -> Posted:
    transfer = Transfer.objects.get(install_id=install_id, idempotency_key=key)
    for field, value in expected.items():
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
    """Post a transfer (or place a pending one with ``pending=True``)."""
    _check(install_id, debit, credit, amount)
    if not key or len(key) > 255:
        raise InvalidTransfer("an idempotency key of 1-255 characters is required")
    phase = TransferPhase.PENDING if pending else TransferPhase.POSTED
    transfer_id = _insert(
        install_id=install_id,
        idempotency_key=key,
        kind=kind,
        phase=phase,
        debit_account_id=debit.pk,
        credit_account_id=credit.pk,
        amount=amount,
        unit=debit.unit,
        reverses_id=reverses_id,
        member_id=member_id,
        order_id=order_id,
        lot_id=lot_id,
        memo=memo,
    )
    if transfer_id is None:
        return _existing(
            install_id,
            key,
            {
                "kind": kind,
                "phase": phase,
                "debit_account_id": debit.pk,
                "credit_account_id": credit.pk,
                "amount": amount,
            },
        )
    suffix = "pending" if pending else "posted"
    moves = [
        (debit, {f"debits_{suffix}": amount}, amount),
        (credit, {f"credits_{suffix}": amount}, 0),
    ]
    for account, deltas, guard in sorted(moves, key=lambda m: m[0].pk):
        _move(account, deltas, guard)
    LEDGER_POSTINGS.labels(kind=str(kind)).inc()
    return Posted(transfer_id, created=True)


def resolve_pending(*, pending_id: int, key: str, post_amount: int | None) -> Posted:
    """Resolve a pending transfer exactly once.

    ``post_amount=None`` voids it; an integer posts that much (at most the pending amount) and releases the rest.
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
        order_id=pending.order_id,
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
