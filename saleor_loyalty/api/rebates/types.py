"""Rebates as the APIs show them: money as ``Money { amount currency }`` at the currency's precision (as Saleor's),
rates as percentages (``Decimal``: "2.5" is 2.5 %), periods by key ("2026-11", "2026-Q4")."""

from decimal import Decimal
from typing import Any

import graphene

from saleor_loyalty.core.money import quantum
from saleor_loyalty.rebates import models
from saleor_loyalty.rebates.queries import AuditTotals, Statement
from saleor_loyalty.rebates.queries import RebateProgress as Progress
from saleor_loyalty.saleor.catalog import StoreItem

from ..catalog.targets import known_item, prefetch_ids
from ..core.ids import global_id
from ..core.types import Money

RebatePeriodKind = graphene.Enum.from_enum(
    models.PeriodKind, name="RebatePeriodKind", description="Calendar periods (UTC)."
)
RebateThresholdMode = graphene.Enum.from_enum(
    models.ThresholdMode,
    name="RebateThresholdMode",
    description="WHOLE: the rate reached applies to all of the period's spend; MARGINAL: each "
    "rate only to the spend between its threshold and the next.",
)
RebateRecoveryPolicy = graphene.Enum.from_enum(
    models.RecoveryPolicy,
    name="RebateRecoveryPolicy",
    description="What happens to money reversed after it was paid out.",
)
RebatePayoutMethod = graphene.Enum.from_enum(
    models.PayoutMethod, name="RebatePayoutMethod", description="How payable rebates are paid."
)
RebatePayoutState = graphene.Enum.from_enum(
    models.PayoutState,
    name="RebatePayoutState",
    description="CREATED: on its way; PAID: paid (with its reference); FAILED: payable again.",
)


class RebateTierRateMode(graphene.Enum):
    """OVERRIDE: replaces the band rate; BONUS: added to every rate (product and category rates included)."""

    OVERRIDE = "override"
    BONUS = "bonus"


class RebateLineTarget(graphene.Enum):
    PRODUCT = "product"
    CATEGORY = "category"


def money(amount: Decimal | None, currency: str) -> dict[str, Any] | None:
    """``Money`` at the currency's precision; None stays None."""
    return None if amount is None else {"amount": Decimal(amount).quantize(quantum(currency)), "currency": currency}


def in_money(attribute: str) -> Any:
    """A resolver answering the root's ``attribute`` (a Decimal) as ``Money`` in the root's currency."""

    def resolve(root: Any, info: Any) -> dict[str, Any] | None:
        return money(getattr(root, attribute), root.currency)

    return staticmethod(resolve)


def rate(value: Any) -> Decimal:
    """A percentage without trailing zeros: "2", "2.5" (never "2.0000" or "2E+0")."""
    number = Decimal(str(value))
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


# -- the program's terms -----------------------------------------------------------------------------------------


class RebateBand(graphene.ObjectType):
    threshold = graphene.Field(Money, required=True, description="The period's spend from which `rate` applies.")
    rate = graphene.Decimal(required=True, description="Percent.")


class RebateTierRate(graphene.ObjectType):
    tier = graphene.String(required=True, description="The tier's name.")
    rate = graphene.Decimal(required=True, description="Percent.")
    mode = graphene.Field(RebateTierRateMode, required=True)


class RebateFrequencyBonus(graphene.ObjectType):
    every_nth = graphene.Int(required=True, description="The Nth, 2Nth, ... paid order of a period earns the bonus.")
    amount = graphene.Field(Money, required=True, description="A fixed amount (0: none).")
    rate = graphene.Decimal(required=True, description="Extra percent on that order's own spend (0: none).")


def _bands(program: models.RebateProgram) -> list[dict[str, Any]]:
    return [
        {"threshold": money(Decimal(str(b["threshold"])), program.currency), "rate": rate(b["rate"])}
        for b in program.bands
    ]


def _tier_rates(program: models.RebateProgram) -> list[dict[str, Any]]:
    return [
        {"tier": name, "rate": rate(entry["rate"]), "mode": entry.get("mode") or "bonus"}
        for name, entry in program.tier_rates.items()
    ]


