"""Earning events: sign-up, first order and birthday bonuses, and custom actions reported by a server."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from saleor_loyalty.ledger.models import Lot, Transfer
from saleor_loyalty.ledger.queries import clawed_back, integrity_problems, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.bonuses import give_birthday_bonuses, parse_birthday
from saleor_loyalty.program.custom_events import issue_api_key
from saleor_loyalty.program.enrolment import enrol_customer
from saleor_loyalty.program.models import EarningAction
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.rules import program_settings
from saleor_loyalty.program.snapshots import CustomerSnapshot
from tests.factories import later, line, make_install, order
from tests.storefront import gql

pytestmark = pytest.mark.django_db


def configure(install, **settings):
    program = program_settings(install)
    for name, value in settings.items():
        setattr(program, name, value)
    program.save()


def customer(confirmed=True, user_id="VXNlcjo3", **metadata) -> CustomerSnapshot:
    return CustomerSnapshot(
        user_id=user_id, email="c@example.com", is_confirmed=confirmed, is_active=True, metadata=dict(metadata)
    )


def test_the_signup_bonus_waits_for_a_confirmed_account_and_is_given_once():
    install = make_install()
    configure(install, signup_bonus_points=50)
    member = enrol_customer(install, customer(confirmed=False))
    assert member_balances(member).available == 0
    enrol_customer(install, customer(confirmed=True), event="account_confirmed")
    enrol_customer(install, customer(confirmed=True), event="customer_updated")
    assert member_balances(member).available == 50


def test_the_first_paid_order_earns_a_pending_bonus_that_a_cancellation_takes_back():
    install = make_install()
    configure(install, first_order_bonus_points=200)
    first = order("first", lines=(line(unit="10.00"),))
    reconcile_order(install, first)
    reconcile_order(install, order("second", lines=(line(unit="10.00"),)))
    member = Member.objects.get()
    assert member_balances(member).pending == 220
    cancelled = later(first, status="CANCELED")
    reconcile_order(install, cancelled)
    assert member_balances(member).pending == 10
    assert clawed_back(install.pk, f"first-order:{member.pk}:revoked")
    reconcile_order(install, later(cancelled))  # a newer delivery of the cancelled order: taken back once only
    assert member_balances(member).pending == 10
    assert integrity_problems(install.pk) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-07-14", (7, 14)),
        ("07-14", (7, 14)),
        ("02-29", (2, 29)),
        ("14/07/1990", None),
        ("", None),
        ("1990-13-01", None),
    ],
)
def test_birthdays_are_read_from_metadata(value, expected):
    assert parse_birthday(value) == expected


def test_birthday_bonus_once_a_year_set_based():
    install = make_install()
    configure(install, birthday_bonus_points=100)
    today = date(2026, 7, 14)
    enrol_customer(install, customer(user_id="VXNlcjox", birthday="1990-07-14"))
    enrol_customer(install, customer(user_id="VXNlcjoy", birthday="07-15"))
    enrol_customer(install, customer(user_id="VXNlcjoz", birthday="1985-07-14"))
    assert give_birthday_bonuses(install, today=today) == 2
    assert give_birthday_bonuses(install, today=today) == 0  # once a year
    balances = {m.saleor_user_id: member_balances(m).available for m in Member.objects.all()}
    assert balances == {"VXNlcjox": 100, "VXNlcjoy": 0, "VXNlcjoz": 100}
    assert Lot.objects.filter(source="birthday").count() == 2
    assert give_birthday_bonuses(install, today=date(2027, 7, 14)) == 2
    assert integrity_problems(install.pk) == []


def test_leap_day_birthdays_are_celebrated_on_february_28_in_other_years():
    install = make_install()
    configure(install, birthday_bonus_points=10)
    enrol_customer(install, customer(birthday="2000-02-29"))
    assert give_birthday_bonuses(install, today=date(2027, 2, 28)) == 1


RECORD = """
mutation($action: String!, $customer: ID!, $key: String!) {
  recordEvent(action: $action, customerId: $customer, idempotencyKey: $key) { points errors { field code message } }
}
"""


def test_record_event_awards_a_custom_action_within_its_cap():
    install = make_install()
    enrol_customer(install, customer())  # a member already; unknown ids are confirmed with Saleor first
    EarningAction.objects.create(install=install, code="review", name="Product review", points=25, max_per_period=2)
    key = issue_api_key(install, "storefront server").key
    results = [gql(RECORD, {"action": "review", "customer": "VXNlcjo3", "key": f"r{i}"}, token=key) for i in range(3)]
    assert [r["data"]["recordEvent"]["points"] for r in results] == [25, 25, None]
    assert results[2]["data"]["recordEvent"]["errors"][0]["code"] == "LIMIT_REACHED"
    replay = gql(RECORD, {"action": "review", "customer": "VXNlcjo3", "key": "r0"}, token=key)
    assert replay["data"]["recordEvent"]["points"] == 25
    assert member_balances(Member.objects.get()).available == 50


def test_record_event_needs_a_server_key_and_a_known_action():
    install = make_install()
    EarningAction.objects.create(install=install, code="review", name="Product review", points=25)
    assert (
        gql(RECORD, {"action": "review", "customer": "VXNlcjo3", "key": "k"})["errors"][0]["extensions"]["code"]
        == "UNAUTHENTICATED"
    )
    assert (
        gql(RECORD, {"action": "review", "customer": "VXNlcjo3", "key": "k"}, token="lsk_forged")["errors"][0][
            "extensions"
        ]["code"]
        == "INVALID_TOKEN"
    )
    key = issue_api_key(install, "server").key
    result = gql(RECORD, {"action": "newsletter", "customer": "VXNlcjo3", "key": "k"}, token=key)
    assert result["data"]["recordEvent"]["errors"][0]["code"] == "NOT_FOUND"
    assert not Transfer.objects.exists()


def test_only_the_hash_of_an_api_key_is_stored():
    install = make_install()
    issued = issue_api_key(install, "server")
    assert issued.key not in str(issued.record.__dict__)
    assert issued.record.prefix == issued.key[:10]
    assert timezone.now() - issued.record.created_at < timedelta(minutes=1)


def test_every_lot_the_program_issues_expires_by_its_policy():
    """Under "expire after earning", bonuses, custom events and adjustments expire like order points do."""
    from saleor_loyalty.program.adjustments import adjust_points
    from saleor_loyalty.program.custom_events import record_event
    from saleor_loyalty.program.models import ExpiryPolicy

    install = make_install()
    configure(
        install,
        expiry_policy=ExpiryPolicy.AFTER_EARNING,
        points_expire_after_days=365,
        signup_bonus_points=50,
        first_order_bonus_points=20,
        birthday_bonus_points=10,
    )
    today = timezone.now().date()
    member = enrol_customer(install, customer(birthday=f"{today.month:02d}-{today.day:02d}"))
    reconcile_order(install, order(lines=(line(unit="30.00"),), user_id="VXNlcjo3"))
    give_birthday_bonuses(install, today=today)
    EarningAction.objects.create(install=install, code="review", name="Review", points=5)
    record_event(install, action_code="review", saleor_user_id="VXNlcjo3", idempotency_key="e1", occurred_at=None)
    adjust_points(member, points=7, reason="goodwill", actor="ops", key="a1")
    lots = Lot.objects.filter(member=member)
    assert {lot.source for lot in lots} == {"signup", "order", "first_order", "birthday", "action:review", "adjustment"}
    soon, late = timezone.now() + timedelta(days=364), timezone.now() + timedelta(days=366)
    assert all(lot.expires_at is not None and soon < lot.expires_at < late for lot in lots), [
        (lot.source, lot.expires_at) for lot in lots
    ]
    assert integrity_problems(install.pk) == []
