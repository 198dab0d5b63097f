"""Reads of rebates: a shopper's progress this period, a statement per period, and the audit against the ledger.

Amounts come out as ``Decimal`` at the currency's precision (the ledger and the period rows hold minor units).
Progress and statements are computed by ``rules.period_rebate`` from the stored contributions — the same function
the accrual uses — so what the shopper is shown is what the ledger will hold.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_UP, Decimal
from fractions import Fraction

from django.db.models import F, Q, Sum
from django.utils import timezone

from saleor_loyalty.core.money import from_minor_units, quantum
from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.models import Account, AccountCode, Transfer, TransferKind, TransferPhase
from saleor_loyalty.ledger.queries import account_balance
from saleor_loyalty.members.models import Member
from saleor_loyalty.tiers.queries import tier_name

from .models import PartKind, PayoutState, RebateOrder, RebatePayout, RebatePeriod, RebateProgram, StoreCredit
from .periods import period_of
from .rules import OrderContribution, next_band, period_rebate
from .terms import BONUS, OVERRIDE, RebateTerms, program_terms


def rebate_programs(install: Install) -> list[RebateProgram]:
    """The store's rebate programs, by channel and currency (active or not)."""
    return list(RebateProgram.objects.filter(install=install).order_by("channel_slug", "currency"))


def rebate_program_by_id(install: Install, pk: int) -> RebateProgram | None:
    return RebateProgram.objects.filter(install=install, pk=pk).first()


def active_rebate_program(install: Install, channel: str, currency: str | None = None) -> RebateProgram | None:
    """The channel's active program in ``currency``; without one, the channel's only active program (a Saleor
    channel has one currency), None when it has none or several."""
    programs = RebateProgram.objects.filter(install=install, channel_slug=channel, is_active=True)
    if currency is not None:
        return programs.filter(currency=currency.upper()).first()
    found = list(programs.order_by("pk")[:2])
    return found[0] if len(found) == 1 else None


def rebate_period_keys(install: Install, *, limit: int = 24) -> list[str]:
    """The periods the store has rebates in, newest first (a month and its quarter both, when programs differ)."""
    rows = RebatePeriod.objects.filter(install=install).values_list("period", "starts_at", "ends_at").distinct()
    return [key for key, _, _ in rows.order_by("-starts_at", "ends_at", "period")[:limit]]


def member_period_keys(member: Member, *, limit: int = 24) -> list[str]:
    """The periods the member has rebates in, newest first."""
    rows = RebatePeriod.objects.filter(member=member).values_list("period", "starts_at", "ends_at").distinct()
    return [key for key, _, _ in rows.order_by("-starts_at", "ends_at", "period")[:limit]]


def _money(units: int, currency: str) -> Decimal:
    return from_minor_units(units, currency)


def _exact_money(amount: Fraction, currency: str, rounding: str) -> Decimal:
    return (Decimal(amount.numerator) / Decimal(amount.denominator)).quantize(quantum(currency), rounding=rounding)


@dataclass(frozen=True)
class PayoutPartView:
    """How part of a payout went out: a Stripe refund of one order's payment, or store credit."""

    kind: str  # stripe_refund | store_credit
    amount: Decimal
    order_id: str
    payment_intent: str
    state: str  # planned | sent | done | failed
    stripe_status: str  # Stripe's refund status (pending, succeeded, failed, canceled), or "refused"
    reference: str  # the Stripe refund id (re_…), or the store credit's reference
    failure: str
    instead_of: str  # for store credit given in place of a refund: that refund's id (or its PaymentIntent)


@dataclass(frozen=True)
class PayoutView:
    period: str
    amount: Decimal
    currency: str
    state: str  # created | sent (awaiting Stripe's confirmation) | paid | failed
    method: str  # the method actually used: stripe, or store_credit when there was nothing to refund
    reference: str
    created_at: datetime
    settled_at: datetime | None
    paid_amount: Decimal | None = None  # what was paid, once paid (less than amount when part could not be)
    parts: tuple[PayoutPartView, ...] = ()
    failure: str = ""

    @property
    def stripe_refunds(self) -> tuple[tuple[str, str], ...]:
        """The Stripe refunds made: (refund id, status)."""
        return tuple(
            (part.reference, part.stripe_status)
            for part in self.parts
            if part.kind == PartKind.STRIPE_REFUND and part.reference
        )


