"""Emails the program sends on its own: points earned (per order change) and welcome, plus opt-out tracking.

Receivers run inside the transaction of the action that sent the signal (see ``program.signals``); ``notify``
defers the sending until it commits, and its idempotency keys make repeated events harmless. The points-earned
email, on every order's hot path, is decided from the settlement and recorded only after commit (``outbox``).
"""

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.orders import Outcome, Settlement
from saleor_loyalty.program.signals import customer_changed, order_reconciled
from saleor_loyalty.program.snapshots import CustomerSnapshot, OrderSnapshot

from .actions import notify, shop_name, update_preference
from .models import NotificationKind
from .outbox import send_after_commit


@receiver(order_reconciled, dispatch_uid="notifications.points_earned")
def points_earned(
    sender: Any,
    *,
    install: Install,
    order: OrderSnapshot,
    member: Member,
    award: OrderAward,
    outcome: Outcome,
    settlement: Settlement,
    **kwargs: Any,
) -> None:
    """No statement in the order's transaction: the settlement says what was earned, the email goes after commit."""
    if outcome != Outcome.EARNED or settlement.earned <= 0:  # only a fraction changed: nothing the shopper can see
        return
    unlocks_at = settlement.unlocks_at
    send_after_commit(
        member,
        NotificationKind.EARNED,
        key=f"earned:{award.order_id}:{award.revision}",
        context={
            "points": settlement.earned,
            "order_number": order.number,
            "order_id": order.id,
            "unlocks_at": unlocks_at if unlocks_at and unlocks_at > timezone.now() else None,
        },
        shop_name=shop_name(install),
    )


@receiver(customer_changed, dispatch_uid="notifications.customer_changed")
def customer_changed_(
    sender: Any, *, install: Install, customer: CustomerSnapshot, member: Member, event: str, **kwargs: Any
) -> None:
    update_preference(member, customer)  # first: a customer created opted out gets no welcome
    if event == "customer_created" and customer.is_active:
        notify(member, NotificationKind.WELCOME, key=f"welcome:{member.pk}", context={})
