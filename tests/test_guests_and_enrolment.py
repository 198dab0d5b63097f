"""Guests keep their points by email until they register and confirm; customers enrol on sign-up."""

import pytest

from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.enrolment import enrol_customer
from saleor_loyalty.program.models import GuestOrderPolicy
from saleor_loyalty.program.orders import Outcome, reconcile_order
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.snapshots import CustomerSnapshot
from tests.factories import line, make_install, order

pytestmark = pytest.mark.django_db


def customer(confirmed: bool, email: str = "Guest@Example.com") -> CustomerSnapshot:
    return CustomerSnapshot(user_id="VXNlcjo3", email=email, is_confirmed=confirmed, is_active=True)


def test_guest_order_points_wait_for_a_confirmed_account():
    install = make_install()
    reconcile_order(install, order("guest-order", user_id=None, email="guest@example.com"))
    guest = Member.objects.get(saleor_user_id=None)
    assert member_balances(guest).pending == 100

    member = enrol_customer(install, customer(confirmed=False))
    assert member_balances(member).pending == 0  # anyone can register with someone's email

    enrol_customer(install, customer(confirmed=True))  # ACCOUNT_CONFIRMED
    assert member_balances(member).pending == 100
    assert member_balances(guest).pending == 0
    guest.refresh_from_db()
    assert guest.merged_into_id == member.pk
    assert integrity_problems(install.pk) == []


def test_guest_orders_after_the_merge_follow_the_member():
    install = make_install()
    reconcile_order(install, order("guest-order", user_id=None, email="guest@example.com"))
    member = enrol_customer(install, customer(confirmed=True))
    # Saleor attaches earlier guest orders to the new account; later payloads carry the user
    refund = order("guest-order", user_id=None, email="guest@example.com", charged="50.00", refunded="50.00", version=5)
    assert reconcile_order(install, refund) == Outcome.CLAWED_BACK
    assert member_balances(member).pending == 50


def test_guest_orders_can_be_left_out():
    install = make_install()
    program = program_settings(install)
    program.guest_orders = GuestOrderPolicy.IGNORE
    program.save()
    assert reconcile_order(install, order(user_id=None)) == Outcome.NO_MEMBER
    assert not Member.objects.exists()


def test_fraction_carries_are_combined_on_merge():
    install = make_install()
    reconcile_order(install, order("g1", user_id=None, email="guest@example.com", lines=(line(unit="0.60"),)))
    reconcile_order(install, order("c1", user_id="VXNlcjo3", lines=(line(unit="0.60"),)))
    member = enrol_customer(install, customer(confirmed=True))
    member.refresh_from_db()
    assert member.carry_points == 1  # 0.6 + 0.6 = 1.2
    assert member_balances(member).lifetime == 1
    assert integrity_problems(install.pk) == []


def test_enrolment_is_idempotent():
    install = make_install()
    first = enrol_customer(install, customer(confirmed=True))
    second = enrol_customer(install, customer(confirmed=True))
    assert first.pk == second.pk and Member.objects.count() == 1
