"""Set-based settlement (``rebates.bulk``): a few hundred members settled in batches write exactly what settling
them one at a time by the rules would — the same transfers (keys, kinds, accounts, amounts, memos), counters and
payouts — a second run writes nothing, two runs at once write one set, and the audit reconciles to the cent."""

import itertools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.models import Account, AccountCode, Transfer
from saleor_loyalty.ledger.queries import integrity_problems
from saleor_loyalty.members.actions import member_for_user
from saleor_loyalty.rebates import movements, tasks
from saleor_loyalty.rebates.accounts import rebate_accounts
from saleor_loyalty.rebates.bulk import batches_of
from saleor_loyalty.rebates.models import PayoutState, RebateOrder, RebatePayout, RebatePeriod, RebateProgram
from saleor_loyalty.rebates.payers import PayoutRequest
from saleor_loyalty.rebates.periods import period_by_key
from saleor_loyalty.rebates.queries import ledger_problems, rebate_audit
from saleor_loyalty.rebates.settlement import close_period, release_due, settle_period
from tests.factories import make_install, rebate_program
from tests.test_concurrency import run_in_threads

OCTOBER, NOVEMBER = "2026-10", "2026-11"
NOVEMBER_CLOSED = datetime(2027, 1, 1, tzinfo=UTC)


class RecordingPayer:
    def __init__(self) -> None:
        self.requests: list[PayoutRequest] = []
        self.lock = threading.Lock()

    def pay(self, request: PayoutRequest) -> str:
        with self.lock:
            self.requests.append(request)
        return f"ref-{request.key}"


def _period(install: Install, program: RebateProgram, member: Any, key: str) -> RebatePeriod:
    span = period_by_key(key)
    return RebatePeriod.objects.create(
        install=install,
        program=program,
        member=member,
        period=key,
        starts_at=span.starts_at,
        ends_at=span.ends_at,
        currency=program.currency,
    )


def _accrue(period: RebatePeriod, amount: int, release_at: datetime) -> None:
    """An order's accrual, as the order path writes it: its row (what the audit adds up) and its transfer."""
    accounts = rebate_accounts(period.member, period.currency)
    period.revision += 1
    order_id = f"order-{period.pk}-{period.revision}"
    RebateOrder.objects.create(
        install_id=period.install_id,
        order_id=order_id,
        program=period.program,
        member=period.member,
        period=period,
        placed_at=period.starts_at,
        accrued=amount,
    )
    movements.accrue(period, accounts, amount=amount, key=f"rebate:{period.pk}:r{period.revision}", order_id=order_id)
    period.release_at = release_at
    period.save()


@dataclass
class Store:
    install: Install
    programs: dict[str, RebateProgram]


