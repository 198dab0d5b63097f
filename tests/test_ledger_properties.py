"""Property: any sequence of order deliveries (repeated, reordered, interleaved with spending) leaves a sound
ledger that matches, order by order, what each order's newest delivered state is worth."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saleor_loyalty.ledger import actions
from saleor_loyalty.ledger.errors import InsufficientBalance
from saleor_loyalty.ledger.models import Lot
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.earning import order_points
from saleor_loyalty.program.models import OrderAward
from saleor_loyalty.program.orders import reconcile_order
from saleor_loyalty.program.rules import current_rule
from tests.factories import later, line, make_install, order

pytestmark = pytest.mark.django_db


def order_history(order_index: int, unit: str, refunds: list[int], cancel: bool) -> list:
    """Successive states of one order: paid, then each refund (percent of total), then maybe cancelled."""
    paid = order(f"order-{order_index}", lines=(line(f"line-{order_index}", quantity=2, unit=unit),))
    states = [paid]
    refunded = Decimal(0)
    for percent in refunds:
        refunded = min(paid.total_gross, refunded + paid.total_gross * percent / 100).quantize(Decimal("0.01"))
        charged = paid.total_gross - refunded
        states.append(
            later(
                states[-1],
                total_charged=charged,
                total_refunded=refunded,
                charge_status="FULL" if charged == paid.total_gross else "PARTIAL" if charged else "NONE",
            )
        )
    if cancel:
        states.append(later(states[-1], status="CANCELED"))
    return states


order_specs = st.lists(
    st.tuples(
        st.sampled_from(["0.35", "9.99", "12.50", "40.00", "0.05"]),
        st.lists(st.integers(1, 60), max_size=3),
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=order_specs, data=st.data())
def test_any_delivery_sequence_leaves_a_sound_ledger(db, specs, data):
    with transaction.atomic():
        install = make_install()
        histories = [order_history(i, *spec) for i, spec in enumerate(specs)]
        deliveries = data.draw(
            st.lists(
                st.tuples(st.integers(0, len(histories) - 1), st.integers(0, 10), st.booleans()),
                min_size=1,
                max_size=25,
            )
        )
        newest: dict[int, int] = {}
        for order_index, state_pick, spend in deliveries:
            history = histories[order_index]
            state_index = state_pick % len(history)
            reconcile_order(install, history[state_index])
            newest[order_index] = max(newest.get(order_index, -1), state_index)
            member = Member.objects.get(install=install)
            if spend:  # the shopper spends half of what is spendable, after points unlock
                for lot in Lot.objects.filter(member=member, unlocked_at__isnull=True):
                    actions.unlock(lot)
                available = member_balances(member).available
                if available >= 2:
                    try:
                        hold = actions.hold(
                            member=member, points=available // 2, key=f"spend-{len(newest)}-{available}"
                        )
                        actions.capture(pending_id=hold, key=f"capture-{hold}")
                    except InsufficientBalance:
                        pytest.fail("a hold within the available balance was refused")

        assert integrity_problems(install.pk) == []
        member = Member.objects.get(install=install)
        expected_exact = Decimal(0)
        for order_index, state_index in newest.items():
            state = histories[order_index][state_index]
            worth = order_points(state, current_rule(install, state.channel_slug, state.currency), was_fully_paid=True)
            award = OrderAward.objects.get(install=install, order_id=state.id)
            assert award.points == int(worth) and award.exact_points == worth
            expected_exact += worth
        balances = member_balances(member)
        assert balances.lifetime == int(expected_exact)
        assert member.carry_points == int(member.earn_accrual)
        assert balances.available >= 0 and balances.pending >= 0 and balances.owed >= 0
        transaction.set_rollback(True)
