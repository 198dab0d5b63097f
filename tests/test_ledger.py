"""The ledger's rules, checked against PostgreSQL itself: idempotency, no overdraft, immutability, holds, lots."""

import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.accounts import member_accounts, program_account
from saleor_loyalty.ledger.errors import IdempotencyConflict, InsufficientBalance, InvalidTransfer
from saleor_loyalty.ledger.models import Account, AccountCode, Lot, Transfer, TransferKind
from saleor_loyalty.ledger.posting import post
from saleor_loyalty.ledger.queries import integrity_problems, member_balances, program_totals
from saleor_loyalty.members.actions import member_for_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(install):
    return member_for_user(install, "VXNlcjox", "shopper@example.com")


def earn_available(member, points, key, **kwargs):
    with transaction.atomic():
        return actions.earn(member=member, points=points, key=key, source="adjustment", **kwargs)


def test_transfer_with_same_key_is_posted_once(member):
    for _ in range(3):
        earn_available(member, 50, "k1")
    assert member_balances(member).available == 50
    assert Transfer.objects.filter(idempotency_key="k1").count() == 1


def test_same_key_for_a_different_transfer_is_refused(member):
    accounts = member_accounts(member)
    issued = program_account(member.install_id, AccountCode.ISSUED)
    with transaction.atomic():
        post(
            install_id=member.install_id,
            key="k",
            kind=TransferKind.ADJUST,
            debit=issued,
            credit=accounts.points,
            amount=10,
        )
    with pytest.raises(IdempotencyConflict), transaction.atomic():
        post(
            install_id=member.install_id,
            key="k",
            kind=TransferKind.ADJUST,
            debit=issued,
            credit=accounts.points,
            amount=11,
        )


@pytest.mark.parametrize("amount", [0, -5, 10**13, True, 1.5])
def test_invalid_amounts_are_refused(member, amount):
    accounts = member_accounts(member)
    issued = program_account(member.install_id, AccountCode.ISSUED)
    with pytest.raises(InvalidTransfer), transaction.atomic():
        post(
            install_id=member.install_id,
            key="bad",
            kind=TransferKind.ADJUST,
            debit=issued,
            credit=accounts.points,
            amount=amount,
        )
    assert not Transfer.objects.exists()


def test_overdraft_is_refused_and_nothing_is_written(member):
    earn_available(member, 30, "earn")
    accounts = member_accounts(member)
    redeemed = program_account(member.install_id, AccountCode.REDEEMED)
    with pytest.raises(InsufficientBalance), transaction.atomic():
        post(
            install_id=member.install_id,
            key="spend",
            kind=TransferKind.REDEEM,
            debit=accounts.points,
            credit=redeemed,
            amount=31,
        )
    assert not Transfer.objects.filter(idempotency_key="spend").exists()
    assert member_balances(member).available == 30


def test_database_itself_refuses_an_overdrawn_account(member):
    accounts = member_accounts(member)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=accounts.points.pk).update(debits_posted=1)


def test_transfers_are_immutable_in_postgres(member):
    earn_available(member, 10, "earn")
    transfer = Transfer.objects.get()
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_transfer SET amount = 1000 WHERE id = %s", [transfer.pk])
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_transfer WHERE id = %s", [transfer.pk])


@pytest.mark.django_db(transaction=True)
def test_a_lone_posting_outside_a_transaction_is_still_all_or_nothing(member):
    accounts = member_accounts(member)
    issued = program_account(member.install_id, AccountCode.ISSUED)
    redeemed = program_account(member.install_id, AccountCode.REDEEMED)
    post(
        install_id=member.install_id, key="in", kind=TransferKind.ADJUST, debit=issued, credit=accounts.points, amount=5
    )
    with pytest.raises(InsufficientBalance):
        post(
            install_id=member.install_id,
            key="out",
            kind=TransferKind.REDEEM,
            debit=accounts.points,
            credit=redeemed,
            amount=6,
        )
    assert member_balances(member).available == 5
    # the refused posting left nothing behind: its statement inserted the transfer and moved nothing
    assert Transfer.objects.filter(idempotency_key="out").exists() is False or pytest.fail("half-written")


def test_hold_then_release_restores_the_same_lots(member):
    soon = timezone.now() + timedelta(days=10)
    later = timezone.now() + timedelta(days=100)
    earn_available(member, 40, "late", expires_at=later)
    earn_available(member, 30, "soon", expires_at=soon)
    with transaction.atomic():
        hold_id = actions.hold(member=member, points=50, key="hold")
    balances = member_balances(member)
    assert (balances.available, balances.held) == (20, 50)
    assert Lot.objects.get(expires_at=soon).remaining == 0  # soonest expiry consumed first
    assert Lot.objects.get(expires_at=later).remaining == 20
    with transaction.atomic():
        actions.release(pending_id=hold_id, key="release")
    balances = member_balances(member)
    assert (balances.available, balances.held) == (70, 0)
    assert sorted(Lot.objects.values_list("remaining", flat=True)) == [30, 40]
    assert integrity_problems(member.install_id) == []


def test_partial_capture_spends_part_and_releases_the_rest(member):
    earn_available(member, 100, "earn")
    with transaction.atomic():
        hold_id = actions.hold(member=member, points=60, key="hold")
        actions.capture(pending_id=hold_id, key="capture", points=45)
    balances = member_balances(member)
    assert (balances.available, balances.held) == (55, 0)
    assert program_totals(member.install_id)[AccountCode.REDEEMED] == 45
    assert integrity_problems(member.install_id) == []