def build(members: int) -> Store:
    """Members with November accruals in a mix of states, in three USD programs (two net what is owed, one writes it
    off) that share each member's accounts: most past their return window, some still in it, some already payable
    (released by an earlier run), some in two or three programs; every 4th owes money paid in October and then
    refunded, sometimes more than November's payable."""
    install = make_install()
    programs = {
        "net": rebate_program(install),
        "write_off": rebate_program(install, channel_slug="second", recovery_policy="write_off"),
        "net_too": rebate_program(install, channel_slug="third", payout_method="stripe"),
    }
    past, early, later = datetime(2026, 12, 10, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC), NOVEMBER_CLOSED
    shoppers = [member_for_user(install, f"VXNlcjo{i}", f"s{i}@example.com") for i in range(members)]
    for i, member in enumerate(shoppers):
        with transaction.atomic():
            if i % 4 == 0:  # paid in October, then refunded: owed
                october = _period(install, programs["net"], member, OCTOBER)
                _accrue(october, 2000 + i, early)
        with transaction.atomic():
            release = later + timedelta(days=1) if i % 9 == 4 else (early if i % 6 == 1 else past)
            _accrue(_period(install, programs["net"], member, NOVEMBER), 500 + 37 * i % 4000, release)
            if i % 3 == 0:
                _accrue(_period(install, programs["write_off"], member, NOVEMBER), 300 + 11 * i % 900, past)
            if i % 10 == 0:
                _accrue(_period(install, programs["net_too"], member, NOVEMBER), 250 + i, past)
    close_period(install, OCTOBER, payer=RecordingPayer(), now=datetime(2026, 12, 3, tzinfo=UTC))
    for i, member in enumerate(shoppers):
        if i % 4 == 0:
            with transaction.atomic():
                october = RebatePeriod.objects.select_for_update().get(member=member, period=OCTOBER)
                owed = [300, 1500, 2000 + i, 900][i // 4 % 4]  # the third: more than some Novembers pay
                october.revision += 1
                refunded = RebateOrder.objects.filter(period=october).order_by("pk").first()
                assert refunded is not None
                RebateOrder.objects.filter(pk=refunded.pk).update(reversed=owed)
                movements.reverse(
                    october,
                    rebate_accounts(member, "USD"),
                    amount=owed,
                    key=f"rebate:{october.pk}:r{october.revision}",
                    order_id=refunded.order_id,
                    policy="net",
                )
                october.save()
    release_due(datetime(2026, 12, 5, tzinfo=UTC))  # the `early` ones: payable before the period is closed
    return Store(install, programs)


Expected = tuple[dict[str, tuple[Any, ...]], dict[int, tuple[int, ...]], dict[str, tuple[Any, ...]]]


def expected_settlement(store: Store, now: datetime) -> Expected:
    """What settling November must write, by the rules (docs/rebates.md), one period after the other in id order:
    release pending past its window; then, if anything is payable, a payout attempt (a revision): net what the
    member owes (``net`` programs; the owed balance shrinks for their next period), hold the rest for a payout."""
    owed = {
        a.member_id: max(0, a.debits_posted - a.credits_posted)
        for a in Account.objects.filter(install=store.install, code=AccountCode.REBATE_RECOVERABLE)
    }
    accounts = {
        (a.member_id, a.code): a.pk for a in Account.objects.filter(install=store.install, member__isnull=False)
    }
    paid_account = Account.objects.get(install=store.install, member__isnull=True, code=AccountCode.REBATES_PAID).pk
    transfers: dict[str, tuple[Any, ...]] = {}
    counters: dict[int, tuple[int, ...]] = {}
    payouts: dict[str, tuple[Any, ...]] = {}
    for p in (
        RebatePeriod.objects.filter(install=store.install, period=NOVEMBER).select_related("program").order_by("pk")
    ):
        pending_acc = accounts[(p.member_id, AccountCode.REBATE_PENDING)]
        payable_acc = accounts[(p.member_id, AccountCode.REBATE_PAYABLE)]
        recoverable_acc = accounts[(p.member_id, AccountCode.REBATE_RECOVERABLE)]
        memo = {"rebate_period": p.pk, "period": NOVEMBER, "program": p.program_id}
        revision, pending, payable, netted, paid = p.revision, p.pending, p.payable, p.netted, p.paid
        if pending and p.release_at is not None and p.release_at <= now:
            revision += 1
            transfers[f"rebate:{p.pk}:r{revision}:release"] = (
                "rebate_release",
                "posted",
                pending_acc,
                payable_acc,
                pending,
                memo,
            )
            pending, payable = 0, payable + pending
        if payable > 0:
            revision += 1
            net = min(payable, owed[p.member_id]) if p.program.recovery_policy == "net" else 0
            if net:
                owed[p.member_id] -= net
                key = f"rebate:{p.pk}:r{revision}:netting"
                transfers[key] = ("rebate_netting", "posted", payable_acc, recoverable_acc, net, memo)
                payable, netted = payable - net, netted + net
            if payable:
                key = f"rebate:{p.pk}:r{revision}:payout"
                transfers[key] = ("rebate_payout", "pending", payable_acc, paid_account, payable, memo)
                payouts[key] = (p.pk, p.member_id, p.program_id, payable, "USD", p.program.payout_method, "created")
                payable, paid = 0, paid + payable
        counters[p.pk] = (revision, p.accrued, pending, payable, paid, netted, p.recovery_raised, p.written_off)
    return transfers, counters, payouts


def actual_settlement(store: Store, after: int) -> Expected:
    transfers: dict[str, tuple[Any, ...]] = {
        t.idempotency_key: (t.kind, t.phase, t.debit_account_id, t.credit_account_id, t.amount, t.memo)
        for t in Transfer.objects.filter(install_id=store.install.pk, pk__gt=after, phase__in=["posted", "pending"])
    }  # (a payer's answer, a hold posted, is not settlement's doing)
    counters: dict[int, tuple[int, ...]] = {
        p.pk: (p.revision, p.accrued, p.pending, p.payable, p.paid, p.netted, p.recovery_raised, p.written_off)
        for p in RebatePeriod.objects.filter(install=store.install, period=NOVEMBER)
    }
    payouts: dict[str, tuple[Any, ...]] = {
        p.idempotency_key: (p.period_id, p.member_id, p.program_id, p.amount, p.currency, p.method, p.state)
        for p in RebatePayout.objects.filter(install=store.install, period__period=NOVEMBER)
    }
    holds = dict(
        RebatePayout.objects.filter(install=store.install, period__period=NOVEMBER).values_list(
            "idempotency_key", "hold_transfer_id"
        )
    )
    assert all(Transfer.objects.get(pk=hold).idempotency_key == key for key, hold in holds.items())
    return transfers, counters, payouts


def assert_reconciles(install: Install) -> None:
    assert integrity_problems(install.pk) == []
    assert ledger_problems(install, "USD") == []
    for key in (OCTOBER, NOVEMBER):
        audits = rebate_audit(install, key)
        assert audits and all(audit.problems == () for audit in audits)


@pytest.mark.django_db
def test_settling_many_members_in_batches_writes_what_the_rules_say_once_and_reconciles():
    store = build(240)
    expected = expected_settlement(store, NOVEMBER_CLOSED)
    transfers, _, payouts = expected
    kinds = {kind for kind, *_ in transfers.values()}
    assert kinds == {"rebate_release", "rebate_netting", "rebate_payout"}  # the mix covers every step
    fully_netted = [
        k for k, t in transfers.items() if t[0] == "rebate_netting" and k.replace("netting", "payout") not in transfers
    ]
    assert fully_netted  # some members owed at least their whole payable: no payout
    last = Transfer.objects.order_by("-pk").values_list("pk", flat=True)[0]

    settled = settle_period(store.install, NOVEMBER, now=NOVEMBER_CLOSED, batch=64)

    assert actual_settlement(store, last) == expected
    assert settled.batches > 1 and len(settled.payouts) == len(payouts)
    waiting = RebatePeriod.objects.filter(install=store.install, period=NOVEMBER, pending__gt=0)
    assert waiting.exists() and not waiting.filter(closed_at__isnull=False).exists()
    assert not RebatePeriod.objects.filter(install=store.install, period=NOVEMBER, pending=0, closed_at=None).exists()
    assert_reconciles(store.install)

    again = settle_period(store.install, NOVEMBER, now=NOVEMBER_CLOSED, batch=64)  # nothing left to do
    assert (again.periods, again.payouts) == (0, [])
    assert actual_settlement(store, last) == expected

    payer = RecordingPayer()
    closed = close_period(store.install, NOVEMBER, payer=payer, now=NOVEMBER_CLOSED)  # only the payer calls remain
    assert (closed.payouts, closed.paid, closed.failed) == ([], len(payouts), 0)
    assert sorted(r.key for r in payer.requests) == sorted(payouts)
    assert {(r.key, r.amount) for r in payer.requests} == {(key, Decimal(p[3]) / 100) for key, p in payouts.items()}
    assert not RebatePayout.objects.filter(install=store.install, state=PayoutState.CREATED).exists()
    assert_reconciles(store.install)


@pytest.mark.django_db(transaction=True)
def test_two_settlements_at_once_create_one_set_of_payouts():
    store = build(60)
    transfers, counters, payouts = expected_settlement(store, NOVEMBER_CLOSED)
    last = Transfer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    payer = RecordingPayer()

    results = run_in_threads(
        2,
        lambda i: (
            close_period(store.install, NOVEMBER, payer=payer, now=NOVEMBER_CLOSED)
            if i
            else settle_period(store.install, NOVEMBER, now=NOVEMBER_CLOSED, batch=7)
        ),
        timeout=120,
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert actual_settlement(store, last)[:2] == (transfers, counters)
    rows = RebatePayout.objects.filter(install=store.install, period__period=NOVEMBER)
    assert rows.count() == len(payouts)
    close_period(store.install, NOVEMBER, payer=payer, now=NOVEMBER_CLOSED)  # whatever the race left unsent
    assert set(rows.values_list("state", flat=True)) == {PayoutState.PAID}
    assert {r.key for r in payer.requests} == set(payouts)  # a payout may be offered twice, under its one key
    assert_reconciles(store.install)


@pytest.mark.django_db
def test_a_period_that_never_accrued_is_closed_and_its_members_accounts_opened():
    install = make_install()
    program = rebate_program(install)
    member = member_for_user(install, "VXNlcjo5", "s9@example.com")
    with transaction.atomic():
        period = _period(install, program, member, NOVEMBER)  # below the first band: nothing accrued, no accounts
    assert not Account.objects.filter(member=member).exists()
    settled = settle_period(install, NOVEMBER, now=NOVEMBER_CLOSED)
    period.refresh_from_db()
    assert (settled.periods, settled.payouts, period.closed_at, period.revision) == (1, [], NOVEMBER_CLOSED, 0)
    assert Account.objects.filter(member=member).count() == 3
    assert not Transfer.objects.filter(install_id=install.pk).exists()
    assert settle_period(install, NOVEMBER, now=NOVEMBER_CLOSED).periods == 0


def test_batches_hold_whole_members_in_member_then_period_order():
    pairs = [(m, 100 * m + k) for m in range(1, 40) for k in range(m % 3 + 1)]  # 1 to 3 periods per member
    batches = batches_of(reversed(pairs), 10)
    assert [pk for batch in batches for pk in batch] == [pk for _, pk in sorted(pairs)]
    member_of = {pk: m for m, pk in pairs}
    assert all(10 <= len(batch) <= 12 for batch in batches[:-1])  # cut at the first member boundary past 10
    members_per_batch = [{member_of[pk] for pk in batch} for batch in batches]
    for one, other in itertools.pairwise(members_per_batch):
        assert not one & other  # no member in two batches
    assert batches_of([], 10) == []


@pytest.mark.django_db(transaction=True)
def test_settling_on_several_connections_at_once_writes_what_the_rules_say():
    store = build(120)
    expected = expected_settlement(store, NOVEMBER_CLOSED)
    last = Transfer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    committed: list[int] = []

    settled = settle_period(
        store.install,
        NOVEMBER,
        now=NOVEMBER_CLOSED,
        batch=16,
        workers=3,
        on_batch=lambda b: committed.append(b.periods),
    )

    assert actual_settlement(store, last) == expected  # netting in period order, however the batches interleaved
    assert settled.batches > 3 and len(committed) == settled.batches and sum(committed) == settled.periods
    assert len(settled.payouts) == len(expected[2])
    assert_reconciles(store.install)
    assert settle_period(store.install, NOVEMBER, now=NOVEMBER_CLOSED, workers=3).periods == 0


@pytest.mark.django_db(transaction=True)
def test_the_hourly_task_hands_each_batch_to_a_worker_and_each_batch_its_payouts(monkeypatch):
    store = build(60)
    expected = expected_settlement(store, NOVEMBER_CLOSED)
    last = Transfer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    handed: list[tuple[list[int], str, bool]] = []
    sent: list[list[int]] = []
    monkeypatch.setattr(tasks.settle_rebate_batch, "delay", lambda *args: handed.append(args))
    monkeypatch.setattr(tasks.send_rebate_payouts, "delay", sent.append)
    monkeypatch.setattr(tasks, "finish_waiting", lambda: 0)

    summary = tasks.settle_rebates(NOVEMBER_CLOSED.isoformat(), batch=8)

    assert summary["batches"] == len(handed) > 1 and summary["dispatched"] == 0  # nothing was left waiting
    assert actual_settlement(store, last)[0] == {}  # the run itself settled nothing
    results = run_in_threads(len(handed), lambda i: tasks.settle_rebate_batch(*handed[i]), timeout=120)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert actual_settlement(store, last) == expected
    created = RebatePayout.objects.filter(install=store.install, period__period=NOVEMBER).values_list("pk", flat=True)
    assert sorted(pk for chunk in sent for pk in chunk) == sorted(created)  # each sent by the batch that made it
    assert_reconciles(store.install)


@pytest.mark.django_db
def test_the_periodic_run_finds_what_is_due_by_index_however_many_periods_were_closed_before():
    """Years of closed periods are never read to find what is due now: periods with money by
    ``rebate_period_to_settle``, the empty ones of the same keys by ``rebate_period_by_period``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from saleor_loyalty.rebates.settlement import due_now

    store = build(40)
    program = store.programs["net"]
    with connection.cursor() as cursor:  # 40 members × 250 months, long closed
        cursor.execute(
            """
            INSERT INTO rebates_period (install_id, program_id, member_id, period, starts_at, ends_at, currency,
                                        terms, revision, spend, accrued, pending, payable, paid, netted,
                                        recovery_raised, written_off, closed_at, created_at, updated_at)
            SELECT %(install)s, %(program)s, m.id, 'old-' || k,
                   now() - interval '30 years', now() - interval '29 years', 'USD', '{}'::jsonb,
                   1, 10, 100, 0, 0, 100, 0, 0, 0, now() - interval '29 years', now(), now()
            FROM members_member m CROSS JOIN generate_series(1, 250) AS k
            WHERE m.install_id = %(install)s;
            ANALYZE rebates_period;
            """,
            {"install": store.install.pk, "program": program.pk},
        )
    with CaptureQueriesContext(connection) as found:
        due = due_now(NOVEMBER_CLOSED)
    assert due.periods and not any(
        p.period.startswith("old-")
        for p in RebatePeriod.objects.filter(pk__in=[pk for batch in due.ended for pk in batch])
    )
    plans = []
    with connection.cursor() as cursor:
        for query in found.captured_queries:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert plans and all("Seq Scan on rebates_period" not in plan for plan in plans), plans