def _parts(payout: RebatePayout) -> tuple[PayoutPartView, ...]:
    parts = list(payout.parts.select_related("fallback_for").order_by("pk"))
    return tuple(
        PayoutPartView(
            kind=part.kind,
            amount=_money(part.amount, payout.currency),
            order_id=part.order_id,
            payment_intent=part.payment_intent,
            state=part.state,
            stripe_status=part.stripe_status,
            reference=part.reference,
            failure=part.failure,
            instead_of=(part.fallback_for.reference or part.fallback_for.payment_intent) if part.fallback_for else "",
        )
        for part in parts
    )


def _payouts(payouts: "list[RebatePayout]") -> tuple[PayoutView, ...]:
    return tuple(
        PayoutView(
            period=p.period.period,
            amount=_money(p.amount, p.currency),
            currency=p.currency,
            state=p.state,
            method=p.method,
            reference=p.reference,
            created_at=p.created_at,
            settled_at=p.settled_at,
            paid_amount=_money(p.settled_amount, p.currency) if p.settled_amount is not None else None,
            parts=_parts(p),
            failure=p.failure,
        )
        for p in payouts
    )


@dataclass(frozen=True)
class StoreCreditView:
    """The shopper's store credit card as the app knows it. The card's code is never stored: ``card`` is how Saleor
    shows it (``last4CodeChars``); the shopper reads the full code and live balance from Saleor (``me.giftCards``)."""

    card: str  # e.g. "gift card ****AB12"
    last4: str
    credited: Decimal  # paid onto the card by rebates, in total
    balance: Decimal | None  # Saleor's balance when the app last wrote to the card (spending lowers it)
    balance_at: datetime | None


def store_credit(member: Member, currency: str) -> StoreCreditView | None:
    credit = StoreCredit.objects.filter(member=member, currency=currency).exclude(saleor_id="").first()
    if credit is None:
        return None
    return StoreCreditView(
        card=f"gift card ****{credit.last4}" if credit.last4 else "gift card",
        last4=credit.last4,
        credited=_money(credit.credited, currency),
        balance=_money(credit.balance, currency) if credit.balance is not None else None,
        balance_at=credit.balance_at,
    )


@dataclass(frozen=True)
class RebateProgress:
    period: str
    starts_at: datetime
    ends_at: datetime
    currency: str
    spend: Decimal  # the period's paid base so far (rounded down to the currency)
    rate: Decimal  # percent the shopper's next order earns on lines without a rate of their own
    next_threshold: Decimal | None  # the next band's threshold, None at the top band
    next_rate: Decimal | None
    spend_to_next: Decimal | None  # what is still to spend to reach it (rounded up to the currency)
    accrued: Decimal  # this period's rebate so far
    pending: Decimal  # of which in the return window
    payable: Decimal  # of which payable, not yet paid
    paid: Decimal  # of which paid (or being paid)
    owed: Decimal  # reversed after payout, to be netted against future rebates
    payouts: tuple[PayoutView, ...]  # the latest, newest first
    store_credit: StoreCreditView | None = None  # the gift card rebates are paid onto (store credit, Saleor 3.23+)