def _frequency(program: models.RebateProgram) -> dict[str, Any] | None:
    if not program.frequency_nth:
        return None
    return {
        "every_nth": program.frequency_nth,
        "amount": money(program.frequency_bonus_amount, program.currency),
        "rate": rate(program.frequency_bonus_rate),
    }


def summary(program: models.RebateProgram) -> str:
    """The program in one sentence: "2% back from USD 500, 3% from USD 1000 of your monthly spend"."""
    if not program.bands:
        return "No rebate on spend"
    parts = [
        f"{rate(b['rate'])}%{' back' if i == 0 else ''} from {program.currency} {rate(b['threshold'])}"
        for i, b in enumerate(program.bands)
    ]
    scope = "your monthly spend" if program.period == models.PeriodKind.MONTHLY else "your quarterly spend"
    return f"{', '.join(parts)} of {scope}"


class RebateProgramTerms(graphene.ObjectType):
    """A channel's rebates as a storefront shows them ("spend 300 more to reach 3 %")."""

    channel = graphene.String(required=True)
    currency = graphene.String(required=True)
    period = graphene.Field(RebatePeriodKind, required=True)
    time_zone = graphene.String(
        required=True, description='The calendar periods follow, an IANA zone ("Asia/Tokyo"): a month starts there.'
    )
    threshold_mode = graphene.Field(RebateThresholdMode, required=True)
    bands = graphene.List(graphene.NonNull(RebateBand), required=True, description="By rising threshold.")
    tier_rates = graphene.List(graphene.NonNull(RebateTierRate), required=True)
    has_product_rates = graphene.Boolean(
        required=True, description="Some products or categories earn a rate of their own."
    )
    frequency_bonus = graphene.Field(RebateFrequencyBonus)
    includes_tax = graphene.Boolean(required=True)
    includes_shipping = graphene.Boolean(required=True)
    return_window_days = graphene.Int(required=True, description="Rebates stay pending this long, then payable.")
    minimum_payout = graphene.Field(
        Money, required=True, description="Paid before the period's end once payable reaches this (0: at its end)."
    )
    payout_method = graphene.Field(RebatePayoutMethod, required=True)
    summary = graphene.String(required=True, description="The bands in one sentence, for display.")

    @staticmethod
    def resolve_channel(root: models.RebateProgram, info: Any) -> str:
        return root.channel_slug

    @staticmethod
    def resolve_bands(root: models.RebateProgram, info: Any) -> list[dict[str, Any]]:
        return _bands(root)

    @staticmethod
    def resolve_tier_rates(root: models.RebateProgram, info: Any) -> list[dict[str, Any]]:
        return _tier_rates(root)

    @staticmethod
    def resolve_has_product_rates(root: models.RebateProgram, info: Any) -> bool:
        return bool(root.line_rates)

    @staticmethod
    def resolve_frequency_bonus(root: models.RebateProgram, info: Any) -> dict[str, Any] | None:
        return _frequency(root)

    @staticmethod
    def resolve_includes_tax(root: models.RebateProgram, info: Any) -> bool:
        return root.include_tax

    @staticmethod
    def resolve_includes_shipping(root: models.RebateProgram, info: Any) -> bool:
        return root.include_shipping

    @staticmethod
    def resolve_minimum_payout(root: models.RebateProgram, info: Any) -> dict[str, Any] | None:
        return money(root.minimum_payout, root.currency)

    @staticmethod
    def resolve_summary(root: models.RebateProgram, info: Any) -> str:
        return summary(root)


# -- progress and statements ------------------------------------------------------------------------------------


class RebatePayout(graphene.ObjectType):
    period = graphene.String(required=True)
    amount = graphene.Field(Money, required=True)
    method = graphene.Field(RebatePayoutMethod, required=True)
    state = graphene.Field(RebatePayoutState, required=True)
    reference = graphene.String(required=True, description="The payer's: a gift card code, a Stripe transfer id.")
    created_at = graphene.DateTime(required=True)
    settled_at = graphene.DateTime(description="When it was paid or failed.")

    resolve_amount = in_money("amount")


