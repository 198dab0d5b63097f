"""Manual point adjustments: credited as a lot, deducted from the soonest-expiring lots, never below zero, once per
key, visible in the shopper's history (PostgreSQL: the overdraft refusal is the database's CHECK constraint)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.models import Lot, Transfer, TransferKind
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.actions import guest_member, member_for_user
from saleor_loyalty.program.adjustments import AdjustmentError, adjust_points
from tests.storefront import gql

pytestmark = pytest.mark.django_db

HISTORY = "{ me { balance { available net } history(first: 5) { edges { node { kind points balanceChange } } } } }"


def earn(member, points, key, expires_in_days):
    with transaction.atomic():
        return actions.earn(
            member=member,
            points=points,
            key=key,
            source="order",
            expires_at=timezone.now() + timedelta(days=expires_in_days),
        )


def test_a_credit_is_available_at_once_and_shows_in_the_shoppers_history(store):
    member = store.member()
    balances = adjust_points(member, points=250, reason="late delivery", actor="ops@shop", key="credit-1")
    assert (balances.available, balances.pending, balances.lifetime) == (250, 0, 0)  # not earned: lifetime stays
    transfer = Transfer.objects.get(kind=TransferKind.ADJUST)
    assert transfer.memo == {"reason": "late delivery", "actor": "ops@shop"}
    assert Lot.objects.get(member=member).source == "adjustment"
    me = gql(HISTORY, token=store.token())["data"]["me"]
    assert me["balance"] == {"available": 250, "net": 250}
    assert me["history"]["edges"][0]["node"] == {"kind": "ADJUSTED", "points": 250, "balanceChange": 250}
    assert integrity_problems(store.install.pk) == []


def test_a_deduction_takes_the_soonest_expiring_points_first(store):
    member = store.member()
    later_lot = earn(member, 100, "later", expires_in_days=300)
    sooner_lot = earn(member, 100, "sooner", expires_in_days=30)
    balances = adjust_points(member, points=-150, reason="duplicate credit", actor="ops@shop", key="deduct-1")
    assert balances.available == 50
    sooner_lot.refresh_from_db()
    later_lot.refresh_from_db()
    assert (sooner_lot.remaining, later_lot.remaining) == (0, 50)
    me = gql(HISTORY, token=store.token())["data"]["me"]
    assert me["history"]["edges"][0]["node"] == {"kind": "ADJUSTED", "points": 150, "balanceChange": -150}
    assert integrity_problems(store.install.pk) == []


def test_a_deduction_beyond_the_available_points_is_refused_and_changes_nothing(store):
    member = store.member()
    earn(member, 100, "earned", expires_in_days=30)
    with pytest.raises(AdjustmentError) as refused:
        adjust_points(member, points=-101, reason="too much", actor="ops@shop", key="deduct-2")
    assert refused.value.code == "INSUFFICIENT_POINTS"
    assert "only 100 points" in refused.value.message
    assert member_balances(member).available == 100
    assert not Transfer.objects.filter(kind=TransferKind.ADJUST).exists()
    assert Lot.objects.get(member=member).remaining == 100


def test_held_and_pending_points_cannot_be_deducted(store):
    member = store.member()
    earn(member, 100, "earned", expires_in_days=30)
    with transaction.atomic():
        actions.hold(member=member, points=60, key="hold")
    with transaction.atomic():
        actions.earn(
            member=member, points=500, key="pending", source="order", unlocks_at=timezone.now() + timedelta(days=14)
        )
    with pytest.raises(AdjustmentError):
        adjust_points(member, points=-41, reason="x", actor="ops", key="deduct-3")
    assert adjust_points(member, points=-40, reason="x", actor="ops", key="deduct-4").available == 0


def test_the_same_key_adjusts_once(store):
    member = store.member()
    for _ in range(3):
        adjust_points(member, points=75, reason="goodwill", actor="ops", key="same")
        adjust_points(member, points=-25, reason="undo part", actor="ops", key="same-deduction")
    assert member_balances(member).available == 50
    assert Transfer.objects.filter(kind=TransferKind.ADJUST).count() == 2


@pytest.mark.parametrize(
    ("points", "reason", "key"),
    [(0, "r", "k"), (10_000_001, "r", "k"), (-10_000_001, "r", "k"), (True, "r", "k"), (5, "  ", "k"), (5, "r", "")],
)
def test_bad_adjustments_are_refused_with_a_clear_error(store, points, reason, key):
    with pytest.raises(AdjustmentError) as refused:
        adjust_points(store.member(), points=points, reason=reason, actor="ops", key=key)
    assert refused.value.code == "INVALID"
    assert not Transfer.objects.exists()


def test_a_merged_guest_is_adjusted_on_the_account_that_absorbed_it(store):
    account = store.member()
    guest = guest_member(store.install, "shopper@example.com")
    with transaction.atomic():
        actions.merge_members(source=guest, target=account, key="merge")
    adjust_points(guest, points=30, reason="guest order credit", actor="ops", key="guest-credit")
    assert member_balances(account).available == 30


def command(store, name, *args):
    """Run an operator command against the store; returns what it printed."""
    out = io.StringIO()
    call_command(name, "--install", store.install.saleor_api_url, *args, stdout=out)
    return out.getvalue()


def test_the_operator_command_adjusts_by_user_id_or_email(store):
    member_for_user(store.install, "VXNlcjox", "Shopper@Example.com")
    vip = ("--user-id", "VXNlcjox", "--points", "500", "--reason", "vip", "--key", "ticket-42")
    assert "available 500" in command(store, "adjust_points", *vip)
    assert "available 500" in command(store, "adjust_points", *vip)  # a retry with the same key changes nothing
    command(store, "adjust_points", "--email", "shopper@example.com", "--points", "-200", "--reason", "correction")
    assert member_balances(store.member()).available == 300
    with pytest.raises(CommandError, match="INSUFFICIENT_POINTS"):
        command(store, "adjust_points", "--user-id", "VXNlcjox", "--points", "-301", "--reason", "x")
    with pytest.raises(CommandError, match="no such customer"):
        command(store, "adjust_points", "--user-id", "VXNlcjo5", "--points", "5", "--reason", "x")


def test_show_member_prints_what_support_needs(store):
    member = member_for_user(store.install, "VXNlcjox", "shopper@example.com")
    earn(member, 120, "earned", expires_in_days=30)
    adjust_points(member, points=-20, reason="correction", actor="ops", key="fix")
    text = command(store, "show_member", "--email", "shopper@example.com")
    assert "available 100  pending 0  held 0  owed 0  net 100" in text
    assert "100/120 available, order" in text
    assert "ADJUSTED" in text and "balance -20" in text and "EARNED" in text
    with pytest.raises(CommandError, match="no such customer"):
        command(store, "show_member", "--email", "nobody@example.com")


ADJUST = """
mutation Adjust($customerId: ID!, $points: Int!, $reason: String!, $key: String!) {
  adjustPoints(customerId: $customerId, points: $points, reason: $reason, idempotencyKey: $key) {
    balance { available held }
    errors { field code message }
  }
}
"""


def adjust_by_staff(store, token, points, key="d1", customer="VXNlcjox", reason="goodwill"):
    variables = {"customerId": customer, "points": points, "reason": reason, "key": key}
    return gql(ADJUST, variables, token=token)


def test_staff_adjust_points_from_the_dashboard(store):
    store.member()
    token = store.saleor.app_token_for_dashboard(["MANAGE_USERS"], email="agent@shop.example")
    result = adjust_by_staff(store, token, 300)["data"]["adjustPoints"]
    assert result == {"balance": {"available": 300, "held": 0}, "errors": []}
    assert adjust_by_staff(store, token, 300)["data"]["adjustPoints"]["balance"]["available"] == 300  # a retry
    assert Transfer.objects.get(kind=TransferKind.ADJUST).memo["actor"] == "agent@shop.example"
    refused = adjust_by_staff(store, token, -301, key="d2")["data"]["adjustPoints"]
    assert refused["errors"] == [
        {"field": "points", "code": "INSUFFICIENT_POINTS", "message": "only 300 points are available to deduct"}
    ]
    assert refused["balance"]["available"] == 300
    blank = adjust_by_staff(store, token, 5, key="d3", reason=" ")["data"]["adjustPoints"]["errors"]
    assert [(e["field"], e["code"]) for e in blank] == [("reason", "INVALID")]
    unknown = adjust_by_staff(store, token, 5, key="d4", customer="VXNlcjo5")["data"]["adjustPoints"]["errors"]
    assert [(e["field"], e["code"]) for e in unknown] == [("customerId", "NOT_FOUND")]


def test_only_staff_with_manage_users_may_adjust(store):
    store.member()
    without = store.saleor.app_token_for_dashboard(["MANAGE_ORDERS"])
    codes = []
    for token in (without, store.token(), None):
        result = adjust_by_staff(store, token, 300)
        assert result["data"] is None
        codes.append(result["errors"][0]["extensions"]["code"])
    assert codes == ["PERMISSION_DENIED", "INVALID_TOKEN", "UNAUTHENTICATED"]
    assert not Transfer.objects.filter(kind=TransferKind.ADJUST).exists()
