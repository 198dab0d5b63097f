"""Finding the customer staff ask about; never enrols anyone (an account appears with its first points)."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.ledger.queries import MemberAccount, customer_account
from saleor_loyalty.program.custom_events import is_user_id

from . import PERMISSION


def resolve_customer_loyalty(root: Any, info: Any, customer_id: str) -> MemberAccount | None:
    staff = info.context.require_staff(PERMISSION)
    if not is_user_id(customer_id):
        raise GraphQLError("customerId is not a Saleor customer id", extensions={"code": "INVALID"})
    return customer_account(staff.install.pk, customer_id)