class RebateStoreCredit(graphene.ObjectType):
    """The Saleor gift card rebates are paid onto (store credit, Saleor 3.23+). The app never stores the card's
    code: the shopper reads it, with the live balance, from Saleor (``me { giftCards { code currentBalance } }``)."""

    card = graphene.String(required=True, description='How Saleor shows the card: "gift card ****AB12".')
    last4 = graphene.String(required=True, description="The last four characters of its code.")
    credited = graphene.Field(Money, required=True, description="Paid onto the card by rebates, in total.")
    balance = graphene.Field(
        Money, description="The card's balance when the app last wrote to it (spending since then lowers it)."
    )
    balance_at = graphene.DateTime(description="When that balance was read.")


class RebateProgress(graphene.ObjectType):
    """Where the shopper stands in the current period."""

    period = graphene.String(required=True, description='"2026-11" (monthly) or "2026-Q4" (quarterly).')
    starts_at = graphene.DateTime(required=True)
    ends_at = graphene.DateTime(required=True, description="Exclusive.")
    currency = graphene.String(required=True)
    spend = graphene.Field(Money, required=True, description="The period's spend that counts so far.")
    rate = graphene.Decimal(
        required=True, description="Percent the next order earns (lines without a rate of their own; tier included)."
    )
    next_threshold = graphene.Field(Money, description="The next band's threshold; null at the top band.")
    next_rate = graphene.Decimal(description="The next band's rate.")
    spend_to_next = graphene.Field(Money, description="Still to spend to reach the next band (rounded up).")
    accrued = graphene.Field(Money, required=True, description="This period's rebate so far.")
    pending = graphene.Field(Money, required=True, description="Of which still in the return window.")
    payable = graphene.Field(Money, required=True, description="Of which payable, not paid yet.")
    paid = graphene.Field(Money, required=True, description="Of which paid, or being paid.")
    owed = graphene.Field(
        Money, required=True, description="Reversed after it was paid (a late refund): deducted from the next payout."
    )
    payouts = graphene.List(graphene.NonNull(RebatePayout), required=True, description="The latest, newest first.")
    store_credit = graphene.Field(
        RebateStoreCredit, description="The card rebates are paid onto, once one was (store credit payouts)."
    )

    @staticmethod
    def resolve_store_credit(root: Progress, info: Any) -> dict[str, Any] | None:
        credit = root.store_credit
        if credit is None:
            return None
        return {
            "card": credit.card,
            "last4": credit.last4,
            "credited": money(credit.credited, root.currency),
            "balance": None if credit.balance is None else money(credit.balance, root.currency),
            "balance_at": credit.balance_at,
        }

    @staticmethod
    def resolve_rate(root: Progress, info: Any) -> Decimal:
        return rate(root.rate)

    @staticmethod
    def resolve_next_rate(root: Progress, info: Any) -> Decimal | None:
        return None if root.next_rate is None else rate(root.next_rate)

    resolve_next_threshold = in_money("next_threshold")
    resolve_spend = in_money("spend")
    resolve_spend_to_next = in_money("spend_to_next")
    resolve_accrued = in_money("accrued")
    resolve_pending = in_money("pending")
    resolve_payable = in_money("payable")
    resolve_paid = in_money("paid")
    resolve_owed = in_money("owed")


class RebateStatementOrder(graphene.ObjectType):
    order_id = graphene.ID(required=True, description="The order's Saleor id.")
    order_number = graphene.String(required=True)
    spend = graphene.Field(Money, required=True, description="What the order counts towards the period's spend now.")
    accrued = graphene.Field(Money, required=True, description="Rebate this order's payments added.")
    reversed = graphene.Field(Money, required=True, description="Rebate its refunds or cancellation took back.")


