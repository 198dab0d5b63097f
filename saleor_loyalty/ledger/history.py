"""A member's points activity, as a shopper reads it: what happened and how it changed their balance."""

from dataclasses import dataclass
from datetime import datetime

from saleor_loyalty.members.models import Member

from .models import AccountCode, Transfer, TransferKind, TransferPhase


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


def describe(transfer: Transfer) -> tuple[str, int]:
    """The activity kind and the signed change to the shopper's balance for one transfer."""
    if transfer.kind == TransferKind.REDEEM:
        kind, sign = _REDEEM_PHASES[TransferPhase(transfer.phase)]
    elif transfer.kind in (TransferKind.MERGE, TransferKind.ADJUST):
        kind = "MERGED" if transfer.kind == TransferKind.MERGE else "ADJUSTED"
        credited_member = transfer.credit_account.member_id == transfer.member_id
        sign = -1 if transfer.credit_account.code == AccountCode.POINTS_DEBT or not credited_member else 1
    else:
        kind, sign = _KINDS.get(TransferKind(transfer.kind), (str(transfer.kind).upper(), 0))
    return kind, sign * transfer.amount


def member_activity(
    member: Member, *, limit: int, after_id: int | None = None, before_id: int | None = None, newest_first: bool = True
) -> list[Activity]:
    """Activity in pages by transfer id (keyset pagination: stable while new activity arrives)."""
    transfers = Transfer.objects.filter(member=member).select_related("credit_account")
    if after_id is not None:
        transfers = transfers.filter(id__lt=after_id) if newest_first else transfers.filter(id__gt=after_id)
    if before_id is not None:
        transfers = transfers.filter(id__gt=before_id) if newest_first else transfers.filter(id__lt=before_id)
    activity = []
    for transfer in transfers.order_by("-id" if newest_first else "id")[:limit]:
        kind, change = describe(transfer)
        activity.append(Activity(transfer.pk, kind, transfer.amount, change, transfer.order_id, transfer.created_at))
    return activity


def order_activity(install_id: int, order_id: str, *, limit: int = 100) -> list[Activity]:
    """Every transfer about one order, oldest first: what it earned, spent, had clawed back and returned."""
    transfers = (
        Transfer.objects.filter(install_id=install_id, order_id=order_id)
        .select_related("credit_account")
        .order_by("id")[:limit]
    )
    activity = []
    for transfer in transfers:
        kind, change = describe(transfer)
        activity.append(Activity(transfer.pk, kind, transfer.amount, change, transfer.order_id, transfer.created_at))
    return activity
