"""Reading referrals: a member's code, link and how their referrals are doing."""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from saleor_loyalty.members.models import Member

from .models import Referral, ReferralCode, ReferralProgram, ReferralStatus


@dataclass(frozen=True)
class ReferralStats:
    invited: int  # referees attached with the member's code, whatever happened next
    pending: int  # waiting for the referee's first paid order, or for its return window to pass
    converted: int  # rewarded: the first order was paid and kept through its return window
    held: int  # held for review
    rejected: int  # rejected on review, or voided by a refund or cancellation
    points_earned: int  # the member's referral points now unlocked
    points_pending: int  # the member's referral points still in a return window


def effective_status(referral: Referral) -> str:
    """QUALIFIED past its unlock time is REWARDED, even before the beat task has recorded it."""
    if (
        referral.status == ReferralStatus.QUALIFIED
        and referral.rewards_unlock_at is not None
        and referral.rewards_unlock_at <= timezone.now()
    ):
        return ReferralStatus.REWARDED.value
    return str(referral.status)


def referral_stats(member: Member) -> ReferralStats:
    counts = dict.fromkeys(ReferralStatus.values, 0)
    points = {ReferralStatus.QUALIFIED: 0, ReferralStatus.REWARDED: 0}
    for referral in Referral.objects.filter(referrer=member).only("status", "rewards_unlock_at", "referrer_points"):
        status = effective_status(referral)
        counts[status] += 1
        if status in points:
            points[ReferralStatus(status)] += referral.referrer_points
    return ReferralStats(
        invited=sum(counts.values()),
        pending=counts[ReferralStatus.PENDING] + counts[ReferralStatus.QUALIFIED],
        converted=counts[ReferralStatus.REWARDED],
        held=counts[ReferralStatus.HELD],
        rejected=counts[ReferralStatus.REJECTED],
        points_earned=points[ReferralStatus.REWARDED],
        points_pending=points[ReferralStatus.QUALIFIED],
    )


def referral_link(program: ReferralProgram, code: str) -> str:
    base = program.storefront_url.strip()
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}ref={code}"


def mask_email(email: str) -> str:
    """What a referrer sees of a friend's email: enough to recognise, not to harvest (``j***@example.com``)."""
    local, at, domain = email.partition("@")
    if not at:
        return ""
    return f"{local[:1]}***@{domain}"


def referrals_for_review(install_id: int, *, statuses: list[str], limit: int) -> list[Referral]:
    """Referrals in ``statuses`` (e.g. the HELD review queue, or decided ones for the decision history), oldest
    first for the queue, with both members loaded."""
    return list(
        Referral.objects.filter(install_id=install_id, status__in=statuses)
        .select_related("referrer", "referee")
        .order_by("created_at", "pk")[:limit]
    )


def referral_decisions(install_id: int, *, limit: int) -> list[Referral]:
    """Referrals a reviewer decided on, newest decision first (the review history)."""
    return list(
        Referral.objects.filter(install_id=install_id, reviewed_at__isnull=False)
        .select_related("referrer", "referee")
        .order_by("-reviewed_at", "-pk")[:limit]
    )


def find_referral(install_id: int, referral_id: int) -> Referral | None:
    return Referral.objects.filter(install_id=install_id, pk=referral_id).first()


def referrals_made(member: Member, *, limit: int) -> list[Referral]:
    """The member's referrals as the referrer, newest first, with both members loaded."""
    return list(Referral.objects.filter(referrer=member).select_related("referee", "referrer").order_by("-pk")[:limit])


def with_members(referral: Referral) -> Referral:
    """``referral`` read again with both members loaded (after an action that made or changed it)."""
    return Referral.objects.select_related("referrer", "referee").get(pk=referral.pk)


@dataclass(frozen=True)
class Funnel:
    codes_shared: int  # members who have a code (it is made when they first look at it)
    sign_ups: int  # referees attached with a code
    first_orders: int  # referees whose first order was paid
    rewarded: int  # referrals paid and kept through the return window


def referral_funnel(install_id: int) -> Funnel:
    """The program's funnel, all time (two aggregate queries)."""
    counts = Referral.objects.filter(install_id=install_id).aggregate(
        sign_ups=Count("pk"),
        first_orders=Count("pk", filter=Q(qualified_at__isnull=False)),
        rewarded=Count(
            "pk",
            filter=Q(status=ReferralStatus.REWARDED)
            | Q(status=ReferralStatus.QUALIFIED, rewards_unlock_at__lte=timezone.now()),
        ),
    )
    return Funnel(
        codes_shared=ReferralCode.objects.filter(install_id=install_id).count(),
        sign_ups=counts["sign_ups"],
        first_orders=counts["first_orders"],
        rewarded=counts["rewarded"],
    )


@dataclass(frozen=True)
class TopReferrer:
    member: Member
    referrals: int
    rewarded: int


def top_referrers(install_id: int, *, limit: int = 10) -> list[TopReferrer]:
    """The members who brought the most rewarded referrals (then the most referrals)."""
    rows = (
        Referral.objects.filter(install_id=install_id)
        .values("referrer_id")
        .annotate(
            referrals=Count("pk"),
            rewarded=Count(
                "pk",
                filter=Q(status=ReferralStatus.REWARDED)
                | Q(status=ReferralStatus.QUALIFIED, rewards_unlock_at__lte=timezone.now()),
            ),
        )
        .order_by("-rewarded", "-referrals", "referrer_id")[:limit]
    )
    members = Member.objects.in_bulk([row["referrer_id"] for row in rows])
    return [TopReferrer(members[row["referrer_id"]], row["referrals"], row["rewarded"]) for row in rows]
