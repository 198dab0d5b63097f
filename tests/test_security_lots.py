"""Security probe #8, finding 2: concurrent credits under one idempotency key must create exactly one lot.

Claiming the key and creating the lot (and counting lifetime points) are one atomic step: N writers racing with
one key leave one transfer, one lot, the balance equal to the lots, lifetime points counted once — and so the
expiry job, whose overdraft check would trip on orphan lots, keeps expiring every member's due points.
Real PostgreSQL concurrency: each thread has its own connection.
"""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.accounts import member_accounts, program_account
from saleor_loyalty.ledger.models import AccountCode, Lot, Transfer
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.adjustments import adjust_points
from saleor_loyalty.program.bonuses import award_birthdays
from saleor_loyalty.program.expiry import expire_points
from saleor_loyalty.program.models import ExpiryPolicy
from saleor_loyalty.program.rules import program_settings
from tests.factories import make_install
from tests.test_concurrency import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 30


def _errors(results: list[object]) -> list[object]:
    return [r for r in results if isinstance(r, BaseException)]


def _established(install, *members):
    """An install with its settings and program accounts, members with their accounts: what the probe raced on.
    (Creating any of them on first use would serialise the racers on a unique index and hide the race.)"""
    program_settings(install)
    program_account(install.pk, AccountCode.ISSUED)
    for member in members:
        member_accounts(member)


def test_concurrent_adjustments_with_one_key_create_one_lot():
    install = make_install()
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    _established(install, member)
    results = run_in_threads(
        THREADS, lambda _: adjust_points(member, points=500, reason="goodwill", actor="ops", key="one-key")
    )
    assert _errors(results) == []
    assert Transfer.objects.filter(install=install, idempotency_key="one-key").count() == 1
    assert list(Lot.objects.filter(member=member).values_list("points", "remaining")) == [(500, 500)]
    assert member_balances(member).available == 500
    assert integrity_problems(install.pk) == []


def test_concurrent_earns_with_one_key_create_one_lot_and_count_lifetime_once():
    install = make_install()
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    _established(install, member)

    def earn(_: int) -> int:
        with transaction.atomic():
            return actions.earn(member=member, points=500, key="signup:1", source="signup").pk

    results = run_in_threads(THREADS, earn)
    assert _errors(results) == []
    lot = Lot.objects.get(member=member)
    assert set(results) == {lot.pk}  # every caller is answered with the one lot
    assert Transfer.objects.get(install=install, idempotency_key="signup:1").lot_id == lot.pk
    balances = member_balances(member)
    assert (balances.available, balances.lifetime) == (500, 500)
    assert integrity_problems(install.pk) == []


def test_concurrent_pending_earns_with_one_key_create_one_pending_lot():
    install = make_install()
    member = member_for_user(install, "VXNlcjox", "a@example.com")
    unlocks_at = timezone.now() + timedelta(days=14)
    _established(install, member)

    def earn(_: int) -> int:
        with transaction.atomic():
            lot = actions.earn(
                member=member, points=120, key="order:1", source="order", order_id="order-1", unlocks_at=unlocks_at
            )
            return lot.pk

    results = run_in_threads(THREADS, earn)
    assert _errors(results) == []
    assert Lot.objects.filter(member=member).count() == 1
    balances = member_balances(member)
    assert (balances.pending, balances.available, balances.lifetime) == (120, 0, 120)
    assert integrity_problems(install.pk) == []


def test_concurrent_birthday_runs_give_each_member_one_lot():
    install = make_install()
    members = [member_for_user(install, f"VXNlcjo{n}", f"m{n}@example.com") for n in range(5)]
    Member.objects.filter(pk__in=[m.pk for m in members]).update(birthday_month=7, birthday_day=14)
    _established(install, *members)
    today = date(2026, 7, 14)

    def run(_: int) -> int:
        with transaction.atomic():
            return award_birthdays(
                install_id=install.pk,
                points=100,
                month=today.month,
                day=today.day,
                year=today.year,
                leap_fallback=False,
                now=timezone.now(),
            )

    results = run_in_threads(8, run)
    assert _errors(results) == []
    assert sum(r for r in results if isinstance(r, int)) == len(members)
    for member in members:
        assert Lot.objects.filter(member=member).count() == 1
        balances = member_balances(member)
        assert (balances.available, balances.lifetime) == (100, 100)
    assert integrity_problems(install.pk) == []


def test_the_expiry_job_still_expires_every_members_points_after_a_race_on_one_key():
    install = make_install()
    program = program_settings(install)
    program.expiry_policy = ExpiryPolicy.AFTER_EARNING
    program.points_expire_after_days = 365
    program.save()
    raced = member_for_user(install, "VXNlcjox", "raced@example.com")
    bystander = member_for_user(install, "VXNlcjoy", "bystander@example.com")
    expired_at = timezone.now() - timedelta(days=1)
    _established(install, raced, bystander)
    with transaction.atomic():
        actions.earn(member=bystander, points=70, key="bystander", source="adjustment", expires_at=expired_at)

    def earn(_: int) -> int:
        with transaction.atomic():
            lot = actions.earn(member=raced, points=500, key="dup", source="adjustment", expires_at=expired_at)
            return lot.pk

    assert _errors(run_in_threads(THREADS, earn)) == []
    run = expire_points(install)  # before the fix: the batch failed its overdraft check, nobody's points expired
    assert (run.accounts, run.points) == (2, 570)
    assert member_balances(raced).available == 0
    assert member_balances(bystander).available == 0
    assert integrity_problems(install.pk) == []
