"""The rebate money movements, each one ledger posting (or a few) and the period's counters that mirror it.

Every function posts through the ledger's single path (``ledger.posting``) with an idempotency key and moves the
period's counters by the same amounts, in memory: the caller holds the period's row lock and saves it in the same
transaction. Every transfer carries the period in its memo (``rebate_period``, ``period``, ``program``), so the
audit can total the ledger by period and compare.

Settlement's movements (release, netting, a payout's hold) are written set-based, for a batch of periods at once,
by ``bulk.settle_periods``: the same transfers and counters, in SQL.
"""

from dataclasses import dataclass
from typing import Any

from saleor_loyalty.ledger.models import TransferKind
from saleor_loyalty.ledger.posting import post, resolve_pending

from .accounts import RebateAccounts
from .models import RebatePeriod, RecoveryPolicy


def memo(period: RebatePeriod, **extra: Any) -> dict[str, Any]:
    return {"rebate_period": period.pk, "period": period.period, "program": period.program_id, **extra}


def accrue(period: RebatePeriod, accounts: RebateAccounts, *, amount: int, key: str, order_id: str | None) -> None:
    """Money the period now earns on top of what it held: pending through the return window."""
    post(
        install_id=period.install_id,
        key=key,
        kind=TransferKind.REBATE_ACCRUE,
        debit=accounts.accrued,
        credit=accounts.pending,
        amount=amount,
        member_id=period.member_id,
        order_id=order_id,
        memo=memo(period),
    )
    period.accrued += amount
    period.pending += amount


@dataclass(frozen=True)
class Reversal:
    from_pending: int
    from_payable: int
    recoverable: int  # already paid out: now owed back by the member
    written_off: int  # already paid out: absorbed by the program


def reverse(
    period: RebatePeriod, accounts: RebateAccounts, *, amount: int, key: str, order_id: str | None, policy: str
) -> Reversal:
    """Money the period no longer earns: from its pending, then its payable; what was already paid out becomes a
    recoverable balance netted against later rebates, or (``write_off``) the program's loss."""
    from_pending = min(amount, period.pending)
    from_payable = min(amount - from_pending, period.payable)
    rest = amount - from_pending - from_payable
    legs = [("pending", accounts.pending, from_pending), ("payable", accounts.payable, from_payable)]
    for name, account, part in legs:
        if part:
            post(
                install_id=period.install_id,
                key=f"{key}:{name}",
                kind=TransferKind.REBATE_REVERSE,
                debit=account,
                credit=accounts.accrued,
                amount=part,
                member_id=period.member_id,
                order_id=order_id,
                memo=memo(period),
            )
    write_off = policy == RecoveryPolicy.WRITE_OFF
    if rest:
        post(
            install_id=period.install_id,
            key=f"{key}:{'write_off' if write_off else 'recoverable'}",
            kind=TransferKind.WRITE_OFF if write_off else TransferKind.REBATE_RECOVERABLE,
            debit=accounts.written_off if write_off else accounts.recoverable,
            credit=accounts.accrued,
            amount=rest,
            member_id=period.member_id,
            order_id=order_id,
            memo=memo(period),
        )
    period.accrued -= amount
    period.pending -= from_pending
    period.payable -= from_payable
    period.written_off += rest if write_off else 0
    period.recovery_raised += 0 if write_off else rest
    return Reversal(from_pending, from_payable, 0 if write_off else rest, rest if write_off else 0)


def settle_payout(
    period: RebatePeriod, *, hold_id: int, amount: int, key: str, paid: bool, paid_amount: int | None = None
) -> None:
    """The payer answered: post the hold (paid; ``paid_amount`` of it when only part could be paid, the rest is
    payable again), or void it (failed: the money is payable again)."""
    posted = (amount if paid_amount is None else paid_amount) if paid else 0
    if not 0 <= posted <= amount or (paid and posted == 0):
        raise ValueError(f"cannot post {posted} of a payout of {amount}")
    resolve_pending(pending_id=hold_id, key=key, post_amount=posted if paid else None)
    period.paid -= amount - posted
    period.payable += amount - posted
