"""A member's rebate accounts in one currency, and the program's: money accounts of the ledger (minor units).

Member: ``rebate_pending`` (accrued, in the return window) and ``rebate_payable`` can never go below zero;
``rebate_recoverable`` goes below zero by what the member owes after money already paid out was reversed.
Program: ``rebates_accrued`` (the program's expense: accruals come from it, reversals go back to it),
``rebates_paid`` (what left as payouts) and ``rebates_written_off`` (recoveries the program absorbed).
"""

from dataclasses import dataclass

from saleor_loyalty.ledger.accounts import member_accounts_in, program_account
from saleor_loyalty.ledger.models import Account, AccountCode
from saleor_loyalty.members.models import Member

_MEMBER_ACCOUNTS = {
    AccountCode.REBATE_PENDING: True,
    AccountCode.REBATE_PAYABLE: True,
    AccountCode.REBATE_RECOVERABLE: False,
}


@dataclass(frozen=True)
class RebateAccounts:
    pending: Account
    payable: Account
    recoverable: Account
    accrued: Account
    paid: Account
    written_off: Account


def rebate_accounts(member: Member, currency: str) -> RebateAccounts:
    """The member's and the program's rebate accounts in ``currency``, opened on first use."""
    install_id = member.install_id
    rows = member_accounts_in(member, currency, _MEMBER_ACCOUNTS)
    return RebateAccounts(
        pending=rows[AccountCode.REBATE_PENDING],
        payable=rows[AccountCode.REBATE_PAYABLE],
        recoverable=rows[AccountCode.REBATE_RECOVERABLE],
        accrued=program_account(install_id, AccountCode.REBATES_ACCRUED, currency),
        paid=program_account(install_id, AccountCode.REBATES_PAID, currency),
        written_off=program_account(install_id, AccountCode.REBATES_WRITTEN_OFF, currency),
    )
