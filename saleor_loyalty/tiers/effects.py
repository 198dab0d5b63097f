"""What follows a tier change: the upgrade bonus, the email, and the Saleor metadata mirror.

``tiers_change`` rows are the outbox. Whoever creates them (an order, a pin, the review) calls
``apply_changes`` in the same transaction; ``apply_pending_effects`` (Celery beat) finishes any left over.
Each effect is idempotent on its own — the bonus by its ledger key, the email by its notification key, the
mirror because it writes the member's *current* state — and ``effects_applied`` marks the row done.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member
from saleor_loyalty.notifications.actions import notify
from saleor_loyalty.notifications.models import NotificationKind
from saleor_loyalty.program.issuing import issue_points
from saleor_loyalty.program.rules import program_settings

from .metadata import mirror_tier_metadata
from .models import ChangeReason, Tier, TierChange, TierSettings, WindowKind
from .queries import base_tier

logger = logging.getLogger(__name__)
BONUS_SOURCE = "tier_bonus"


def qualification_period(settings_row: TierSettings | None, at: datetime) -> str:
    """The period a bonus is given once in: the calendar year, or a fixed bucket of the rolling window's length."""
    at = at.astimezone(UTC)
    if settings_row is None or settings_row.window_kind == WindowKind.CALENDAR_YEAR:
        return f"{at.year}"
    epoch_days = (at - datetime(1970, 1, 1, tzinfo=UTC)).days
    return f"w{settings_row.window_days}:{epoch_days // settings_row.window_days}"


def bonus_key(member_id: int, tier_id: int, period: str) -> str:
    return f"tier_bonus:{member_id}:{tier_id}:{period}"


def apply_changes(change_ids: Iterable[int]) -> None:
    """Apply the effects of these changes now (inside the caller's transaction)."""
    for change_id in change_ids:
        apply_change(change_id)


def apply_change(change_id: int) -> bool:
    """Bonus, email and mirror for one change, once. Must run inside ``transaction.atomic``."""
    change = (
        TierChange.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("from_tier", "to_tier", "member")
        .filter(pk=change_id, effects_applied=False)
        .first()
    )
    if change is None:
        return False
    if change.is_upgrade and change.reason not in (ChangeReason.PIN, ChangeReason.PAID):  # points not for sale
        _grant_bonuses(change)
    _announce_tier_change(change)
    member_id = change.member_id

    def mirror_after_commit() -> None:  # a named function: Django logs robust callbacks by __qualname__
        _enqueue_mirror(member_id)

    transaction.on_commit(mirror_after_commit, robust=True)
    TierChange.objects.filter(pk=change.pk).update(effects_applied=True)
    return True


def _grant_bonuses(change: TierChange) -> None:
    """Each tier reached by this upgrade gives its bonus, once per member, tier and qualification period."""
    if change.to_tier is None:
        return
    from_rank = change.from_tier.rank if change.from_tier else 0
    tiers = Tier.objects.filter(
        install_id=change.install_id,
        rank__gt=from_rank,
        rank__lte=change.to_tier.rank,
        bonus_points__gt=0,
        is_active=True,
    ).order_by("rank")
    if not tiers:
        return
    settings_row = TierSettings.objects.filter(install_id=change.install_id).first()
    period = qualification_period(settings_row, change.at)
    member = Member.objects.select_for_update().get(pk=members.current(change.member).pk)
    program = program_settings(member.install)
    now = timezone.now()
    # Pending through the return window, like order points: a bonus from an order refunded at once is not
    # spendable before the refund lands (it is not taken back; its key stops it being given twice).
    unlocks_at = now + timedelta(days=program.return_window_days)
    for tier in tiers:
        issue_points(
            member,
            program,
            points=tier.bonus_points,
            key=bonus_key(member.pk, tier.pk, period),
            source=BONUS_SOURCE,
            rule={"tier_id": tier.pk, "tier": tier.name, "period": period, "change_id": change.pk},
            unlocks_at=unlocks_at,
        )


def _announce_tier_change(change: TierChange) -> None:
    """Email the shopper about the change (TIER_UP / TIER_DOWN), once per change."""
    kind = NotificationKind.TIER_UP if change.is_upgrade else NotificationKind.TIER_DOWN
    base = base_tier(change.install_id)  # "no tier" is the base tier, when the program has one
    to_tier, from_tier = change.to_tier or base, change.from_tier or base
    notify(
        change.member,
        kind,
        key=f"{kind.value}:{change.pk}",
        context={
            "tier_name": to_tier.name if to_tier else "",
            "previous_tier_name": from_tier.name if from_tier else "",
            "perks": list(to_tier.perks) if to_tier else [],
        },
    )


def _enqueue_mirror(member_id: int) -> None:
    mirror_tier_metadata.delay(member_id)


def apply_each(change_ids: Iterable[int]) -> int:
    """Apply effects change by change, each in its own transaction; a failing one is logged and left pending."""
    done = 0
    for change_id in change_ids:
        try:
            with transaction.atomic():
                done += apply_change(change_id)
        except Exception:
            logger.exception("tier change effects failed", extra={"data": {"change_id": change_id}})
    return done


def apply_pending_effects(batch_size: int = 500) -> int:
    """Apply effects of changes nobody applied yet (e.g. after a crash), oldest first. Idempotent."""
    pending = TierChange.objects.filter(effects_applied=False).order_by("id").values_list("pk", flat=True)
    return apply_each(list(pending[:batch_size]))
