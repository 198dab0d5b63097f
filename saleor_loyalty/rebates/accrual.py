"""Accruing an order's rebate: state-based and idempotent, like an order's points (``program.orders``).

Called for every order state the program reconciled (``order_reconciled``, inside the order's transaction, the
order's award and its member locked). From the order's current state compute what it contributes to its period,
recompute the period's rebate from all of the period's orders (a refund can drop the whole period below a band),
compare with what the period holds and post the difference — attributed to this order, the one whose change
caused it. A delivery repeated changes nothing (same contribution, same rebate); a payload older than the newest
one applied (``state_updated_at``) is ignored. What the shopper paid with the program's store credit earns no rebate
(``spent_credit``).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.core.money import to_minor_units
from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.program import config
from saleor_loyalty.program.snapshots import OrderSnapshot
from saleor_loyalty.tiers.queries import tier_name

from . import movements
from .accounts import rebate_accounts
from .models import RebateOrder, RebatePeriod, RebateProgram
from .periods import period_of
from .rules import OrderContribution, order_contribution, period_rebate
from .spent_credit import store_credit_spent
from .terms import RebateTerms, program_terms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RebateChange:
    order_id: str
    period: str
    change: int  # minor units this delivery accrued (positive) or reversed (negative)
    period_rebate: int  # the period's rebate now


def _programs(install: Install) -> dict[tuple[str, str], RebateProgram]:
    """The store's rebate programs by (channel, currency); per process while an event is processed."""
    return config.cached(
        install.pk,
        "rebate_programs",
        lambda: {(p.channel_slug, p.currency): p for p in RebateProgram.objects.filter(install=install)},
    )


def reconcile_order_rebate(
    install: Install, order: OrderSnapshot, member: Member, *, was_fully_paid: bool, now: datetime | None = None
) -> RebateChange | None:
    """Bring the ledger's rebate for the order's period in line with the order's state. None: nothing to do (no
    program for its channel and currency, a stale payload, an order that never accrued and does not now)."""
    program = _programs(install).get((order.channel_slug, order.currency))
    if program is None:
        return None
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        rebate_order = RebateOrder.objects.select_for_update().filter(install=install, order_id=order.id).first()
        if rebate_order is None:
            return _first_accrual(install, program, order, member, was_fully_paid=was_fully_paid, now=now)
        if rebate_order.state_updated_at is not None and order.updated_at < rebate_order.state_updated_at:
            return None
        terms = RebateTerms.from_json(rebate_order.terms)
        tier = rebate_order.contribution.get("tier")
        contribution = order_contribution(
            order,
            terms,
            tier=tier,
            was_fully_paid=was_fully_paid,
            store_credit=store_credit_spent(install, member, order),
        )
        period = RebatePeriod.objects.select_for_update().get(pk=rebate_order.period_id)
        return _settle(program, period, rebate_order, contribution, order, now=now)


def _first_accrual(
    install: Install,
    program: RebateProgram,
    order: OrderSnapshot,
    member: Member,
    *,
    was_fully_paid: bool,
    now: datetime,
) -> RebateChange | None:
    """An order seen for the first time: it joins its period once it is worth something, under the program's
    terms now (frozen on it) and the member's tier now."""
    if not program.is_active:
        return None
    terms = program_terms(program)
    contribution = order_contribution(
        order,
        terms,
        tier=tier_name(member),
        was_fully_paid=was_fully_paid,
        store_credit=store_credit_spent(install, member, order),
    )
    if contribution.spend <= 0:
        return None
    period = _lock_period(install, program, member, order, terms)
    rebate_order = RebateOrder.objects.create(
        install=install,
        order_id=order.id,
        order_number=order.number,
        program=program,
        member=member,
        period=period,
        placed_at=order.created,
        terms=terms.to_json(),
        contribution={},
    )
    return _settle(program, period, rebate_order, contribution, order, now=now)


def _lock_period(
    install: Install, program: RebateProgram, member: Member, order: OrderSnapshot, terms: RebateTerms
) -> RebatePeriod:
    """The member's period of the order, locked; a new one freezes the program's terms now."""
    span = period_of(order.created, program.period, program.time_zone)
    RebatePeriod.objects.bulk_create(
        [
            RebatePeriod(
                install=install,
                program=program,
                member=member,
                period=span.key,
                starts_at=span.starts_at,
                ends_at=span.ends_at,
                currency=program.currency,
                terms=terms.to_json(),
            )
        ],
        ignore_conflicts=True,
    )
    return RebatePeriod.objects.select_for_update().get(program=program, member=member, period=span.key)


def _settle(
    program: RebateProgram,
    period: RebatePeriod,
    rebate_order: RebateOrder,
    contribution: OrderContribution,
    order: OrderSnapshot,
    now: datetime,
) -> RebateChange:
    """Store the order's contribution, recompute the period and post the difference, attributed to the order."""
    others = [
        OrderContribution.from_json(other.contribution)
        for other in RebateOrder.objects.filter(period=period).exclude(pk=rebate_order.pk)
        if other.contribution
    ]
    rebate = period_rebate(RebateTerms.from_json(period.terms), [*others, contribution])
    change = rebate.minor - period.accrued
    if change:
        accounts = rebate_accounts(period.member, period.currency)
        period.revision += 1
        key = f"rebate:{period.pk}:r{period.revision}"
        if change > 0:
            movements.accrue(period, accounts, amount=change, key=key, order_id=order.id)
            period.release_at = now + timedelta(days=program.return_window_days)
            rebate_order.accrued += change
        else:
            movements.reverse(
                period, accounts, amount=-change, key=key, order_id=order.id, policy=program.recovery_policy
            )
            rebate_order.reversed += -change
        rebate_order.revision += 1
    period.spend = _money(rebate.spend)
    period.save()
    rebate_order.contribution = contribution.to_json()
    rebate_order.spend = _money(contribution.spend)
    rebate_order.state_updated_at = order.updated_at
    rebate_order.payments = payments_json(order)
    rebate_order.save()
    if change:
        logger.info(
            "rebate reconciled",
            extra={"data": {"order_id": order.id, "period": period.period, "change": change, "rebate": rebate.minor}},
        )
    return RebateChange(order.id, period.period, change, rebate.minor)


def payments_json(order: OrderSnapshot) -> list[dict[str, object]]:
    """The order's payments as ``RebateOrder.payments`` keeps them (minor units): what a Stripe payout may refund."""
    return [
        {
            "psp_reference": payment.psp_reference,
            "name": payment.name,
            "app": payment.app_identifier,
            "charged": to_minor_units(payment.charged, order.currency),
            "refunded": to_minor_units(payment.refunded, order.currency),
        }
        for payment in order.payments
    ]


def _money(amount: Fraction) -> Decimal:
    """A display copy of an exact spend (4 decimals, rounded down); computations read the exact contributions."""
    return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
