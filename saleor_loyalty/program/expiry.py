"""The program's expiry policy applied: which points are due, and the scheduled job that expires them.

By the merchant's ``expiry_policy``: lots expire ``points_expire_after_days`` after they were earned, or all
of a member's points expire after ``inactivity_expiry_days`` without earning or redeeming; in both cases only
after ``expiry_grace_days`` more. The ledger does the set-based work (``ledger.expiry``).
"""

from datetime import datetime, timedelta

from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.expiry import ExpiryRun, expire_due_lots
from saleor_loyalty.members.models import Member

from .models import ExpiryPolicy, ProgramSettings
from .rules import program_settings

# The WHERE clauses that make a lot due, by policy (the ledger's ``expire_due_lots`` runs them over lots ``l`` and
# their members ``m``; parameters: install, cutoff).
DUE_AFTER_EARNING = "l.expires_at IS NOT NULL AND l.expires_at <= %(cutoff)s"
DUE_AFTER_INACTIVITY = "m.last_activity_at IS NOT NULL AND m.last_activity_at <= %(cutoff)s"


def lot_expiry(program: ProgramSettings, earned_at: datetime) -> datetime | None:
    """When a lot earned now expires (only under the after-earning policy)."""
    if program.expiry_policy != ExpiryPolicy.AFTER_EARNING or not program.points_expire_after_days:
        return None
    return earned_at + timedelta(days=program.points_expire_after_days)


def inactivity_deadline(program: ProgramSettings, member: Member) -> datetime | None:
    """When all of an inactive member's points expire (only under the inactivity policy)."""
    if program.expiry_policy != ExpiryPolicy.AFTER_INACTIVITY or member.last_activity_at is None:
        return None
    return member.last_activity_at + timedelta(days=program.inactivity_expiry_days)


def expire_points(install: Install, now: datetime | None = None) -> ExpiryRun:
    moment = now or timezone.now()
    program = program_settings(install)
    grace = timedelta(days=program.expiry_grace_days)
    if program.expiry_policy == ExpiryPolicy.AFTER_EARNING:
        due, cutoff = DUE_AFTER_EARNING, moment - grace
    elif program.expiry_policy == ExpiryPolicy.AFTER_INACTIVITY:
        due, cutoff = DUE_AFTER_INACTIVITY, moment - grace - timedelta(days=program.inactivity_expiry_days)
    else:
        return ExpiryRun(accounts=0, points=0)
    return expire_due_lots(
        install_id=install.pk, due_sql=due, cutoff=cutoff, run_key=moment.strftime("%Y%m%dT%H%M%S%f")
    )
