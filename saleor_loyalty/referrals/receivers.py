"""Referrals listen to the program's domain signals (see saleor_loyalty.program.signals)."""

from typing import Any

from django.dispatch import receiver

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.program import signals
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.snapshots import CustomerSnapshot, OrderSnapshot

from . import actions


@receiver(signals.order_reconciled, dispatch_uid="referrals.order_reconciled")
def order_reconciled(
    sender: Any, install: Install, order: OrderSnapshot, member: Member, award: OrderAward, **kwargs: Any
) -> None:
    actions.on_order_reconciled(install, order, member, award)


@receiver(signals.customer_changed, dispatch_uid="referrals.customer_changed")
def customer_changed(
    sender: Any, install: Install, customer: CustomerSnapshot, member: Member, event: str, **kwargs: Any
) -> None:
    actions.on_customer_changed(install, customer, member)
