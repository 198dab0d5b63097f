"""Reading memberships for the APIs: the plans on sale, a member's membership and its latest benefits; the
merchant's plans with how many members each has."""

from dataclasses import dataclass

from django.db.models import Count, Q

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

from .models import Membership, MembershipBenefit, MembershipSettings, MembershipStatus, PaidPlan


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


def paid_plans(install: Install) -> list[PaidPlan]:
    """Every plan of the store, on sale first, then by name (archived ones too: their members may still run)."""
    return list(PaidPlan.objects.select_related("tier").filter(install=install).order_by("-is_active", "name", "pk"))


def paid_plan_by_id(install: Install, plan_id: int) -> PaidPlan | None:
    return PaidPlan.objects.select_related("tier").filter(install=install, pk=plan_id).first()


@dataclass(frozen=True)
class PlanMembers:
    """A plan's memberships (a Checkout completed) by status, and how many hold its tier now."""

    active: int = 0
    past_due: int = 0
    canceled: int = 0
    holding_tier: int = 0


def plan_members(install: Install) -> dict[int, PlanMembers]:
    """Every plan's ``PlanMembers`` by plan id, in one query (a plan without memberships is left out)."""
    rows = (
        Membership.objects.filter(install=install)
        .exclude(subscription_id="")
        .values("plan_id")
        .annotate(
            active=Count("id", filter=Q(status=MembershipStatus.ACTIVE)),
            past_due=Count("id", filter=Q(status=MembershipStatus.PAST_DUE)),
            canceled=Count("id", filter=Q(status=MembershipStatus.CANCELED)),
            holding_tier=Count("id", filter=Q(tier_held=True)),
        )
    )
    return {
        row["plan_id"]: PlanMembers(row["active"], row["past_due"], row["canceled"], row["holding_tier"])
        for row in rows
    }


def return_origins(install: Install) -> list[str]:
    row = MembershipSettings.objects.filter(install=install).first()
    return list(row.return_origins) if row is not None else []