def rebate_progress(
    member: Member, channel: str, currency: str, *, now: datetime | None = None, payouts: int = 10
) -> RebateProgress | None:
    """Where the shopper stands in the current period of the channel's rebates in ``currency`` (None: the channel
    has no active rebates in that currency)."""
    program = RebateProgram.objects.filter(
        install_id=member.install_id, channel_slug=channel, currency=currency, is_active=True
    ).first()
    if program is None:
        return None
    span = period_of(now or timezone.now(), program.period, program.time_zone)
    row = RebatePeriod.objects.filter(program=program, member=member, period=span.key).first()
    terms = RebateTerms.from_json(row.terms) if row is not None else program_terms(program)
    orders = RebateOrder.objects.filter(period=row) if row is not None else RebateOrder.objects.none()
    rebate = period_rebate(terms, [OrderContribution.from_json(o.contribution) for o in orders if o.contribution])
    rate = rebate.band.rate if rebate.band is not None else Decimal(0)
    tier_rate = program_terms(program).tier_rate(tier_name(member))  # the tier a new order would freeze
    if tier_rate is not None and tier_rate.mode == OVERRIDE:
        rate = tier_rate.rate
    elif tier_rate is not None and tier_rate.mode == BONUS:
        rate += tier_rate.rate
    upcoming = next_band(rebate.spend, terms.bands)
    owed = _owed(member, currency)
    return RebateProgress(
        period=span.key,
        starts_at=span.starts_at,
        ends_at=span.ends_at,
        currency=currency,
        spend=_exact_money(rebate.spend, currency, "ROUND_DOWN"),
        rate=rate,
        next_threshold=upcoming.threshold if upcoming is not None else None,
        next_rate=upcoming.rate if upcoming is not None else None,
        spend_to_next=_exact_money(Fraction(upcoming.threshold) - rebate.spend, currency, ROUND_UP)
        if upcoming is not None
        else None,
        accrued=_money(row.accrued if row else 0, currency),
        pending=_money(row.pending if row else 0, currency),
        payable=_money(row.payable if row else 0, currency),
        paid=_money(row.paid if row else 0, currency),
        owed=_money(owed, currency),
        payouts=_payouts(
            list(
                RebatePayout.objects.filter(member=member, program=program)
                .select_related("period")
                .order_by("-created_at", "-pk")[:payouts]
            )
        ),
        store_credit=store_credit(member, currency),
    )


def _owed(member: Member, currency: str) -> int:
    account = Account.objects.filter(member=member, code=AccountCode.REBATE_RECOVERABLE, unit=currency).first()
    return max(0, account.debits_posted - account.credits_posted) if account is not None else 0


REVERSING = (TransferKind.REBATE_REVERSE, TransferKind.REBATE_RECOVERABLE, TransferKind.WRITE_OFF)


@dataclass(frozen=True)
class OrderLine:
    """One order in a statement: its spend and the rebate changes it caused."""

    order_id: str
    order_number: str
    spend: Decimal
    accrued: Decimal
    reversed: Decimal


@dataclass(frozen=True)
class Statement:
    period: str
    channel: str
    currency: str
    spend: Decimal
    accrued: Decimal  # every accrual posted in the period
    reversed: Decimal  # every reversal (refunds, cancellations, a band lost)
    rebate: Decimal  # accrued − reversed: the period's rebate now
    paid: Decimal  # payouts paid
    netted: Decimal  # payable used to pay back what was owed
    recoverable: Decimal  # reversed after payout, owed back
    written_off: Decimal  # reversed after payout, absorbed by the program
    pending: Decimal
    payable: Decimal
    payouts: tuple[PayoutView, ...]
    orders: tuple[OrderLine, ...]


def rebate_statement(member: Member, period: str) -> tuple[Statement, ...]:
    """The member's statement for ``period`` ("2026-11"), one per program (channel and currency) they had rebates
    in then. Read from the ledger's transfers (per order, as attributed when posted) and the payouts."""
    statements = []
    rows = RebatePeriod.objects.filter(member=member, period=period).select_related("program").order_by("pk")
    for row in rows:
        currency = row.currency
        by_order: dict[tuple[str, str | None], int] = {}
        for kind, order_id, amount in (
            # by the member's own transfers (``transfer_member_history``): every rebate transfer names its period's
            # member; the memo alone would read every transfer of the store
            Transfer.objects.filter(install_id=row.install_id, member_id=row.member_id, memo__rebate_period=row.pk)
            .values_list("kind", "order_id")
            .annotate(total=Sum("amount"))
        ):
            group = "reversed" if kind in REVERSING else "accrued" if kind == TransferKind.REBATE_ACCRUE else kind
            by_order[(group, order_id)] = by_order.get((group, order_id), 0) + int(amount)
        accrued = sum(v for (group, _), v in by_order.items() if group == "accrued")
        reversed_ = sum(v for (group, _), v in by_order.items() if group == "reversed")
        orders = tuple(
            OrderLine(
                order_id=o.order_id,
                order_number=o.order_number,
                spend=o.spend.quantize(quantum(currency)),
                accrued=_money(by_order.get(("accrued", o.order_id), 0), currency),
                reversed=_money(by_order.get(("reversed", o.order_id), 0), currency),
            )
            for o in RebateOrder.objects.filter(period=row).order_by("placed_at", "pk")
        )
        payouts = list(row.payouts.select_related("period").order_by("created_at", "pk"))
        statements.append(
            Statement(
                period=period,
                channel=row.program.channel_slug,
                currency=currency,
                spend=row.spend.quantize(quantum(currency)),
                accrued=_money(accrued, currency),
                reversed=_money(reversed_, currency),
                rebate=_money(accrued - reversed_, currency),
                paid=_money(
                    sum(
                        p.amount if p.settled_amount is None else p.settled_amount
                        for p in payouts
                        if p.state == PayoutState.PAID
                    ),
                    currency,
                ),
                netted=_money(row.netted, currency),
                recoverable=_money(row.recovery_raised, currency),
                written_off=_money(row.written_off, currency),
                pending=_money(row.pending, currency),
                payable=_money(row.payable, currency),
                payouts=_payouts(payouts),
                orders=orders,
            )
        )
    return tuple(statements)


