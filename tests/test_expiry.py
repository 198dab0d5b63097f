"""Points expire by the merchant's policy, set-based, never touching pending or held points."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.models import AccountCode, Lot, Transfer, TransferKind
from saleor_loyalty.ledger.queries import integrity_problems, member_balances, program_totals
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.notifications.reminders import queue_expiry_reminders
from saleor_loyalty.program.expiry import expire_points
from saleor_loyalty.program.models import ExpiryPolicy
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.rules import program_settings
from tests.factories import line, make_install, order

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def policy(install, expiry_policy, **settings):
    program = program_settings(install)
    program.expiry_policy = expiry_policy
    for name, value in settings.items():
        setattr(program, name, value)
    program.save()


def earn(member, points, key, **kwargs):
    with transaction.atomic():
        return actions.earn(member=member, points=points, key=key, source="adjustment", **kwargs)


def test_lots_past_their_date_expire_and_the_rest_stay():
    install = make_install()
    policy(install, ExpiryPolicy.AFTER_EARNING, points_expire_after_days=365)
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    earn(member, 40, "old", expires_at=NOW - timedelta(days=1))
    earn(member, 60, "new", expires_at=NOW + timedelta(days=30))
    run = expire_points(install, now=NOW)
    assert (run.accounts, run.points) == (1, 40)
    assert member_balances(member).available == 60
    assert program_totals(install.pk)[AccountCode.EXPIRED] == 40
    transfer = Transfer.objects.get(kind=TransferKind.EXPIRE)
    assert transfer.lot_movements.get().lot.points == 40
    assert integrity_problems(install.pk) == []


def test_expiry_twice_expires_nothing_more():
    install = make_install()
    policy(install, ExpiryPolicy.AFTER_EARNING, points_expire_after_days=365)
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    earn(member, 40, "old", expires_at=NOW - timedelta(days=1))
    expire_points(install, now=NOW)
    assert expire_points(install, now=NOW + timedelta(seconds=1)).points == 0
    assert Transfer.objects.filter(kind=TransferKind.EXPIRE).count() == 1


def test_grace_keeps_points_usable_after_their_date():
    install = make_install()
    policy(install, ExpiryPolicy.AFTER_EARNING, points_expire_after_days=365, expiry_grace_days=7)
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    earn(member, 40, "old", expires_at=NOW - timedelta(days=3))
    assert expire_points(install, now=NOW).points == 0
    assert expire_points(install, now=NOW + timedelta(days=5)).points == 40


def test_expiry_never_touches_held_or_pending_points():
    install = make_install()
    policy(install, ExpiryPolicy.AFTER_EARNING, points_expire_after_days=1)
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    earn(member, 100, "old", expires_at=NOW - timedelta(days=1))
    with transaction.atomic():
        actions.hold(member=member, points=30, key="hold")
        actions.earn(
            member=member,
            points=50,
            key="pending",
            source="order",
            unlocks_at=NOW + timedelta(days=14),
            expires_at=NOW - timedelta(days=1),
        )
    expire_points(install, now=NOW)
    balances = member_balances(member)
    assert (balances.available, balances.held, balances.pending) == (0, 30, 50)
    assert integrity_problems(install.pk) == []


def test_inactive_members_lose_all_their_available_points():
    install = make_install()
    policy(install, ExpiryPolicy.AFTER_INACTIVITY, inactivity_expiry_days=180)
    sleeper = member_for_user(install, "VXNlcjox", "a@example.com")
    active = member_for_user(install, "VXNlcjoy", "b@example.com")
    earn(sleeper, 70, "s")
    earn(active, 80, "a")
    Member.objects.filter(pk=sleeper.pk).update(last_activity_at=NOW - timedelta(days=200))
    assert expire_points(install, now=NOW).points == 70
    assert (member_balances(sleeper).available, member_balances(active).available) == (0, 80)


def test_orders_earn_lots_with_an_expiry_date_under_the_after_earning_policy():
    install = make_install()
    policy(install, ExpiryPolicy.AFTER_EARNING, points_expire_after_days=90)
    reconcile_order(install, order(lines=(line(unit="25.00"),)))
    lot = Lot.objects.get(source="order")
    assert lot.expires_at is not None and timedelta(days=89) < lot.expires_at - timezone.now() <= timedelta(days=90)


def test_no_expiry_by_default():
    install = make_install()
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    earn(member, 40, "old", expires_at=NOW - timedelta(days=400))
    assert expire_points(install, now=NOW).points == 0


def test_reminders_go_out_once_before_points_expire_and_respect_opt_out():
    from django.core import mail

    from saleor_loyalty.notifications.models import EmailPreference, Notification

    install = make_install()
    policy(install, ExpiryPolicy.AFTER_EARNING, points_expire_after_days=365, expiry_reminder_days=14)
    reader = member_for_user(install, "VXNlcjox", "reader@example.com")
    quiet = member_for_user(install, "VXNlcjoy", "quiet@example.com")
    EmailPreference.objects.create(member=quiet, opted_out=True)
    for member in (reader, quiet):
        earn(member, 40, f"soon-{member.pk}", expires_at=NOW + timedelta(days=10))
        earn(member, 60, f"later-{member.pk}", expires_at=NOW + timedelta(days=100))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda func, robust=False: func())
        assert queue_expiry_reminders(install, now=NOW) == 1
        assert queue_expiry_reminders(install, now=NOW + timedelta(days=1)) == 0
    reminder = Notification.objects.get()
    assert (reminder.member_id, reminder.context["points"]) == (reader.pk, 40)
    assert len(mail.outbox) == 1 and "40" in mail.outbox[0].body
