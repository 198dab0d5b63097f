"""Reading the store's Stripe connection."""

from typing import Any

from saleor_loyalty.payments.queries import stripe_account

from . import PERMISSION
from .types import connection


def resolve_stripe_connection(root: Any, info: Any) -> dict[str, Any] | None:
    staff = info.context.require_staff(PERMISSION)
    account = stripe_account(staff.install)
    return connection(account) if account is not None else None