@dataclass(frozen=True)
class AuditTotals:
    """One program's period, for the whole store: the period rows' totals and the ledger's, which must agree."""

    period: str
    program_id: int
    channel: str
    currency: str
    members: int
    accrued: Decimal  # the period's rebate now (accruals − reversals)
    accruals: Decimal  # every accrual posted (the orders' rows: ``RebateOrder.accrued``)
    reversals: Decimal  # every reversal posted: refunds, cancellations, a band lost (``RebateOrder.reversed``)
    pending: Decimal
    payable: Decimal
    paid: Decimal  # posted payouts and payouts on their way
    netted: Decimal
    recovery_raised: Decimal
    written_off: Decimal
    ledger: dict[str, Decimal]  # the same figures, totalled from the ledger's transfers
    problems: tuple[str, ...]  # empty when the rows and the ledger agree to the minor unit


_FIGURES = ("accrued", "pending", "payable", "paid", "netted", "recovery_raised", "written_off")
_GROSS = ("accruals", "reversals")  # from the orders' rows, not the periods'


# Given a program and its period's figures from the rows (minor units), the ledger's figures if the caller knows
# them still hold (an audit snapshot taken while the rows stood the same), else None: read from the transfers.
KnownLedger = Callable[[RebateProgram, dict[str, int]], dict[str, int] | None]


def rebate_audit(install: Install, period: str, known: KnownLedger | None = None) -> tuple[AuditTotals, ...]:
    """Per program, the period's totals from its rows and from the ledger's transfers, compared. ``known``: the
    ledger's figures a caller kept, used instead of reading the transfers (``audit_snapshots``)."""
    audits = []
    for program in RebateProgram.objects.filter(install=install).order_by("pk"):
        rows = RebatePeriod.objects.filter(program=program, period=period)
        row_totals = {name: int(value or 0) for name, value in rows.aggregate(**{n: Sum(n) for n in _FIGURES}).items()}
        members = rows.count()
        if not members:
            continue
        orders = RebateOrder.objects.filter(program=program, period__period=period)
        gross = orders.aggregate(accruals=Sum("accrued"), reversals=Sum("reversed"))
        row_totals.update({name: int(gross[name] or 0) for name in _GROSS})
        ledger = (known(program, row_totals) if known else None) or _ledger_figures(install, program, period)
        problems = tuple(
            f"{name}: rows {row_totals[name]} ≠ ledger {ledger[name]}"
            for name in (*_FIGURES, *_GROSS)
            if row_totals[name] != ledger[name]
        )
        currency = program.currency
        audits.append(
            AuditTotals(
                period=period,
                program_id=program.pk,
                channel=program.channel_slug,
                currency=currency,
                members=members,
                **{name: _money(row_totals[name], currency) for name in (*_FIGURES, *_GROSS)},
                ledger={name: _money(value, currency) for name, value in ledger.items()},
                problems=problems,
            )
        )
    return tuple(audits)


