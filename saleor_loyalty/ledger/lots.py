"""Which lots a debit consumes, and giving them back.

Debits take from the lots of the debited account, the soonest to expire first, oldest first; a clawback first
takes back the very lots its order earned (``consume_order_lots``). Every change is recorded as a
``LotMovement`` so a reversal can restore exactly the same lots, with their original expiry.
"""

from django.db import connection
from django.db.models import F, Q

from saleor_loyalty.core import db

from .models import Account, Lot, LotMovement

_BATCH = 50
_TAKE_SQL = (
    "UPDATE ledger_lot SET remaining = remaining - v.take "
    "FROM (VALUES {rows}) AS v(id, take) WHERE ledger_lot.id = v.id"
)


def _take(takes: list[tuple[int, int]], transfer_id: int) -> None:
    """Take from several lots in one UPDATE, and record the movements."""
    if not takes:
        return
    if connection.vendor == "postgresql":
        rows = ", ".join(["(%s::bigint, %s::bigint)"] * len(takes))
        with connection.cursor() as cursor:
            cursor.execute(_TAKE_SQL.format(rows=rows), [value for pair in takes for value in pair])
    else:  # SQLite (first runs): no VALUES aliases in UPDATE ... FROM
        for lot_id, take in takes:
            Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") - take)
    LotMovement.objects.bulk_create([LotMovement(transfer_id=transfer_id, lot_id=lot, delta=-n) for lot, n in takes])


def consume(account: Account, amount: int, transfer_id: int) -> int:
    """Take ``amount`` points from the account's lots, soonest expiry first; returns how many were found.

    Locks only the lots it needs, a batch at a time (a long-time member may have thousands of lots).
    """
    left = amount
    while left > 0:
        # Lots a previous batch emptied no longer match, so each batch starts where the last one ended.
        lots = list(
            Lot.objects.select_for_update()
            .filter(account=account, remaining__gt=0)
            .order_by(F("expires_at").asc(nulls_last=True), "earned_at", "id")
            .only("id", "remaining")[:_BATCH]
        )
        takes = []
        for lot in lots:
            if left == 0:
                break
            take = min(left, lot.remaining)
            takes.append((lot.pk, take))
            left -= take
        _take(takes, transfer_id)
        if len(lots) < _BATCH:
            break
    return amount - left


# ``consume_order_lots`` on PostgreSQL: the order's lots with points left, newest first, locked; what each gives
# (all it has until ``amount`` is reached: a running sum of the lots before it); the takes and their movements.
_CONSUME_ORDER_LOTS = """
WITH picked AS MATERIALIZED (
    SELECT id, remaining, earned_at FROM ledger_lot
    WHERE account_id = %(account)s AND order_id = %(order)s AND remaining > 0
    ORDER BY earned_at DESC, id DESC
    FOR UPDATE
), takes AS (
    SELECT id, least(remaining, %(amount)s - coalesce(sum(remaining) OVER (
        ORDER BY earned_at DESC, id DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)) AS take
    FROM picked
), taken AS (
    UPDATE ledger_lot l SET remaining = l.remaining - t.take FROM takes t
    WHERE l.id = t.id AND t.take > 0
    RETURNING l.id, t.take
), moved AS (
    INSERT INTO ledger_lot_movement (transfer_id, lot_id, delta) SELECT %(transfer)s, id, -take FROM taken
    RETURNING delta
)
SELECT coalesce(-sum(delta), 0) FROM moved
"""


def consume_order_lots(account: Account, order_id: str, amount: int, transfer_id: int) -> int:
    """Take up to ``amount`` points from this order's own lots in the account, the newest first; returns how many
    were taken. One statement on PostgreSQL (every refund and cancellation takes its order's lots back)."""
    if connection.vendor == "postgresql":
        row = db.fetchone(
            _CONSUME_ORDER_LOTS, {"account": account.pk, "order": order_id, "amount": amount, "transfer": transfer_id}
        )
        return int(row[0]) if row else 0
    left = amount
    movements = []
    for lot in (
        Lot.objects.select_for_update()
        .filter(account=account, order_id=order_id, remaining__gt=0)
        .order_by("-earned_at", "-id")
    ):
        if left == 0:
            break
        take = min(left, lot.remaining)
        Lot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - take)
        movements.append(LotMovement(transfer_id=transfer_id, lot_id=lot.pk, delta=-take))
        left -= take
    LotMovement.objects.bulk_create(movements)
    return amount - left


def order_lot_points(account: Account, order_id: str) -> int:
    return sum(Lot.objects.filter(account=account, order_id=order_id).values_list("remaining", flat=True))


def restorable(original_transfer_id: int) -> int:
    """Points a transfer took from lots that no reversal has given back yet."""
    taken = -sum(
        LotMovement.objects.filter(transfer_id=original_transfer_id, delta__lt=0).values_list("delta", flat=True)
    )
    given = sum(
        LotMovement.objects.filter(
            Q(transfer__pending_id=original_transfer_id) | Q(transfer__reverses_id=original_transfer_id), delta__gt=0
        ).values_list("delta", flat=True)
    )
    return max(0, taken - given)


def restore(original_transfer_id: int, reversing_transfer_id: int, amount: int | None = None) -> int:
    """Give back (up to ``amount`` of) what a transfer took from its lots, the last-consumed lot first.

    What earlier reversals of the same transfer (its resolutions, and transfers that ``reverses`` it) gave back
    is deducted first, so partial captures and repeated partial refunds never restore a point twice.
    """
    taken: dict[int, int] = {}
    order: list[int] = []
    for movement in LotMovement.objects.filter(transfer_id=original_transfer_id, delta__lt=0).order_by("-id"):
        taken[movement.lot_id] = taken.get(movement.lot_id, 0) - movement.delta
        order.append(movement.lot_id)
    given = LotMovement.objects.filter(
        Q(transfer__pending_id=original_transfer_id) | Q(transfer__reverses_id=original_transfer_id),
        delta__gt=0,
    ).exclude(transfer_id=reversing_transfer_id)
    for movement in given:
        taken[movement.lot_id] = taken.get(movement.lot_id, 0) - movement.delta
    left = amount
    restored = 0
    movements = []
    for lot_id in order:
        give = taken[lot_id] if left is None else min(left, taken[lot_id])
        if give <= 0:
            continue
        Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") + give)
        movements.append(LotMovement(transfer_id=reversing_transfer_id, lot_id=lot_id, delta=give))
        restored += give
        if left is not None:
            left -= give
            if left == 0:
                break
    LotMovement.objects.bulk_create(movements)
    return restored
