"""Finding the customer staff ask about; never enrols anyone (an account appears with its first points)."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.members.models import Member
from saleor_loyalty.members.queries import MemberNotFound, find_member
from saleor_loyalty.program.custom_events import is_user_id

from . import PERMISSION


def resolve_customer_loyalty(root: Any, info: Any, customer_id: str) -> Member | None:
    staff = info.context.require_staff(PERMISSION)
    if not is_user_id(customer_id):
        raise GraphQLError("customerId is not a Saleor customer id", extensions={"code": "INVALID"})
    try:
        return find_member(staff.install, user_id=customer_id)
    except MemberNotFound:
        return None
