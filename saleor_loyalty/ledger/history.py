"""A member's points activity, as a shopper reads it: what happened and how it changed their balance."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from saleor_loyalty.core import db
from saleor_loyalty.members.models import Member

from .models import POINTS, AccountCode, Transfer, TransferKind, TransferPhase


@dataclass(frozen=True)
class Activity:
    id: int
    kind: str  # EARNED, UNLOCKED, CLAWED_BACK, REDEMPTION_HELD, REDEEMED, REDEMPTION_RELEASED, ...
    points: int
    balance_change: int  # effect on available + pending + held - owed
    order_id: str | None
    created_at: datetime


_REDEEM_PHASES = {
    TransferPhase.PENDING: ("REDEMPTION_HELD", 0),
    TransferPhase.POST_PENDING: ("REDEEMED", -1),
    TransferPhase.VOID_PENDING: ("REDEMPTION_RELEASED", 0),
    TransferPhase.POSTED: ("REDEEMED", -1),
}
_KINDS = {  # kind -> (activity, sign of the balance change)
    TransferKind.EARN: ("EARNED", 1),
    TransferKind.UNLOCK: ("UNLOCKED", 0),
    TransferKind.CLAWBACK: ("CLAWED_BACK", -1),
    TransferKind.DEBT: ("CLAWED_BACK", -1),
    TransferKind.WRITE_OFF: ("CLAWBACK_FORGIVEN", 0),
    TransferKind.DEBT_REPAYMENT: ("DEBT_REPAID", 0),
    TransferKind.REDEEM_RETURN: ("REDEMPTION_RETURNED", 1),
    TransferKind.EXPIRE: ("EXPIRED", -1),
}


def _describe(
    kind: str, phase: str, amount: int, member_id: int | None, credit_member_id: int | None, credit_code: str
) -> tuple[str, int]:
    """The activity kind and the signed change to the shopper's balance for one transfer (of ``member_id``,
    crediting an account of ``credit_member_id`` with ``credit_code``)."""
    if kind == TransferKind.REDEEM:
        activity, sign = _REDEEM_PHASES[TransferPhase(phase)]
    elif kind in (TransferKind.MERGE, TransferKind.ADJUST):
        activity = "MERGED" if kind == TransferKind.MERGE else "ADJUSTED"
        credited_member = credit_member_id == member_id
        sign = -1 if credit_code == AccountCode.POINTS_DEBT or not credited_member else 1
    else:
        activity, sign = _KINDS.get(TransferKind(kind), (str(kind).upper(), 0))
    return activity, sign * amount


# Activity is read on every widget and history page: a fixed-shape statement (core/db.py says why not the ORM).
_ACTIVITY_SQL = (
    "SELECT t.id, t.kind, t.phase, t.amount, t.member_id, c.member_id, c.code, t.order_id, t.created_at"
    " FROM ledger_transfer t JOIN ledger_account c ON c.id = t.credit_account_id WHERE {where}"
    " ORDER BY t.id {direction} LIMIT %s"
)
_CREATED_AT = Transfer._meta.get_field("created_at")


def _activity(where: str, params: Sequence[object], *, newest_first: bool, limit: int) -> list[Activity]:
    sql = _ACTIVITY_SQL.format(where=where, direction="DESC" if newest_first else "ASC")
    activity = []
    for id_, kind, phase, amount, member_id, credit_member_id, credit_code, order_id, created_at in db.fetchall(
        sql, [*params, limit]
    ):
        change = _describe(kind, phase, amount, member_id, credit_member_id, credit_code)
        activity.append(Activity(id_, change[0], amount, change[1], order_id, db.convert(_CREATED_AT, created_at)))
    return activity


def member_activity(
    member: Member, *, limit: int, after_id: int | None = None, before_id: int | None = None, newest_first: bool = True
) -> list[Activity]:
    """Activity in pages by transfer id (keyset pagination: stable while new activity arrives). Points only: the
    member's rebate money (transfers in a currency) is in their rebate statements, not their points activity."""
    where, params = ["t.member_id = %s", "t.unit = %s"], [member.pk, POINTS]
    if after_id is not None:
        where.append("t.id < %s" if newest_first else "t.id > %s")
        params.append(after_id)
    if before_id is not None:
        where.append("t.id > %s" if newest_first else "t.id < %s")
        params.append(before_id)
    return _activity(" AND ".join(where), params, newest_first=newest_first, limit=limit)


def order_activity(install_id: int, order_id: str, *, limit: int = 100) -> list[Activity]:
    """Every points transfer about one order, oldest first: what it earned, spent, had clawed back and returned (its
    rebate, in money, is in the rebate statements)."""
    where = "t.install_id = %s AND t.order_id = %s AND t.unit = %s"
    return _activity(where, [install_id, order_id, POINTS], newest_first=False, limit=limit)
