"""A membership's state, moved by what Stripe says — whatever order Stripe's events arrive in, and however often.

Rules (each write under the membership's row lock):

* **Which subscription.** A membership follows one subscription at a time. An event about another subscription is
  adopted only while the membership has none, or its subscription ended and the other one is newer (Stripe's
  ``created`` of the subscription); otherwise it is ignored (a late event of an old subscription).
* **Status by time.** ``status_at`` is Stripe's ``created`` of the newest event applied to the status; an event
  created before it changes nothing (ties apply: Stripe's clock has one-second resolution, and the states a tie
  can carry agree). ``canceled`` is final for a subscription: Stripe never revives a deleted one.
* **Periods only move forward.** ``current_period_end`` is replaced only by a later one.
* **The tier** is held while the membership is active, past due within its grace, or canceled before the end of
  what was paid for; ``end_lapsed`` (a periodic job) and the handlers release it once that is over.
* **Benefits** are recorded for a period when the membership is active in it, once per (subscription, period,
  benefit) by a unique key (``benefits.record_period``).
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.tiers.paid import hold_paid_tier, release_paid_tier

from . import benefits
from .models import Membership, MembershipStatus, PaidPlan

logger = logging.getLogger(__name__)
METADATA_INSTALL = "saleor_loyalty_install"
METADATA_MEMBER = "saleor_loyalty_member"
METADATA_PLAN = "saleor_loyalty_plan"

# Stripe's subscription statuses; ``incomplete`` (first payment under way) changes nothing.
_STATUS = {
    "active": MembershipStatus.ACTIVE,
    "trialing": MembershipStatus.ACTIVE,
    "past_due": MembershipStatus.PAST_DUE,
    "unpaid": MembershipStatus.PAST_DUE,
    "paused": MembershipStatus.PAST_DUE,
    "canceled": MembershipStatus.CANCELED,
    "incomplete_expired": MembershipStatus.CANCELED,
}


def moment(value: Any) -> datetime | None:
    """A Stripe timestamp (unix seconds) as an aware datetime."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


@dataclass(frozen=True)
class SubscriptionView:
    id: str
    customer: str
    status: str
    created: datetime | None
    period_start: datetime | None
    period_end: datetime | None
    cancel_at_period_end: bool
    metadata: dict[str, str]


def subscription_view(data: dict[str, Any]) -> SubscriptionView:
    """A subscription as Stripe sends it: the period on its item (API 2025-03 and later) or on itself (before)."""
    items = ((data.get("items") or {}).get("data")) or [{}]
    item = items[0] if isinstance(items[0], dict) else {}
    customer = data.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    metadata = data.get("metadata") or {}
    return SubscriptionView(
        id=str(data.get("id") or ""),
        customer=str(customer or ""),
        status=str(data.get("status") or ""),
        created=moment(data.get("created")),
        period_start=moment(item.get("current_period_start") or data.get("current_period_start")),
        period_end=moment(item.get("current_period_end") or data.get("current_period_end")),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
    )


def membership_named(install_id: int, metadata: dict[str, str]) -> Membership | None:
    """The membership our metadata names, if it names one of this store (two stores may share a Stripe account:
    each gets the other's events, and ignores them)."""
    if metadata.get(METADATA_INSTALL) != str(install_id):
        return None
    member = metadata.get(METADATA_MEMBER, "")
    if not member.isdigit():
        return None
    return Membership.objects.filter(install_id=install_id, member_id=int(member)).first()


def plan_named(install_id: int, metadata: dict[str, str]) -> PaidPlan | None:
    plan = metadata.get(METADATA_PLAN, "")
    return PaidPlan.objects.filter(install_id=install_id, pk=int(plan)).first() if plan.isdigit() else None


def lock(membership: Membership) -> Membership:
    return Membership.objects.select_for_update().select_related("plan", "plan__tier", "member").get(pk=membership.pk)


def _adopts(membership: Membership, sub: SubscriptionView) -> bool:
    if sub.id == membership.subscription_id:
        return False
    if not membership.subscription_id:
        return True
    return membership.status == MembershipStatus.CANCELED and _newer(sub.created, membership.status_at)


def _newer(created: datetime | None, than: datetime | None) -> bool:
    return created is not None and (than is None or created >= than)


