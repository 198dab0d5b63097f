"""A tier held by a paid membership (``saleor_loyalty.memberships``): a floor beside the merchant's pin.

``hold_paid_tier`` sets ``MemberTier.paid_tier`` and moves the member up to it at once if they are below it (a
``paid`` change: announced and mirrored like any other, no upgrade bonus — points are not for sale). While it is
set, the review never moves the member below it (``review.py``: the floor is the higher of pin and paid tier), and
it still moves them above it when they qualify for more.

``release_paid_tier`` clears it. Unlike removing a pin, that takes effect at once: a member at or below the paid
tier's rank moves straight to what their orders earn (the review's qualify / retain ranks, never below the pin),
without the tier program's grace — the paid tier was never earned, and the membership had its own grace on failed
payments. A member above it (they earned more meanwhile) keeps their tier. Both are idempotent.
"""

import logging

from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.members import actions as members
from saleor_loyalty.members.models import Member

from . import effects, review
from .models import ChangeReason, MemberTier, Tier, TierChange

logger = logging.getLogger(__name__)


def _locked_state(member: Member) -> MemberTier:
    MemberTier.objects.get_or_create(member=member, defaults={"install_id": member.install_id})
    return MemberTier.objects.select_for_update(of=("self",)).select_related("tier", "paid_tier").get(member=member)


def hold_paid_tier(member: Member, tier: Tier, *, note: str = "") -> bool:
    """Hold the member at ``tier`` or above while a membership lasts. True when their tier changed now."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=members.current(member).pk)
        if tier.install_id != member.install_id:
            raise ValueError("the tier belongs to another store")
        state = _locked_state(member)
        state.paid_tier = tier
        current_rank = state.tier.rank if state.tier else 0
        if tier.rank <= current_rank:
            if tier.rank == current_rank:
                state.below_since = None  # the floor keeps it: no grace clock runs
            state.save()
            return False
        now = timezone.now()
        change = TierChange.objects.create(
            install_id=member.install_id,
            member=member,
            from_tier=state.tier,
            to_tier=tier,
            is_upgrade=True,
            reason=ChangeReason.PAID,
            note=note[:255],
            at=now,
        )
        state.tier, state.tier_since, state.below_since = tier, now, None
        state.save()
        effects.apply_changes([change.pk])
    return True


def release_paid_tier(member: Member, *, note: str = "") -> bool:
    """End the paid floor: the member returns to the tier they earn (see the module docstring). True when their tier
    changed now."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=members.current(member).pk)
        state = MemberTier.objects.select_for_update(of=("self",)).select_related("paid_tier", "tier", "pinned_tier")
        found = state.filter(member=member).first()
        if found is None or found.paid_tier is None:
            return False
        released_rank = found.paid_tier.rank
        found.paid_tier = None
        found.save(update_fields=["paid_tier", "updated_at"])
        if connection.vendor == "postgresql":
            change_ids = review.run(
                now=timezone.now(),
                install_id=member.install_id,
                member_ids=[member.pk],
                upgrades_only=True,  # a member above the released rank is left to the nightly review
                reason=ChangeReason.PAID,
                released_rank=released_rank,
            )
            if note and change_ids:
                TierChange.objects.filter(pk__in=change_ids).update(note=note[:255])
        else:  # the embedded SQLite run has no review: back to the pin, or no tier
            change_ids = _release_without_review(member, found, released_rank, note)
        effects.apply_changes(change_ids)
    return bool(change_ids)


def _release_without_review(member: Member, state: MemberTier, released_rank: int, note: str) -> list[int]:
    logger.warning("tiers need PostgreSQL: a released paid tier falls back to the pin")
    current = state.tier
    if current is None or current.rank > released_rank or current == state.pinned_tier:
        return []
    now = timezone.now()
    change = TierChange.objects.create(
        install_id=member.install_id,
        member=member,
        from_tier=current,
        to_tier=state.pinned_tier,
        is_upgrade=False,
        reason=ChangeReason.PAID,
        note=note[:255],
        at=now,
    )
    state.tier, state.tier_since, state.below_since = state.pinned_tier, now, None
    state.save()
    return [change.pk]
