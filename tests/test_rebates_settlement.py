"""Rebates settle: pending through the return window, payable, paid once through a payer; money reversed after
payout is owed and netted (or written off); the audit reconciles to the ledger to the cent."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from saleor_loyalty.ledger.models import Account, AccountCode
from saleor_loyalty.ledger.queries import account_balance, integrity_problems
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.rebates import payers
from saleor_loyalty.rebates.models import PayoutState, RebatePayout, RebatePeriod
from saleor_loyalty.rebates.payers import PayoutFailed, PayoutRequest
from saleor_loyalty.rebates.queries import ledger_problems, rebate_audit, rebate_progress, rebate_statement
from saleor_loyalty.rebates.settlement import close_period, release_due, settle_rebates
from tests.factories import later, line, order, rebate_program

pytestmark = pytest.mark.django_db

NOVEMBER_CLOSED = datetime(2027, 1, 1, tzinfo=UTC)  # past November's end and every return window
DECEMBER_CLOSED = datetime(2027, 2, 1, tzinfo=UTC)


class RecordingPayer:
    """A payer that records each request; ``fail`` makes it refuse (nothing paid)."""

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[PayoutRequest] = []
        self.fail = fail

    def pay(self, request: PayoutRequest) -> str:
        self.requests.append(request)
        if self.fail:
            raise PayoutFailed("card declined")
        return f"ref-{len(self.requests)}"


def member(install):
    return Member.objects.get(install=install, saleor_user_id="VXNlcjox")


def period(install, key="2026-11"):
    return RebatePeriod.objects.get(install=install, period=key)


def program_balance(install, code, currency="USD"):
    return account_balance(Account.objects.get(install=install, member__isnull=True, code=code, unit=currency))


def december(order_id, unit):
    return replace(order(order_id, lines=(line(unit=unit),)), created=datetime(2026, 12, 5, tzinfo=UTC))


def assert_reconciles(install, *periods):
    assert integrity_problems(install.pk) == []
    assert ledger_problems(install, "USD") == []
    for key in periods or ("2026-11",):
        audits = rebate_audit(install, key)
        assert audits and all(audit.problems == () for audit in audits)
        for audit in audits:  # the rows' totals, to the cent, are the ledger's
            assert {name: getattr(audit, name) for name in audit.ledger} == audit.ledger


def test_pending_becomes_payable_after_the_return_window(install):
    rebate_program(install, return_window_days=14)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    now = timezone.now()
    assert release_due(now + timedelta(days=13)) == 0
    assert release_due(now + timedelta(days=15)) == 1
    assert release_due(now + timedelta(days=15)) == 0
    row = period(install)
    assert (row.pending, row.payable) == (0, 1400)
    assert_reconciles(install)


def test_closing_a_period_pays_each_member_once_even_when_called_twice(install):
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="1200.00"),)))
    payer = RecordingPayer()
    first = close_period(install, "2026-11", payer=payer, now=NOVEMBER_CLOSED)
    again = close_period(install, "2026-11", payer=payer, now=NOVEMBER_CLOSED)
    assert (len(first.payouts), first.paid, len(again.payouts), again.paid) == (1, 1, 0, 0)
    assert [(r.amount, r.currency, r.method) for r in payer.requests] == [(Decimal("36.00"), "USD", "store_credit")]
    payout = RebatePayout.objects.get()
    assert (payout.state, payout.reference, payout.amount) == (PayoutState.PAID, "ref-1", 3600)
    row = period(install)
    assert (row.payable, row.paid, row.closed_at) == (0, 3600, NOVEMBER_CLOSED)
    assert program_balance(install, AccountCode.REBATES_PAID) == 3600
    assert_reconciles(install)


def test_a_period_still_in_its_return_window_waits(install):
    rebate_program(install, return_window_days=60)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    payer = RecordingPayer()
    closed = close_period(install, "2026-11", payer=payer, now=timezone.now() + timedelta(days=30))
    assert (closed.waiting, closed.payouts, payer.requests) == (1, [], [])


def test_a_failed_payout_gives_the_money_back_to_payable_and_is_paid_next_time(install):
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    closed = close_period(install, "2026-11", payer=RecordingPayer(fail=True), now=NOVEMBER_CLOSED)
    assert closed.failed == 1
    row = period(install)
    assert (row.payable, row.paid) == (1400, 0)
    assert RebatePayout.objects.get().failure == "card declined"
    assert close_period(install, "2026-11", payer=RecordingPayer(), now=NOVEMBER_CLOSED).paid == 1
    assert period(install).paid == 1400
    assert_reconciles(install)


def test_a_refund_after_payout_is_owed_and_netted_against_the_next_periods_rebate(install):
    rebate_program(install)
    november = order("o-nov", lines=(line(unit="1200.00"),))
    reconcile_order(install, november)
    close_period(install, "2026-11", payer=RecordingPayer(), now=NOVEMBER_CLOSED)  # 36.00 paid
    reconcile_order(install, later(november, total_charged=Decimal(600), total_refunded=Decimal(600)))
    row = period(install)
    assert (row.accrued, row.recovery_raised) == (1200, 2400)  # 2 % of 600 now: 24.00 paid too much
    assert account_balance(Account.objects.get(code=AccountCode.REBATE_RECOVERABLE)) == -2400
    progress = rebate_progress(member(install), "default-channel", "USD", now=datetime(2026, 12, 6, tzinfo=UTC))
    assert progress is not None and progress.owed == Decimal("24.00")

    reconcile_order(install, december("o-dec", "1000.00"))  # 3 % of 1,000 = 30.00
    payer = RecordingPayer()
    close_period(install, "2026-12", payer=payer, now=DECEMBER_CLOSED)
    assert [r.amount for r in payer.requests] == [Decimal("6.00")]  # 30.00 − 24.00 owed
    assert period(install, "2026-12").netted == 2400
    assert account_balance(Account.objects.get(code=AccountCode.REBATE_RECOVERABLE)) == 0
    statement = rebate_statement(member(install), "2026-12")[0]
    assert (statement.rebate, statement.netted, statement.paid) == (Decimal("30.00"), Decimal("24.00"), Decimal("6.00"))
    assert_reconciles(install, "2026-11", "2026-12")


def test_a_refund_after_payout_is_written_off_by_policy(install):
    rebate_program(install, recovery_policy="write_off")
    november = order("o-nov", lines=(line(unit="1200.00"),))
    reconcile_order(install, november)
    close_period(install, "2026-11", payer=RecordingPayer(), now=NOVEMBER_CLOSED)
    reconcile_order(install, later(november, status="CANCELED"))
    row = period(install)
    assert (row.accrued, row.paid, row.written_off) == (0, 3600, 3600)
    assert program_balance(install, AccountCode.REBATES_WRITTEN_OFF) == -3600
    reconcile_order(install, december("o-dec", "1000.00"))
    payer = RecordingPayer()
    close_period(install, "2026-12", payer=payer, now=DECEMBER_CLOSED)
    assert [r.amount for r in payer.requests] == [Decimal("30.00")]  # nothing owed: nothing netted
    assert_reconciles(install, "2026-11", "2026-12")


def test_reaching_the_minimum_payout_pays_before_the_period_ends(install, monkeypatch):
    monkeypatch.setattr(payers, "_payers", {})  # no payer for store credit: the payout waits
    rebate_program(install, minimum_payout=Decimal("20.00"), return_window_days=0)
    reconcile_order(install, order("o-1", lines=(line(unit="600.00"),)))  # 12.00: below the minimum
    release_due(timezone.now() + timedelta(seconds=1))
    assert not RebatePayout.objects.exists() and period(install).payable == 1200
    reconcile_order(install, order("o-2", lines=(line(unit="500.00"),)))  # 3 % of 1,100 = 33.00
    release_due(timezone.now() + timedelta(seconds=1))
    payout = RebatePayout.objects.get()
    assert (payout.amount, payout.state) == (3300, PayoutState.CREATED)  # created when released, sent by the run
    assert settle_rebates(now=timezone.now())["waiting"] == 1
    assert_reconciles(install)


def test_progress_shows_the_period_so_far_and_the_next_band(install):
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    progress = rebate_progress(member(install), "default-channel", "USD", now=datetime(2026, 11, 20, tzinfo=UTC))
    assert progress is not None
    assert (progress.period, progress.spend, progress.rate) == ("2026-11", Decimal("700.00"), Decimal(2))
    assert (progress.next_threshold, progress.next_rate, progress.spend_to_next) == (
        Decimal(1000),
        Decimal(3),
        Decimal("300.00"),
    )
    assert (progress.accrued, progress.pending, progress.payable, progress.paid) == (
        Decimal("14.00"),
        Decimal("14.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert rebate_progress(member(install), "other-channel", "USD") is None


def test_the_statement_says_how_and_with_what_reference_it_was_paid(install):
    rebate_program(install, payout_method="stripe")
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    close_period(install, "2026-11", payer=RecordingPayer(), now=NOVEMBER_CLOSED)
    statement = rebate_statement(member(install), "2026-11")[0]
    assert [(p.amount, p.method, p.reference, p.state) for p in statement.payouts] == [
        (Decimal("14.00"), "stripe", "ref-1", "paid")
    ]
    assert (statement.accrued, statement.paid, statement.pending, statement.payable) == (
        Decimal("14.00"),
        Decimal("14.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_the_hourly_run_settles_ended_periods_through_the_registered_payer(install, monkeypatch):
    monkeypatch.setattr(payers, "_payers", {})
    payer = RecordingPayer()
    payers.register_payer("store_credit", payer)
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    assert settle_rebates(now=NOVEMBER_CLOSED)["released"] == 1
    assert settle_rebates(now=NOVEMBER_CLOSED)["released"] == 0
    assert [r.amount for r in payer.requests] == [Decimal("14.00")]
    assert RebatePayout.objects.get().state == PayoutState.PAID
    assert_reconciles(install)


def _plans_of_transfer_reads(queries) -> list[str]:
    """EXPLAIN of each captured query that reads ledger_transfer (with its parameters, as it ran)."""
    from django.db import connection

    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            if "ledger_transfer" in query["sql"] and query["sql"].lstrip().upper().startswith("SELECT"):
                cursor.execute(f"EXPLAIN {query['sql']}")
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_a_shoppers_statement_and_the_statements_csv_read_their_members_transfers_by_index(install):
    """A store's other transfers are never read to find one member's: with 20,000 transfers of other members in
    the store, the statement (shopper API) and the statements CSV find the member's by ``transfer_member_history``
    (the memo names the period, but has no index)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saleor_loyalty.rebates.exports import statement_movements

    if connection.vendor != "postgresql":  # pragma: no cover - CI runs PostgreSQL (conftest)
        pytest.skip("plans are PostgreSQL's")
    rebate_program(install)
    reconcile_order(install, order(lines=(line(unit="700.00"),)))
    shopper = member(install)
    account = Account.objects.get(member=shopper, code=AccountCode.REBATE_PENDING)
    with connection.cursor() as cursor:  # other members' transfers: the rest of a busy store's ledger
        cursor.execute(
            """
            INSERT INTO members_member (install_id, saleor_user_id, email, earn_accrual, carry_points,
                                        lifetime_points, is_referee, created_at, updated_at)
            SELECT %(install)s, 'other-' || n, 'other' || n || '@example.com', 0, 0, 0, false, now(), now()
            FROM generate_series(1, 2000) AS n;
            INSERT INTO ledger_transfer (install_id, idempotency_key, kind, phase, debit_account_id,
                                         credit_account_id, amount, unit, member_id, memo, created_at)
            SELECT %(install)s, 'noise:' || n, 'rebate_accrue', 'posted', %(account)s, %(account)s + 1, 1, 'USD',
                   m.id, jsonb_build_object('rebate_period', 0), now()
            FROM generate_series(1, 20000) AS n
            JOIN members_member m ON m.saleor_user_id = 'other-' || (n %% 2000 + 1);
            ANALYZE ledger_transfer; ANALYZE members_member;
            """,
            {"install": install.pk, "account": account.pk},
        )
    with CaptureQueriesContext(connection) as statement:
        (read,) = rebate_statement(shopper, "2026-11")
    with CaptureQueriesContext(connection) as export:
        movements = list(statement_movements(install, "2026-11"))
    assert read.accrued == Decimal("14.00")
    assert [(m.line, m.customer_id, m.accrued) for m in movements if m.line == "member"] == [
        ("member", "VXNlcjox", Decimal("14.00"))
    ]
    for plan in _plans_of_transfer_reads([*statement.captured_queries, *export.captured_queries]):
        assert "transfer_member_history" in plan and "Seq Scan on ledger_transfer" not in plan, plan