def test_a_hold_is_resolved_only_once(member):
    earn_available(member, 100, "earn")
    with transaction.atomic():
        hold_id = actions.hold(member=member, points=60, key="hold")
        actions.capture(pending_id=hold_id, key="capture")
        actions.capture(pending_id=hold_id, key="capture")  # a retry: same key, same result
    with pytest.raises(Exception, match="already resolved"), transaction.atomic():
        actions.release(pending_id=hold_id, key="release")
    assert member_balances(member).available == 40


def test_pending_lots_unlock_after_the_return_window(member):
    with transaction.atomic():
        lot = actions.earn(
            member=member, points=25, key="e", source="order", unlocks_at=timezone.now() + timedelta(days=14)
        )
    assert member_balances(member).pending == 25
    with transaction.atomic():
        assert actions.unlock(lot) is True
        assert actions.unlock(lot) is False
    balances = member_balances(member)
    assert (balances.available, balances.pending) == (25, 0)
    assert integrity_problems(member.install_id) == []


def test_clawback_of_spent_points_becomes_a_debt_repaid_from_future_points(member):
    earn_available(member, 100, "earn", order_id="order-1")
    with transaction.atomic():
        actions.capture(pending_id=actions.hold(member=member, points=80, key="h"), key="c")
        result = actions.claw_back(member=member, points=100, key="cb", order_id="order-1", write_off=False)
    assert (result.from_points, result.shortfall) == (20, 80)
    balances = member_balances(member)
    assert (balances.available, balances.owed, balances.net) == (0, 80, -80)
    earn_available(member, 50, "next")
    balances = member_balances(member)
    assert (balances.available, balances.owed) == (0, 30)
    earn_available(member, 50, "after")
    balances = member_balances(member)
    assert (balances.available, balances.owed) == (20, 0)
    assert integrity_problems(member.install_id) == []


def test_clawback_of_spent_points_can_be_written_off(member):
    earn_available(member, 100, "earn", order_id="order-1")
    with transaction.atomic():
        actions.capture(pending_id=actions.hold(member=member, points=80, key="h"), key="c")
        actions.claw_back(member=member, points=100, key="cb", order_id="order-1", write_off=True)
    balances = member_balances(member)
    assert (balances.available, balances.owed) == (0, 0)
    totals = program_totals(member.install_id)
    assert totals[AccountCode.WRITTEN_OFF] == -80
    assert totals[AccountCode.CLAWED_BACK] == 100
    assert integrity_problems(member.install_id) == []


def test_program_totals_sum_to_zero_with_member_balances(member):
    earn_available(member, 70, "a")
    with transaction.atomic():
        actions.capture(pending_id=actions.hold(member=member, points=20, key="h"), key="c")
    totals = program_totals(member.install_id)
    assert totals[AccountCode.ISSUED] == -70
    assert totals[AccountCode.REDEEMED] == 20
    assert totals["member_balance_sum"] == 50
    assert integrity_problems(member.install_id) == []


def test_spending_across_many_lots_takes_the_soonest_to_expire_first(member):
    base = timezone.now() + timedelta(days=1)
    for n in range(120):  # more lots than one locking batch
        earn_available(member, 5, f"lot-{n}", expires_at=base + timedelta(hours=n))
    with transaction.atomic():
        actions.hold(member=member, points=433, key="big")
    remaining = list(Lot.objects.order_by("expires_at").values_list("remaining", flat=True))
    assert remaining[:86] == [0] * 86 and remaining[86] == 2 and remaining[87:] == [5] * 33
    assert integrity_problems(member.install_id) == []


def test_postings_run_as_a_prepared_statement_on_postgresql(member):
    """Planning the posting's CTE cost more than running it (docs/benchmarks.md): psycopg prepares it on reuse."""
    for n in range(6):
        earn_available(member, 1, f"prepared-{n}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO ledger_transfer" in statement for statement in statements)
    assert member_balances(member).available == 6


def test_transfer_lookup_indexes_hold_no_null_entries_and_each_resolution_stays_unique():
    """The pending, reverses, lot and order indexes of ``ledger_transfer`` are partial (IS NOT NULL): a transfer
    without those costs no index entries. Lookups by them still use them, and the migration that made them partial
    kept the unique index that lets a pending transfer be resolved only once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_transfer'")
        indexes = dict(cursor.fetchall())
        for name, column in [
            ("transfer_pending", "pending_id"),
            ("transfer_reverses", "reverses_id"),
            ("transfer_lot", "lot_id"),
            ("transfer_of_order", "order_id"),
        ]:
            assert indexes[name].endswith(f"WHERE ({column} IS NOT NULL)"), indexes[name]
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(
                f"EXPLAIN SELECT id FROM ledger_transfer WHERE {column} = %s", ["1" if "order" in column else 1]
            )
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert name in plan or (column == "pending_id" and "transfer_pending_resolved_once" in plan), plan
        unindexed = [n for n, d in indexes.items() if re.search(r"\((pending|reverses|lot)_id\)$", d)]
        assert unindexed == []  # no full index left on those columns
    assert "CREATE UNIQUE INDEX transfer_pending_resolved_once" in indexes["transfer_pending_resolved_once"]