class RebateStatement(graphene.ObjectType):
    """One period of one program (channel and currency) for one shopper."""

    period = graphene.String(required=True)
    channel = graphene.String(required=True)
    currency = graphene.String(required=True)
    spend = graphene.Field(Money, required=True)
    accrued = graphene.Field(Money, required=True, description="Every accrual in the period.")
    reversed = graphene.Field(Money, required=True, description="Every reversal (refunds, cancellations, a band lost).")
    rebate = graphene.Field(Money, required=True, description="accrued − reversed: the period's rebate now.")
    paid = graphene.Field(Money, required=True, description="Payouts paid.")
    netted = graphene.Field(Money, required=True, description="Used to pay back money owed after a late refund.")
    owed = graphene.Field(Money, required=True, description="Reversed after it was paid out: owed back.")
    written_off = graphene.Field(Money, required=True, description="Reversed after payout and absorbed by the store.")
    pending = graphene.Field(Money, required=True)
    payable = graphene.Field(Money, required=True)
    payouts = graphene.List(graphene.NonNull(RebatePayout), required=True)
    orders = graphene.List(graphene.NonNull(RebateStatementOrder), required=True, description="Oldest first.")

    resolve_spend = in_money("spend")
    resolve_accrued = in_money("accrued")
    resolve_reversed = in_money("reversed")
    resolve_rebate = in_money("rebate")
    resolve_paid = in_money("paid")
    resolve_netted = in_money("netted")
    resolve_owed = in_money("recoverable")
    resolve_written_off = in_money("written_off")
    resolve_pending = in_money("pending")
    resolve_payable = in_money("payable")

    @staticmethod
    def resolve_orders(root: Statement, info: Any) -> list[dict[str, Any]]:
        return [
            {
                "order_id": o.order_id,
                "order_number": o.order_number,
                "spend": money(o.spend, root.currency),
                "accrued": money(o.accrued, root.currency),
                "reversed": money(o.reversed, root.currency),
            }
            for o in root.orders
        ]


# -- staff: programs, totals, audit, a customer's rebates ---------------------------------------------------------


class RebateLineRate(graphene.ObjectType):
    target = graphene.Field(RebateLineTarget, required=True)
    saleor_id = graphene.ID(required=True, description="The product's or category's Saleor id.")
    rate = graphene.Decimal(required=True, description="Percent, instead of the band rate.")
    name = graphene.String(description="As the store names it now; null: no such item (deleted?), or not asked now.")
    detail = graphene.String(
        required=True, description="Where it sits: a product's category, a category's parent (empty: none)."
    )

    @staticmethod
    def resolve_name(root: dict[str, Any], info: Any) -> str | None:
        return _line_item(root, info).name

    @staticmethod
    def resolve_detail(root: dict[str, Any], info: Any) -> str:
        return _line_item(root, info).detail


def _line_item(root: dict[str, Any], info: Any) -> StoreItem:
    """The line rate's product or category as the store names it: one call to the store for all of the program's
    line rates (and none for those this request already knows)."""
    program: models.RebateProgram = root["program"]
    ids: dict[str, list[str]] = {"product": [], "category": []}
    for key in program.line_rates:
        target, _, saleor_id = key.partition(":")
        ids.setdefault(target, []).append(saleor_id)
    prefetch_ids(info, program.install, ids["product"], ids["category"])
    return known_item(info, root["saleor_id"])