def _ledger_figures(install: Install, program: RebateProgram, period: str) -> dict[str, int]:
    """The period's figures from the transfers alone (a hold's resolution carries no memo: it is found through the
    hold)."""
    transfers = Transfer.objects.filter(install_id=install.pk).filter(
        Q(memo__program=program.pk, memo__period=period)
        | Q(pending__memo__program=program.pk, pending__memo__period=period)
    )
    moved: dict[str, int] = {}
    held = 0
    # Summed by the database per (phase, kind, debit code, credit code): a handful of rows, not one per transfer
    # (a period of a million shoppers has millions).
    for phase, kind, debit, credit, summed, held_summed in (
        transfers.values_list("phase", "kind", "debit_account__code", "credit_account__code")
        .annotate(amount=Sum("amount"), hold=Sum("pending__amount"))
        .order_by()
    ):
        amount, hold = int(summed), int(held_summed or 0)
        if phase == TransferPhase.PENDING:
            held += amount  # a payout's hold: its money left payable for rebates_paid, for now
            continue
        if phase == TransferPhase.VOID_PENDING:
            held -= amount
            continue
        if phase == TransferPhase.POST_PENDING:
            held -= hold  # the whole hold is released; ``amount`` of it (all, or part of it) is posted
        moved[credit] = moved.get(credit, 0) + amount
        moved[debit] = moved.get(debit, 0) - amount
        moved[f"kind:{kind}"] = moved.get(f"kind:{kind}", 0) + amount
    return {
        "accrued": -moved.get(AccountCode.REBATES_ACCRUED, 0),
        "pending": moved.get(AccountCode.REBATE_PENDING, 0),
        "payable": moved.get(AccountCode.REBATE_PAYABLE, 0) - held,
        "paid": moved.get(AccountCode.REBATES_PAID, 0) + held,
        "netted": moved.get(f"kind:{TransferKind.REBATE_NETTING}", 0),
        "recovery_raised": moved.get(f"kind:{TransferKind.REBATE_RECOVERABLE}", 0),
        "written_off": -moved.get(AccountCode.REBATES_WRITTEN_OFF, 0),
        "accruals": moved.get(f"kind:{TransferKind.REBATE_ACCRUE}", 0),
        "reversals": sum(moved.get(f"kind:{kind}", 0) for kind in REVERSING),
    }


def ledger_problems(install: Install, currency: str) -> list[str]:
    """Every period row of the install in ``currency`` against the ledger's account balances: the members' pending,
    payable and owed money and the program's accrued, paid and written-off accounts. Empty when they agree."""
    rows = RebatePeriod.objects.filter(install=install, currency=currency).aggregate(**{n: Sum(n) for n in _FIGURES})
    totals = {name: int(value or 0) for name, value in rows.items()}
    balances: dict[str, int] = {}
    held = 0
    # The members' accounts summed by the database per code (a store of a million shoppers has three million of
    # them: read one by one into Python they took 39 s); the program's few accounts keep no running totals.
    members = Account.objects.filter(install=install, unit=currency, member__isnull=False)
    for code, balance, pending in (
        members.values_list("code")
        .annotate(balance=Sum(F("credits_posted") - F("debits_posted")), pending=Sum("debits_pending"))
        .order_by()
    ):
        balances[code] = int(balance or 0)
        held += int(pending or 0) if code == AccountCode.REBATE_PAYABLE else 0
    for account in Account.objects.filter(install=install, unit=currency, member__isnull=True):
        balances[account.code] = account_balance(account)
    expected = {
        AccountCode.REBATE_PENDING: totals["pending"],
        AccountCode.REBATE_PAYABLE: totals["payable"] + held,  # a held payout is still posted on payable
        AccountCode.REBATE_RECOVERABLE: -(totals["recovery_raised"] - totals["netted"]),
        AccountCode.REBATES_ACCRUED: -totals["accrued"],
        AccountCode.REBATES_PAID: totals["paid"] - held,
        AccountCode.REBATES_WRITTEN_OFF: -totals["written_off"],
    }
    return [
        f"{code}: ledger {balances.get(code, 0)} ≠ rows {value}"
        for code, value in expected.items()
        if balances.get(code, 0) != value
    ]
