"""Expiry reminders, set-based: one INSERT creates every reminder due today; each email is then sent once.

A reminder is due ``expiry_reminder_days`` before points expire (by lot date, or by the member's inactivity
deadline). Its key is the member and the expiry date, so a daily job run twice, or on consecutive days inside
the window, never sends the same reminder again. Guests, opted-out customers and members without an email get
none (the same rules ``notifications.actions.notify`` applies one at a time).
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.db import connection, transaction
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.program.models import ExpiryPolicy
from saleor_loyalty.program.rules import program_settings

from .tasks import send_notification

# (member_id, points, expires_at) due for a reminder, by policy. Parameters: install, now, horizon, inactivity.
_DUE_BY_LOT_DATE = """
SELECT l.member_id, SUM(l.remaining) AS points, date_trunc('day', MIN(l.expires_at)) AS expires_at
FROM ledger_lot l JOIN ledger_account a ON a.id = l.account_id
WHERE l.install_id = %(install)s AND a.code = 'points' AND l.remaining > 0
  AND l.expires_at > %(now)s AND l.expires_at <= %(horizon)s
GROUP BY l.member_id, date_trunc('day', l.expires_at)
"""
_DUE_BY_INACTIVITY = """
SELECT l.member_id, SUM(l.remaining) AS points,
       date_trunc('day', MIN(m.last_activity_at) + %(inactivity)s) AS expires_at
FROM ledger_lot l
JOIN ledger_account a ON a.id = l.account_id
JOIN members_member m ON m.id = l.member_id
WHERE l.install_id = %(install)s AND a.code = 'points' AND l.remaining > 0
  AND m.last_activity_at + %(inactivity)s > %(now)s AND m.last_activity_at + %(inactivity)s <= %(horizon)s
GROUP BY l.member_id
"""

_INSERT = """
INSERT INTO notifications_notification (install_id, member_id, kind, key, to_email, context, status, attempts,
                                        error, created_at, updated_at)
SELECT %(install)s, d.member_id, 'expiry_reminder',
       'expiry-reminder:' || d.member_id || ':' || to_char(d.expires_at, 'YYYY-MM-DD'),
       COALESCE(NULLIF(p.email, ''), m.email),
       jsonb_build_object('points', d.points, 'expires_at', to_char(d.expires_at, 'YYYY-MM-DD"T"00:00:00"Z"'),
                          'shop_name', %(shop_name)s::text, 'first_name', COALESCE(p.first_name, '')),
       'queued', 0, '', %(now)s, %(now)s
FROM ({due}) d
JOIN members_member m ON m.id = d.member_id
LEFT JOIN notifications_email_preference p ON p.member_id = m.id
WHERE m.saleor_user_id IS NOT NULL AND m.merged_into_id IS NULL AND NOT COALESCE(p.opted_out, false)
  AND COALESCE(NULLIF(p.email, ''), m.email) <> ''
ON CONFLICT (install_id, key) DO NOTHING
RETURNING id
"""


def _sender(pk: int) -> Callable[[], None]:
    # A named function, not a partial: Django logs a robust on_commit failure by the callback's __qualname__.
    def send_reminder() -> None:
        send_notification.delay(pk)

    return send_reminder


def queue_expiry_reminders(install: Install, now: datetime | None = None) -> int:
    """Create today's reminders for the install and hand each to the mail task."""
    moment = now or timezone.now()
    program = program_settings(install)
    if program.expiry_policy == ExpiryPolicy.AFTER_EARNING:
        due = _DUE_BY_LOT_DATE
    elif program.expiry_policy == ExpiryPolicy.AFTER_INACTIVITY:
        due = _DUE_BY_INACTIVITY
    else:
        return 0
    params: dict[str, Any] = {
        "install": install.pk,
        "now": moment,
        "horizon": moment + timedelta(days=program.expiry_reminder_days),
        "inactivity": timedelta(days=program.inactivity_expiry_days),
        "shop_name": install.saleor_domain,
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT.format(due=due), params)
        created = [row[0] for row in cursor.fetchall()]
        for pk in created:
            transaction.on_commit(_sender(pk), robust=True)
    return len(created)


@shared_task
def queue_expiry_reminders_everywhere() -> int:
    """Hourly: expiry reminders for every active install (set-based; each reminder sent once)."""
    return sum(queue_expiry_reminders(install) for install in Install.objects.filter(is_active=True))
