"""Manual point adjustments: a merchant crediting goodwill points or undoing a mistake.

The one write path for them, shared by the operator command now and the dashboard's customer panel later. Every
adjustment is a ledger transfer of kind ``adjust`` carrying who made it and why, under an idempotency key, so a
retried request never adjusts twice and the shopper's history shows it as ``ADJUSTED``.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.errors import InsufficientBalance
from saleor_loyalty.ledger.queries import Balances, member_balances
from saleor_loyalty.members.actions import current
from saleor_loyalty.members.models import Member

from .expiry import lot_expiry
from .rules import program_settings

logger = logging.getLogger(__name__)

MAX_ADJUSTMENT = 10_000_000
MAX_REASON_LENGTH = 500


@dataclass
class AdjustmentError(Exception):
    code: str  # INVALID, INSUFFICIENT_POINTS
    message: str
    field: str | None = None  # the input it is about: points, reason, key


def adjust_points(member: Member, *, points: int, reason: str, actor: str, key: str) -> Balances:
    """Add (positive) or deduct (negative) points now. A deduction takes only available points: never held or
    pending ones, never below zero. A guest member merged into an account is adjusted on that account."""
    if isinstance(points, bool) or not isinstance(points, int) or points == 0 or abs(points) > MAX_ADJUSTMENT:
        raise AdjustmentError("INVALID", f"points must be a non-zero whole number within ±{MAX_ADJUSTMENT:,}", "points")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise AdjustmentError("INVALID", f"a reason of 1 to {MAX_REASON_LENGTH} characters is required", "reason")
    if not key:
        raise AdjustmentError("INVALID", "an idempotency key is required", "key")
    member = current(Member.objects.get(pk=member.pk))  # fresh: a merge may have happened since it was loaded
    try:
        with transaction.atomic():
            transfer_id = ledger.adjust(
                member=member,
                points=points,
                key=key,
                reason=reason,
                actor=actor,
                expires_at=lot_expiry(program_settings(member.install), timezone.now()),  # as any other lot
            )
    except InsufficientBalance as exc:
        available = member_balances(member).available
        raise AdjustmentError(
            "INSUFFICIENT_POINTS", f"only {available} points are available to deduct", "points"
        ) from exc
    logger.info(
        "points adjusted",
        extra={"data": {"member_id": member.pk, "points": points, "actor": actor, "transfer_id": transfer_id}},
    )
    return member_balances(member)