class RebateProgramSettings(graphene.ObjectType):
    """A channel's rebate program in one currency, as the dashboard edits it. Changes apply from now on: periods and
    orders keep the terms frozen at their first accrual."""

    id = graphene.ID(required=True)
    channel = graphene.String(required=True, description="The channel's slug.")
    currency = graphene.String(required=True)
    is_active = graphene.Boolean(required=True, description="Off: new orders do not join; older ones still settle.")
    include_tax = graphene.Boolean(required=True)
    include_shipping = graphene.Boolean(required=True)
    period = graphene.Field(RebatePeriodKind, required=True)
    time_zone = graphene.String(
        required=True, description="An IANA zone: a period starts at midnight there; a change shapes later periods."
    )
    threshold_mode = graphene.Field(RebateThresholdMode, required=True)
    bands = graphene.List(graphene.NonNull(RebateBand), required=True)
    tier_rates = graphene.List(graphene.NonNull(RebateTierRate), required=True)
    line_rates = graphene.List(graphene.NonNull(RebateLineRate), required=True)
    frequency_nth = graphene.Int(description="Every Nth paid order of a period earns the bonus; null: no bonus.")
    frequency_bonus_amount = graphene.Decimal(required=True)
    frequency_bonus_rate = graphene.Decimal(required=True, description="Percent.")
    minimum_payout = graphene.Decimal(required=True, description="0: paid at the period's end only.")
    return_window_days = graphene.Int(required=True)
    recovery_policy = graphene.Field(RebateRecoveryPolicy, required=True)
    payout_method = graphene.Field(RebatePayoutMethod, required=True)
    updated_at = graphene.DateTime(required=True)

    @staticmethod
    def resolve_id(root: models.RebateProgram, info: Any) -> str:
        return global_id("RebateProgram", root.pk)

    @staticmethod
    def resolve_channel(root: models.RebateProgram, info: Any) -> str:
        return root.channel_slug

    @staticmethod
    def resolve_bands(root: models.RebateProgram, info: Any) -> list[dict[str, Any]]:
        return _bands(root)

    @staticmethod
    def resolve_tier_rates(root: models.RebateProgram, info: Any) -> list[dict[str, Any]]:
        return _tier_rates(root)

    @staticmethod
    def resolve_line_rates(root: models.RebateProgram, info: Any) -> list[dict[str, Any]]:
        found = []
        for key, value in root.line_rates.items():
            target, _, saleor_id = key.partition(":")
            found.append({"target": target, "saleor_id": saleor_id, "rate": rate(value), "program": root})
        return found

    @staticmethod
    def resolve_frequency_bonus_amount(root: models.RebateProgram, info: Any) -> Decimal:
        return rate(root.frequency_bonus_amount)

    @staticmethod
    def resolve_frequency_bonus_rate(root: models.RebateProgram, info: Any) -> Decimal:
        return rate(root.frequency_bonus_rate)

    @staticmethod
    def resolve_minimum_payout(root: models.RebateProgram, info: Any) -> Decimal:
        return rate(root.minimum_payout)


class RebateBandInput(graphene.InputObjectType):
    threshold = graphene.Decimal(required=True, description="In the program's currency.")
    rate = graphene.Decimal(required=True, description="Percent.")


class RebateTierRateInput(graphene.InputObjectType):
    tier = graphene.String(required=True, description="A tier's name.")
    rate = graphene.Decimal(required=True, description="Percent.")
    mode = graphene.InputField(RebateTierRateMode, default_value="bonus")


class RebateLineRateInput(graphene.InputObjectType):
    target = graphene.InputField(RebateLineTarget, required=True)
    saleor_id = graphene.ID(required=True)
    rate = graphene.Decimal(required=True, description="Percent.")


class RebateProgramInput(graphene.InputObjectType):
    """Only the fields given change; the rest stay as they are (on creation: their defaults). Lists replace the
    program's whole list."""

    is_active = graphene.Boolean()
    include_tax = graphene.Boolean()
    include_shipping = graphene.Boolean()
    period = graphene.InputField(RebatePeriodKind)
    time_zone = graphene.String(description='An IANA time zone, "Europe/Warsaw"; default "UTC".')
    threshold_mode = graphene.InputField(RebateThresholdMode)
    bands = graphene.List(graphene.NonNull(RebateBandInput), description="By rising threshold.")
    tier_rates = graphene.List(graphene.NonNull(RebateTierRateInput))
    line_rates = graphene.List(graphene.NonNull(RebateLineRateInput))
    frequency_nth = graphene.Int(description="null: no frequency bonus.")
    frequency_bonus_amount = graphene.Decimal()
    frequency_bonus_rate = graphene.Decimal()
    minimum_payout = graphene.Decimal()
    return_window_days = graphene.Int()
    recovery_policy = graphene.InputField(RebateRecoveryPolicy)
    payout_method = graphene.InputField(RebatePayoutMethod)


_TOTALS = {
    "accrued": "accruals",
    "reversed": "reversals",
    "rebate": "accrued",
    "pending": "pending",
    "payable": "payable",
    "paid": "paid",
    "netted": "netted",
    "owed": "recovery_raised",
    "written_off": "written_off",
}


