"""Issuing points for the program: the one place a lot's expiry is decided.

Every feature that gives points — orders and their carried fractions, sign-up, first-order and tier bonuses,
custom events, referrals — issues them here, so the merchant's expiry policy stamps every lot alike (under
``after_earning`` a lot without ``expires_at`` would never expire).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.accounts import MemberAccounts
from saleor_loyalty.ledger.models import Lot
from saleor_loyalty.members.models import Member

from .expiry import lot_expiry
from .models import ProgramSettings


def issue_points(
    member: Member,
    program: ProgramSettings,
    *,
    points: int,
    key: str,
    source: str,
    order_id: str | None = None,
    rule: dict[str, Any] | None = None,
    unlocks_at: datetime | None = None,
    accounts: MemberAccounts | None = None,
    totals: ledger.MemberTotals | None = None,
) -> Lot:
    """Earn ``points`` for the member as a lot expiring by the program's policy (see ``ledger.actions.earn``)."""
    earning = ledger.Earning(points=points, key=key, source=source, rule=rule)
    (lot,) = issue_many(
        member, program, [earning], order_id=order_id, unlocks_at=unlocks_at, accounts=accounts, totals=totals
    )
    return lot


def issue_many(
    member: Member,
    program: ProgramSettings,
    earnings: Sequence[ledger.Earning],
    *,
    order_id: str | None = None,
    unlocks_at: datetime | None = None,
    accounts: MemberAccounts | None = None,
    totals: ledger.MemberTotals | None = None,
) -> list[Lot]:
    """Several lots that unlock together (an order's points and its carried fractions), expiring by the program's
    policy, in one posting (see ``ledger.actions.earn_many``)."""
    return ledger.earn_many(
        member=member,
        earnings=earnings,
        order_id=order_id,
        unlocks_at=unlocks_at,
        expires_at=lot_expiry(program, timezone.now()),
        accounts=accounts,
        totals=totals,
    )
