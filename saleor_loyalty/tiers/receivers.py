"""Upgrade a member the moment an order qualifies them (downgrades wait for the review)."""

import logging
from typing import Any

from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.signals import order_reconciled

from . import effects, review
from .models import ChangeReason
from .queries import active_settings

logger = logging.getLogger(__name__)


@receiver(order_reconciled, dispatch_uid="tiers.upgrade_on_order")
def upgrade_on_order(sender: Any, *, install: Install, member: Member, award: OrderAward, **kwargs: Any) -> None:
    """Runs inside the order's transaction (the member's row is locked). Only ever moves a member up: a refund
    that drops them below a threshold is left to the review, after its grace period."""
    if award.first_paid_at is None or active_settings(install.pk) is None:
        return
    if connection.vendor != "postgresql":
        logger.warning("tiers need PostgreSQL: order not checked for an upgrade")
        return
    try:
        with transaction.atomic():  # a savepoint: a tier failure must not lose the order's points
            change_ids = review.run(
                now=timezone.now(),
                install_id=install.pk,
                member_ids=[member.pk],
                upgrades_only=True,
                reason=ChangeReason.ORDER,
            )
            effects.apply_changes(change_ids)
    except Exception:
        logger.exception("tier upgrade failed; the review will catch up", extra={"data": {"member_id": member.pk}})
