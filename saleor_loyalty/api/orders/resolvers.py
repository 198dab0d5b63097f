"""Reading one order's loyalty record for staff."""

from typing import Any

from graphql import GraphQLError

from saleor_loyalty.program.queries import OrderLoyalty, order_loyalty

from . import PERMISSION

MAX_ORDER_ID_LENGTH = 255


def resolve_order_loyalty(root: Any, info: Any, order_id: str) -> OrderLoyalty | None:
    staff = info.context.require_staff(PERMISSION)
    if not order_id or len(order_id) > MAX_ORDER_ID_LENGTH:
        raise GraphQLError("orderId is not a Saleor order id", extensions={"code": "INVALID"})
    return order_loyalty(staff.install, order_id)
