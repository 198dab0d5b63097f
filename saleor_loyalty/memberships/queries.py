"""Reading memberships for the APIs: the plans on sale, a member's membership and its latest benefits."""

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

from .models import Membership, MembershipBenefit, PaidPlan


def plans_on_sale(install: Install) -> list[PaidPlan]:
    return list(PaidPlan.objects.select_related("tier").filter(install=install, is_active=True).order_by("amount"))


def membership_of(member: Member) -> Membership | None:
    """The member's membership once a Checkout completed (None before: a started one is not shown)."""
    return (
        Membership.objects.select_related("plan__tier")
        .filter(install_id=member.install_id, member=member)
        .exclude(subscription_id="")
        .first()
    )


def latest_benefits(membership: Membership, limit: int = 24) -> list[MembershipBenefit]:
    return list(MembershipBenefit.objects.filter(membership=membership).order_by("-period_start", "key")[:limit])
