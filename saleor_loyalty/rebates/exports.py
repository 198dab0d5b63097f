"""A period's statements for the whole store, as movements to export (the dashboard's CSV download).

Read in batches of members (a few statements per batch, whatever the period's size), so a large period streams
out in bounded memory. Per member and program: one ``member`` line (the period row: spend, accrued, reversed,
where the money is now), one ``order`` line per order (the rebate changes it caused, read from the ledger's
transfers as the statement reads them) and one ``payout`` line per payout (amount, method, state, reference).
The ``order`` lines' accrued minus reversed add up to the ``member`` line's rebate, and the store's lines to the
audit's totals.
"""

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from saleor_loyalty.core.money import from_minor_units, quantum
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.models import Transfer, TransferKind

from .models import RebateOrder, RebatePayout, RebatePeriod
from .queries import REVERSING

BATCH = 500


@dataclass(frozen=True)
class Movement:
    period: str
    channel: str
    currency: str
    customer_id: str  # the Saleor user id ("" for a guest)
    email: str
    line: str  # member | order | payout
    order_id: str = ""
    order_number: str = ""
    spend: Decimal | None = None
    accrued: Decimal | None = None  # member: accruals posted; order: those it caused
    reversed: Decimal | None = None
    rebate: Decimal | None = None  # member: accrued − reversed
    pending: Decimal | None = None
    payable: Decimal | None = None
    paid: Decimal | None = None  # member: paid or on its way; payout: its amount
    netted: Decimal | None = None
    owed: Decimal | None = None  # reversed after payout, owed back (``recovery_raised``)
    written_off: Decimal | None = None
    method: str = ""
    state: str = ""
    reference: str = ""
    at: datetime | None = None  # order: placed; payout: settled (else created)


def statement_movements(install: Install, period: str, *, batch: int = BATCH) -> Iterator[Movement]:
    """Every member's statement for ``period``, member by member (by the period rows' id)."""
    last = 0
    while True:
        rows = list(
            RebatePeriod.objects.filter(install=install, period=period, pk__gt=last)
            .select_related("program", "member")
            .order_by("pk")[:batch]
        )
        if not rows:
            return
        last = rows[-1].pk
        yield from _batch(install, rows)


def _batch(install: Install, rows: list[RebatePeriod]) -> Iterator[Movement]:
    ids = [row.pk for row in rows]
    moved: dict[tuple[int, str, str | None], int] = {}  # (period row, accrued | reversed | kind, order) -> units
    totals: dict[tuple[int, str], int] = {}
    for period_id, kind, order_id, total in (
        Transfer.objects.filter(  # the batch's members' own transfers, by index (the memo alone reads them all)
            install_id=install.pk, member_id__in=sorted({row.member_id for row in rows}), memo__rebate_period__in=ids
        )
        .values_list("memo__rebate_period", "kind", "order_id")
        .annotate(total=Sum("amount"))
    ):
        group = "reversed" if kind in REVERSING else "accrued" if kind == TransferKind.REBATE_ACCRUE else kind
        key = (int(period_id), group, order_id)
        moved[key] = moved.get(key, 0) + int(total)
        totals[key[:2]] = totals.get(key[:2], 0) + int(total)
    orders: dict[int, list[RebateOrder]] = {}
    for order in RebateOrder.objects.filter(period_id__in=ids).order_by("placed_at", "pk"):
        orders.setdefault(order.period_id, []).append(order)
    payouts: dict[int, list[RebatePayout]] = {}
    for payout in RebatePayout.objects.filter(period_id__in=ids).order_by("created_at", "pk"):
        payouts.setdefault(payout.period_id, []).append(payout)
    for row in rows:
        currency = row.currency

        def money(units: int, currency: str = currency) -> Decimal:
            return from_minor_units(units, currency)

        who = Movement(
            period=row.period,
            channel=row.program.channel_slug,
            currency=currency,
            customer_id=row.member.saleor_user_id or "",
            email=row.member.email,
            line="member",
        )
        accrued, reversed_ = totals.get((row.pk, "accrued"), 0), totals.get((row.pk, "reversed"), 0)
        yield replace(
            who,
            spend=row.spend.quantize(quantum(currency)),
            accrued=money(accrued),
            reversed=money(reversed_),
            rebate=money(accrued - reversed_),
            pending=money(row.pending),
            payable=money(row.payable),
            paid=money(row.paid),
            netted=money(row.netted),
            owed=money(row.recovery_raised),
            written_off=money(row.written_off),
        )
        for order in orders.get(row.pk, []):
            yield replace(
                who,
                line="order",
                order_id=order.order_id,
                order_number=order.order_number,
                spend=order.spend.quantize(quantum(currency)),
                accrued=money(moved.get((row.pk, "accrued", order.order_id), 0)),
                reversed=money(moved.get((row.pk, "reversed", order.order_id), 0)),
                at=order.placed_at,
            )
        for payout in payouts.get(row.pk, []):
            yield replace(
                who,
                line="payout",
                paid=money(payout.amount),
                method=payout.method,
                state=payout.state,
                reference=payout.reference,
                at=payout.settled_at or payout.created_at,
            )