class RebateTotals(graphene.ObjectType):
    """One program's period for the whole store, from the period rows (`rebateAudit` compares them with the
    ledger)."""

    period = graphene.String(required=True)
    channel = graphene.String(required=True)
    currency = graphene.String(required=True)
    members = graphene.Int(required=True, description="Shoppers with rebates in the period.")
    accrued = graphene.Field(Money, required=True, description="Every accrual posted.")
    reversed = graphene.Field(Money, required=True, description="Every reversal posted.")
    rebate = graphene.Field(Money, required=True, description="accrued − reversed.")
    pending = graphene.Field(Money, required=True)
    payable = graphene.Field(Money, required=True)
    paid = graphene.Field(Money, required=True, description="Paid, or on its way.")
    netted = graphene.Field(Money, required=True, description="Payable used to pay back what was owed.")
    owed = graphene.Field(Money, required=True, description="Reversed after payout, owed back by shoppers.")
    written_off = graphene.Field(Money, required=True, description="Reversed after payout, absorbed by the store.")
    is_reconciled = graphene.Boolean(required=True, description="The ledger agrees to the minor unit.")

    resolve_accrued = in_money("accruals")
    resolve_reversed = in_money("reversals")
    resolve_rebate = in_money("accrued")
    resolve_pending = in_money("pending")
    resolve_payable = in_money("payable")
    resolve_paid = in_money("paid")
    resolve_netted = in_money("netted")
    resolve_owed = in_money("recovery_raised")
    resolve_written_off = in_money("written_off")

    @staticmethod
    def resolve_is_reconciled(root: AuditTotals, info: Any) -> bool:
        return not root.problems


class RebateAuditFigure(graphene.ObjectType):
    name = graphene.String(required=True, description="accrued, reversed, rebate, pending, payable, paid, ...")
    rows = graphene.Field(Money, required=True, description="Totalled from the period and order rows.")
    ledger = graphene.Field(Money, required=True, description="Totalled from the ledger's transfers.")
    difference = graphene.Field(Money, required=True, description="rows − ledger: zero when they agree.")


class RebateAuditProgram(graphene.ObjectType):
    totals = graphene.Field(RebateTotals, required=True)
    figures = graphene.List(graphene.NonNull(RebateAuditFigure), required=True)
    problems = graphene.List(graphene.NonNull(graphene.String), required=True, description="Empty when reconciled.")

    @staticmethod
    def resolve_totals(root: AuditTotals, info: Any) -> AuditTotals:
        return root

    @staticmethod
    def resolve_figures(root: AuditTotals, info: Any) -> list[dict[str, Any]]:
        figures = []
        for name, figure in _TOTALS.items():
            rows, ledger = getattr(root, figure), root.ledger[figure]
            figures.append(
                {
                    "name": name,
                    "rows": money(rows, root.currency),
                    "ledger": money(ledger, root.currency),
                    "difference": money(rows - ledger, root.currency),
                }
            )
        return figures


class RebateAudit(graphene.ObjectType):
    """A period's rebates for the whole store, reconciled with the ledger to the minor unit."""

    period = graphene.String(required=True)
    checked_at = graphene.DateTime(
        required=True, description="When the transfers were audited: later changes to the period audit it again."
    )
    programs = graphene.List(graphene.NonNull(RebateAuditProgram), required=True)
    ledger_problems = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Every period's rows (all periods) against the ledger's account balances, per currency.",
    )
    problems = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="All of them; empty when the ledger agrees."
    )
    is_reconciled = graphene.Boolean(required=True)


class CustomerRebates(graphene.ObjectType):
    """A customer's rebates for the customer widget."""

    progress = graphene.List(
        graphene.NonNull(RebateProgress), required=True, description="The current period of each active program."
    )
    periods = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Periods with rebates, newest first."
    )
    period = graphene.String(description="The period of `statements` (the newest when none was asked).")
    statements = graphene.List(graphene.NonNull(RebateStatement), required=True, description="One per program.")
