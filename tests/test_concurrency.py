"""Concurrent writers on PostgreSQL: row locks and unique keys, not luck, keep the ledger right."""

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connections, transaction

from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.errors import InsufficientBalance
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.orders import reconcile_order
from tests.factories import later, line, make_install, order

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(count: int, work: Callable[[int], object], timeout: float = 60) -> list[object]:
    """Start ``count`` threads at once (each with its own DB connection); return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def target(index: int) -> None:
        close_old_connections()
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def test_one_order_delivered_concurrently_awards_once():
    install = make_install()
    snapshot = order(lines=(line(unit="120.00"),))
    results = run_in_threads(8, lambda _: reconcile_order(install, snapshot))
    assert not [r for r in results if isinstance(r, Exception)]
    member = Member.objects.get(install=install)
    assert member_balances(member).pending == 120
    assert integrity_problems(install.pk) == []


def test_concurrent_refund_and_payment_deliveries_converge():
    install = make_install()
    paid = order(lines=(line(quantity=4, unit="25.00"),))
    refunded = later(
        paid, total_charged=paid.total_gross / 2, charge_status="PARTIAL", total_refunded=paid.total_gross / 2
    )
    snapshots = [paid, refunded] * 4
    results = run_in_threads(8, lambda i: reconcile_order(install, snapshots[i]))
    assert not [r for r in results if isinstance(r, Exception)]
    assert member_balances(Member.objects.get(install=install)).pending == 50
    assert integrity_problems(install.pk) == []


def test_concurrent_holds_never_spend_more_than_the_balance():
    install = make_install()
    member = member_for_user(install, "VXNlcjo5", "rich@example.com")
    with transaction.atomic():
        actions.earn(member=member, points=100, key="earn", source="adjustment")

    def spend(index: int) -> int:
        with transaction.atomic():
            return actions.hold(member=member, points=30, key=f"hold-{index}")

    results = run_in_threads(10, spend)
    succeeded = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientBalance)]
    assert len(succeeded) == 3 and len(refused) == 7
    balances = member_balances(member)
    assert (balances.available, balances.held) == (10, 90)
    assert integrity_problems(install.pk) == []


def test_many_orders_of_one_member_concurrently_keep_fractions_exact():
    install = make_install()
    snapshots = [order(f"order-{i}", lines=(line(unit="10.30"),)) for i in range(8)]
    results = run_in_threads(8, lambda i: reconcile_order(install, snapshots[i]))
    assert not [r for r in results if isinstance(r, Exception)]
    member = Member.objects.get(install=install)
    assert member_balances(member).pending == 82  # floor(8 × 10.30)
    assert integrity_problems(install.pk) == []


def test_concurrent_deductions_never_take_the_balance_below_zero():
    from saleor_loyalty.program.adjustments import AdjustmentError, adjust_points

    install = make_install()
    member = member_for_user(install, "VXNlcjox")
    with transaction.atomic():
        actions.earn(member=member, points=100, key="funded", source="order")
    results = run_in_threads(
        6, lambda i: adjust_points(member, points=-40, reason="race", actor="ops", key=f"deduct-{i}")
    )
    refused = [r for r in results if isinstance(r, AdjustmentError)]
    assert len(refused) == 4 and all(r.code == "INSUFFICIENT_POINTS" for r in refused)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, AdjustmentError)]
    assert member_balances(member).available == 20
    assert integrity_problems(install.pk) == []
