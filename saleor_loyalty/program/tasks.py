"""Scheduled program work (Celery beat)."""

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger import actions as ledger
from saleor_loyalty.ledger.models import Lot

from .bonuses import give_birthday_bonuses
from .expiry import expire_points


@shared_task
def unlock_due_lots(batch_size: int = 1000) -> int:
    """Make points whose return window has passed available. Idempotent; each lot in its own transaction."""
    unlocked = 0
    due = Lot.objects.filter(unlocked_at__isnull=True, unlocks_at__lte=timezone.now()).order_by("unlocks_at")
    for lot in due[:batch_size]:
        with transaction.atomic():
            unlocked += ledger.unlock(lot)
    return unlocked


@shared_task
def expire_points_everywhere() -> int:
    """Hourly: expire due points in every active install. Idempotent; set-based per install."""
    return sum(expire_points(install).points for install in Install.objects.filter(is_active=True))


@shared_task
def give_birthday_bonuses_everywhere() -> int:
    """Daily: birthday bonuses in every active install (set-based, once a year per member)."""
    return sum(give_birthday_bonuses(install) for install in Install.objects.filter(is_active=True))
