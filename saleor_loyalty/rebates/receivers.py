"""Accrue an order's rebate whenever the program reconciled the order (``program.signals.order_reconciled``)."""

from typing import Any

from django.dispatch import receiver

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.signals import order_reconciled
from saleor_loyalty.program.snapshots import OrderSnapshot

from .accrual import reconcile_order_rebate


@receiver(order_reconciled, dispatch_uid="rebates.accrue_on_order")
def accrue_on_order(
    sender: Any, *, install: Install, order: OrderSnapshot, member: Member, award: OrderAward, **kwargs: Any
) -> None:
    """Runs inside the order's transaction, the order's award and member locked, for non-stale payloads only.
    Unlike a tier upgrade, a failure here is not swallowed: money must not silently diverge from the order, so the
    event fails and is retried (the points it settled roll back with it and are settled again, idempotently)."""
    reconcile_order_rebate(install, order, member, was_fully_paid=award.was_fully_paid)
