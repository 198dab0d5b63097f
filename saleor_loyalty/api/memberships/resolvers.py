"""``paidPlans`` (public, like ``program``) and ``myMembership`` (the signed-in shopper's); the staff's plans (every
one, archived too, with their members) and membership settings."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.installs.lookup import active_install
from saleor_loyalty.memberships import queries
from saleor_loyalty.memberships.models import Membership, PaidPlan
from saleor_loyalty.memberships.queries import membership_of, plans_on_sale

from . import PERMISSION


def resolve_paid_plans(root: Any, info: Any) -> list[PaidPlan]:
    shopper = info.context.shopper
    install = shopper.install if shopper else active_install(info.context.request.headers.get("Saleor-Api-Url"))
    if install is None:
        raise GraphQLError(
            "send a shopper token, or the Saleor-Api-Url of a store using this app",
            extensions={"code": "UNAUTHENTICATED"},
        )
    return plans_on_sale(install)


def resolve_my_membership(root: Any, info: Any) -> Membership | None:
    return membership_of(info.context.member())


# -- the staff API -----------------------------------------------------------------------------------------------


def resolve_staff_paid_plans(root: Any, info: Any) -> list[PaidPlan]:
    staff = info.context.require_staff(PERMISSION)
    return queries.paid_plans(staff.install)


def resolve_membership_settings(root: Any, info: Any) -> dict[str, Any]:
    staff = info.context.require_staff(PERMISSION)
    return {"return_origins": queries.return_origins(staff.install)}