def apply_subscription(
    membership: Membership, sub: SubscriptionView, at: datetime, plan: PaidPlan | None = None, paid: bool = False
) -> Membership:
    """Bring the membership to what ``sub`` (seen by an event created ``at``) says. Idempotent.

    ``paid``: a completed Checkout says the first period was paid — if the subscription's deletion overtook it,
    what was paid for still runs to the period's end."""
    with transaction.atomic():
        row = lock(membership)
        if _adopts(row, sub):
            if row.subscription_id:
                logger.info("membership follows a new subscription", extra={"data": {"membership": row.pk}})
            row.subscription_id = sub.id
            row.stripe_customer_id = sub.customer or row.stripe_customer_id
            row.plan = plan or plan_named(row.install_id, sub.metadata) or row.plan
            row.status_at = None
            row.current_period_start = row.current_period_end = None
            row.grace_until = None  # access_ends_at stays: what the last subscription paid for still runs
            row.cancel_at_period_end = False
            if row.status == MembershipStatus.CANCELED:
                row.status = MembershipStatus.INCOMPLETE
        elif sub.id != row.subscription_id:
            logger.warning(
                "event for a subscription the membership does not follow: ignored",
                extra={"data": {"membership": row.pk, "subscription": sub.id}},
            )
            return row
        if row.status == MembershipStatus.CANCELED:
            if paid and row.current_period_end and (row.access_ends_at or at) < row.current_period_end:
                row.access_ends_at = row.current_period_end
                row.save()
                _settle(row)
            return row  # final for this subscription
        if row.status_at is not None and at < row.status_at:
            return row  # an older event than what the membership already shows
        if sub.period_end is not None and (row.current_period_end is None or sub.period_end > row.current_period_end):
            row.current_period_start, row.current_period_end = sub.period_start, sub.period_end
        row.cancel_at_period_end = sub.cancel_at_period_end
        status = _STATUS.get(sub.status)
        if status is not None:
            _move(row, status, at)
        row.status_at = at
        row.save()
        _settle(row)
    return row


def payment_failed(membership: Membership, subscription_id: str, at: datetime) -> Membership:
    """A renewal (or a retry) was declined: past due, with the plan's grace from the first failure on."""
    with transaction.atomic():
        row = lock(membership)
        if subscription_id != row.subscription_id or row.status == MembershipStatus.CANCELED:
            return row
        if row.status_at is not None and at < row.status_at:
            return row
        _move(row, MembershipStatus.PAST_DUE, at)
        row.status_at = at
        row.save()
        _settle(row)
    return row


def _move(row: Membership, status: str, at: datetime) -> None:
    previous = row.status
    row.status = status
    if status == MembershipStatus.ACTIVE:
        row.grace_until = None
        row.access_ends_at = None
    elif status == MembershipStatus.PAST_DUE:
        if row.grace_until is None:  # the first failure starts the grace; retries do not extend it
            row.grace_until = at + timedelta(days=row.plan.grace_days)
    elif status == MembershipStatus.CANCELED:
        if previous == MembershipStatus.PAST_DUE and row.grace_until is not None:
            row.access_ends_at = min(row.grace_until, row.current_period_end or row.grace_until)
        elif previous == MembershipStatus.ACTIVE:
            row.access_ends_at = row.current_period_end or at  # what was paid for runs to its end
        else:
            row.access_ends_at = at


def entitled(row: Membership, now: datetime) -> bool:
    """Whether the membership holds the tier at ``now``."""
    if row.status == MembershipStatus.ACTIVE:
        return True
    if row.status == MembershipStatus.PAST_DUE:
        return row.grace_until is not None and row.grace_until > now
    return row.access_ends_at is not None and row.access_ends_at > now  # canceled, or a new one not paid yet


def _settle(row: Membership, now: datetime | None = None) -> None:
    """Hold or release the tier as the state says, and record the period's benefits (inside the row's lock)."""
    now = now or timezone.now()
    if entitled(row, now):
        if not row.tier_held or _held_tier_changed(row):
            hold_paid_tier(row.member, row.plan.tier, note=f"membership {row.plan.name}")
            Membership.objects.filter(pk=row.pk).update(tier_held=True)
            row.tier_held = True
    elif row.tier_held:
        release_paid_tier(row.member, note=f"membership {row.plan.name} ended ({row.status})")
        Membership.objects.filter(pk=row.pk).update(tier_held=False)
        row.tier_held = False
    if row.status == MembershipStatus.ACTIVE:
        benefits.record_period(row)


def _held_tier_changed(row: Membership) -> bool:
    """A new subscription of another plan: the floor moves to its tier."""
    state = getattr(row.member, "tier_state", None)
    return state is not None and state.paid_tier_id not in (None, row.plan.tier_id)


def end_lapsed(now: datetime | None = None, limit: int = 500) -> int:
    """Release the tier of memberships whose grace or paid period is over (the periodic job). Idempotent."""
    now = now or timezone.now()
    due = Membership.objects.filter(tier_held=True).exclude(status=MembershipStatus.ACTIVE)
    ended = 0
    for membership in due.order_by("pk")[:limit]:
        with transaction.atomic():
            row = lock(membership)
            if row.tier_held and not entitled(row, now):
                _settle(row, now)
                ended += 1
    return ended
