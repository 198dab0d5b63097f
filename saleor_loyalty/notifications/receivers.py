"""Emails the program sends on its own: points earned (per order change) and welcome, plus opt-out tracking.

Receivers run inside the transaction of the action that sent the signal (see ``program.signals``); ``notify``
defers the sending until it commits, and its idempotency keys make repeated events harmless.
"""

from datetime import datetime
from typing import Any

from django.db.models import Max, Q, Sum
from django.dispatch import receiver
from django.utils import timezone

from saleor_loyalty.ledger.models import Lot, Transfer, TransferKind
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.orders import Outcome
from saleor_loyalty.program.signals import customer_changed, order_reconciled
from saleor_loyalty.program.snapshots import CustomerSnapshot, OrderSnapshot
from saleor_loyalty.saleor.models import Install

from .actions import notify, update_preference
from .models import NotificationKind


@receiver(order_reconciled, dispatch_uid="notifications.points_earned")
def points_earned(
    sender: Any,
    *,
    install: Install,
    order: OrderSnapshot,
    member: Member,
    award: OrderAward,
    outcome: Outcome,
    **kwargs: Any,
) -> None:
    if outcome != Outcome.EARNED:
        return
    points, unlocks_at = earned_by_revision(install, award)
    if points <= 0:  # only a fraction changed: nothing the shopper can see
        return
    notify(
        member,
        NotificationKind.EARNED,
        key=f"earned:{award.order_id}:{award.revision}",
        context={
            "points": points,
            "order_number": order.number,
            "order_id": order.id,
            "unlocks_at": unlocks_at if unlocks_at and unlocks_at > timezone.now() else None,
        },
    )


def earned_by_revision(install: Install, award: OrderAward) -> tuple[int, datetime | None]:
    """Whole points the order's latest change added (its own and carried fractions), and when they unlock."""
    key = f"order:{award.order_id}:r{award.revision}"  # as program.orders._apply posts them
    transfers = Transfer.objects.filter(install_id=install.pk)
    earned = transfers.filter(idempotency_key__in=[key, f"{key}:carry"], kind=TransferKind.EARN)
    # carried fractions can also shrink while the order's whole points grow
    taken = transfers.filter(
        Q(idempotency_key__startswith=f"{key}:carry:"),
        kind__in=[TransferKind.CLAWBACK, TransferKind.DEBT, TransferKind.WRITE_OFF],
    )
    points = int(earned.aggregate(s=Sum("amount"))["s"] or 0) - int(taken.aggregate(s=Sum("amount"))["s"] or 0)
    unlocks_at = Lot.objects.filter(pk__in=earned.values("lot_id")).aggregate(u=Max("unlocks_at"))["u"]
    return points, unlocks_at


@receiver(customer_changed, dispatch_uid="notifications.customer_changed")
def customer_changed_(
    sender: Any, *, install: Install, customer: CustomerSnapshot, member: Member, event: str, **kwargs: Any
) -> None:
    update_preference(member, customer)  # first: a customer created opted out gets no welcome
    if event == "customer_created" and customer.is_active:
        notify(member, NotificationKind.WELCOME, key=f"welcome:{member.pk}", context={})
