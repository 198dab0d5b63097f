"""Rebates: money back on what a shopper paid, accrued in a money ledger beside the points.

Four things:

* ``RebateProgram`` — the merchant's terms for one channel and currency: the base (tax? shipping?), rate bands on
  the period's cumulative spend (whole or marginal), tier, product and category rates, a frequency bonus, the
  period (monthly or quarterly), the return window, the minimum payout, what happens to money reversed after it
  was paid, and how payouts are made.
* ``RebatePeriod`` — one member's rebate in one period of one program. Its rebate is computed from all of the
  period's orders at once (a refund can drop the whole period below a band), and the row holds what the ledger
  holds for it, split by where the money is now: ``accrued = pending + payable + paid + netted - recovery_raised -
  written_off`` (a CHECK constraint). The audit reconciles these columns with the ledger to the minor unit.
* ``RebateOrder`` — what one order contributes (its paid base per line, at the rates frozen at its first accrual)
  and the newest order state it reflects (``state_updated_at``), like ``program.OrderAward`` for points.
* ``RebatePayout`` — payable money on its way out: created (a pending ledger transfer holds it) → paid (posted,
  with the payer's reference) or failed (voided: back to payable). A payer whose outcome comes later (Stripe
  refunds, confirmed by webhook) leaves it ``sent`` in between; a payout can end paid for less than its amount
  (posted in part, the rest payable again).
* ``RebatePayoutPart`` — how a payout paid by several means is split: a Stripe refund per order payment, store
  credit for the rest or for a refund Stripe refused or failed.

Amounts in the ledger and in these counters are integers in the currency's minor units (``core.money``).
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member


class PeriodKind(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


class ThresholdMode(models.TextChoices):
    WHOLE = "whole", "The rate reached applies to the whole period's spend"
    MARGINAL = "marginal", "Each rate applies only to the spend above its threshold"


class RecoveryPolicy(models.TextChoices):
    NET = "net", "Money reversed after payout is netted against future rebates"
    WRITE_OFF = "write_off", "Money reversed after payout is written off by the program"


class PayoutMethod(models.TextChoices):
    STORE_CREDIT = "store_credit", "Store credit (a Saleor gift card)"
    STRIPE = "stripe", "Stripe"


class RebateProgram(models.Model):
    """The terms of one channel's rebates in one currency. Rates are percentages (``"2.5"`` is 2.5 %).

    ``bands``: ``[{"threshold": "500", "rate": "2"}, ...]`` by rising threshold; spend below the first threshold
    earns nothing (a band from ``"0"`` gives a base rate). ``tier_rates``: ``{"Gold": {"rate": "4", "mode":
    "override" | "bonus"}}``. ``line_rates``: ``{"product:<id>": "5", "category:<id>": "0"}``, overriding the
    band rate for matching lines (product before category). Checked by ``terms.program_terms``.
    """

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="rebate_programs")
    channel_slug = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField(default=True)
    include_tax = models.BooleanField(default=False)
    include_shipping = models.BooleanField(default=False)
    period = models.CharField(max_length=16, choices=PeriodKind.choices, default=PeriodKind.MONTHLY)
    # The calendar the periods follow (an IANA zone, "Asia/Tokyo"): a month starts at midnight there. A change
    # applies to periods opened after it; a period keeps the dates it opened with.
    time_zone = models.CharField(max_length=64, default="UTC")
    threshold_mode = models.CharField(max_length=16, choices=ThresholdMode.choices, default=ThresholdMode.WHOLE)
    bands = models.JSONField(default=list, blank=True)
    tier_rates = models.JSONField(default=dict, blank=True)
    line_rates = models.JSONField(default=dict, blank=True)
    # Every ``frequency_nth`` qualifying order of a period (the Nth, 2Nth, ...) earns a fixed amount and/or an
    # extra rate on its own spend. None: no frequency bonus.
    frequency_nth = models.PositiveIntegerField(null=True, blank=True)
    frequency_bonus_amount = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(0))
    frequency_bonus_rate = models.DecimalField(max_digits=7, decimal_places=4, default=Decimal(0))
    # Payable money is paid at the period's end, or as soon as a period's payable reaches this (0: period end only).
    minimum_payout = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(0))
    return_window_days = models.PositiveIntegerField(default=settings.LOYALTY_DEFAULT_RETURN_WINDOW_DAYS)
    recovery_policy = models.CharField(max_length=16, choices=RecoveryPolicy.choices, default=RecoveryPolicy.NET)
    payout_method = models.CharField(max_length=16, choices=PayoutMethod.choices, default=PayoutMethod.STORE_CREDIT)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rebates_program"
        constraints = [
            models.UniqueConstraint(fields=["install", "channel_slug", "currency"], name="rebate_program_unique"),
            models.CheckConstraint(
                condition=Q(frequency_nth__isnull=True) | Q(frequency_nth__gte=1), name="rebate_program_nth"
            ),
            models.CheckConstraint(
                condition=Q(frequency_bonus_amount__gte=0, frequency_bonus_rate__gte=0, minimum_payout__gte=0),
                name="rebate_program_amounts_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"rebates {self.channel_slug}/{self.currency}"


class RebatePeriod(models.Model):
    """One member's rebate for one period of a program, and where its money is now (minor units)."""

    # Indexed by the composite indexes below (by_period, unique, member): no own index to write on each update.
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+", db_index=False)
    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, related_name="periods", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="rebate_periods", db_index=False)
    period = models.CharField(max_length=8)  # "2026-11" (monthly) or "2026-Q4" (quarterly)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    terms = models.JSONField(default=dict)  # the program's terms frozen at the period's first accrual
    revision = models.PositiveIntegerField(default=0)  # bumps with every change posted; part of idempotency keys
    spend = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal(0))  # the period's paid base
    accrued = models.BigIntegerField(default=0)  # the period's rebate as the ledger holds it
    pending = models.BigIntegerField(default=0)  # in the return window
    payable = models.BigIntegerField(default=0)
    paid = models.BigIntegerField(default=0)  # paid out, or on its way (a payout created, not yet failed)
    netted = models.BigIntegerField(default=0)  # payable used to pay back what the member owed
    recovery_raised = models.BigIntegerField(default=0)  # reversed after payout: owed back by the member
    written_off = models.BigIntegerField(default=0)  # reversed after payout: absorbed by the program
    release_at = models.DateTimeField(null=True)  # pending becomes payable then (the newest accrual's window end)
    closed_at = models.DateTimeField(null=True)  # first settled after the period's end
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rebates_period"
        constraints = [
            models.UniqueConstraint(fields=["program", "member", "period"], name="rebate_period_unique"),
            models.CheckConstraint(
                condition=Q(
                    accrued__gte=0,
                    pending__gte=0,
                    payable__gte=0,
                    paid__gte=0,
                    netted__gte=0,
                    recovery_raised__gte=0,
                    written_off__gte=0,
                ),
                name="rebate_period_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    accrued=F("pending")
                    + F("payable")
                    + F("paid")
                    + F("netted")
                    - F("recovery_raised")
                    - F("written_off")
                ),
                name="rebate_period_adds_up",
            ),
        ]
        indexes = [
            models.Index(fields=["install", "period"], name="rebate_period_by_period"),
            models.Index(fields=["member", "-starts_at"], name="rebate_period_member"),
            models.Index(
                fields=["ends_at"], condition=Q(pending__gt=0) | Q(payable__gt=0), name="rebate_period_to_settle"
            ),
        ]

    def __str__(self) -> str:
        return f"rebate {self.period} of member {self.member_id}: {self.accrued} {self.currency}"


class RebateOrder(models.Model):
    """What one order contributes to its member's period, and the newest order state it reflects."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+", db_index=False)  # by the unique
    order_id = models.CharField(max_length=255)
    order_number = models.CharField(max_length=64, blank=True)
    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, related_name="orders")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="rebate_orders")
    period = models.ForeignKey(RebatePeriod, on_delete=models.PROTECT, related_name="orders")
    placed_at = models.DateTimeField()
    terms = models.JSONField(default=dict)  # the order's terms frozen at its first accrual (rates, base, tier)
    contribution = models.JSONField(default=dict)  # its paid base per line, exact (``rules.OrderContribution``)
    spend = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal(0))
    # The rebate changes this order caused (its own and, through bands, its period's): accrued up, reversed down.
    accrued = models.BigIntegerField(default=0)
    reversed = models.BigIntegerField(default=0)
    revision = models.PositiveIntegerField(default=0)
    state_updated_at = models.DateTimeField(null=True)
    # The order's payments as its newest state says (``PaymentSnapshot``, minor units): what a Stripe payout may
    # refund. ``[{"psp_reference", "name", "app", "charged", "refunded"}]``.
    payments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rebates_order"
        constraints = [
            models.UniqueConstraint(fields=["install", "order_id"], name="rebate_order_unique"),
            models.CheckConstraint(condition=Q(accrued__gte=0, reversed__gte=0), name="rebate_order_non_negative"),
        ]

    def __str__(self) -> str:
        return f"rebate of order {self.order_number or self.order_id}"


class PayoutState(models.TextChoices):
    CREATED = "created"
    SENT = "sent"  # handed over, its outcome to be confirmed (Stripe refunds: by Stripe's webhooks)
    PAID = "paid"
    FAILED = "failed"


class RebatePayout(models.Model):
    """Payable money of one period on its way to the member by ``method``. The amount is held by a pending ledger
    transfer (``hold_transfer_id``) until the payer answers: posted when paid, voided when it failed."""

    # No index of their own for install and member: ``rebate_payout_unique_key`` and ``rebate_payout_member`` lead
    # with them (settlement writes a payout per member per period: each index is paid for on every insert).
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+", db_index=False)
    program = models.ForeignKey(RebateProgram, on_delete=models.PROTECT, related_name="payouts")
    period = models.ForeignKey(RebatePeriod, on_delete=models.PROTECT, related_name="payouts")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="rebate_payouts", db_index=False)
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16, choices=PayoutMethod.choices)
    state = models.CharField(max_length=8, choices=PayoutState.choices, default=PayoutState.CREATED)
    idempotency_key = models.CharField(max_length=255)  # the ledger hold's key, and the payer's
    hold_transfer_id = models.BigIntegerField()
    reference = models.CharField(max_length=255, blank=True)  # the payer's: a gift card code, Stripe refund ids
    failure = models.TextField(blank=True)
    # What was posted when it was paid: the amount, or less when part of it could not be paid (the rest is payable
    # again). None until paid.
    settled_amount = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "rebates_payout"
        constraints = [
            models.UniqueConstraint(fields=["install", "idempotency_key"], name="rebate_payout_unique_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="rebate_payout_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at"], name="rebate_payout_member"),
            models.Index(fields=["created_at"], condition=Q(state="created"), name="rebate_payout_to_send"),
            models.Index(fields=["created_at"], condition=Q(state="sent"), name="rebate_payout_sent"),
        ]

    def __str__(self) -> str:
        return f"payout {self.pk}: {self.amount} {self.currency} ({self.state})"


def new_marker() -> str:
    return f"credit:{secrets.token_hex(16)}"


class StoreCredit(models.Model):
    """A member's store credit in one currency: one Saleor gift card, created by the first payout and topped up by
    later ones (Saleor 3.23+). ``saleor_id`` is empty until the card exists. The lease (``lease_token``,
    ``lease_until``) lets one payout at a time work on the card, across workers, without holding a transaction open
    across the calls to Saleor; it is kept past a call whose outcome is unknown, so that call is done in Saleor
    before anyone looks at the card again (``store_credit.UNKNOWN_OUTCOME_WAIT``)."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="store_credits")
    currency = models.CharField(max_length=3)
    saleor_id = models.CharField(max_length=255, blank=True)  # the gift card's global id
    # What the card carries in its public metadata so a retry can find it again: random, unique to this record
    # (a member id is not: it restarts with a new app database, and the shopper can read public metadata).
    marker = models.CharField(max_length=64, default=new_marker)
    last4 = models.CharField(max_length=16, blank=True)  # Saleor's `last4CodeChars`: how the card is shown masked
    credited = models.BigIntegerField(default=0)  # minor units paid onto the card by the app
    balance = models.BigIntegerField(null=True)  # Saleor's `currentBalance` when last read (spending lowers it)
    balance_at = models.DateTimeField(null=True)
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rebates_store_credit"
        constraints = [
            models.UniqueConstraint(fields=["member", "currency"], name="rebate_store_credit_unique"),
        ]

    def __str__(self) -> str:
        return f"store credit of member {self.member_id} in {self.currency}: card {self.last4 or '(none yet)'}"


class CreditVia(models.TextChoices):
    CARD_CREATE = "card_create", "A new gift card holding the amount (giftCardCreate)"
    CARD_TOP_UP = "card_top_up", "A top-up of the member's gift card (giftCardBalanceAdjust, 3.23+)"
    VOUCHER = "voucher", "A single-use voucher worth the amount (Saleor 3.22)"


class StoreCreditPayment(models.Model):
    """One payout paid as store credit: how it is paid (chosen once, kept on retries) and what was tried.

    ``known_events``: before a top-up is sent, the ids of the card's BALANCE_ADJUSTED events (committed first). On a
    retry, an event not in that list that added exactly ``amount`` is this payout's top-up: it is not sent again.
    ``done_at`` / ``reference``: paid (the answer given to settlement)."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=255)  # PayoutRequest.key
    credit = models.ForeignKey(StoreCredit, on_delete=models.PROTECT, null=True, related_name="payments")
    via = models.CharField(max_length=16, choices=CreditVia.choices)
    amount = models.BigIntegerField()  # minor units
    currency = models.CharField(max_length=3)
    saleor_version = models.CharField(max_length=32, blank=True)  # the store's schema version when chosen
    known_events = models.JSONField(null=True)
    attempts = models.PositiveIntegerField(default=0)
    reference = models.CharField(max_length=255, blank=True)
    voucher_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "rebates_store_credit_payment"
        constraints = [
            models.UniqueConstraint(fields=["install", "key"], name="rebate_store_credit_payment_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="rebate_store_credit_payment_positive"),
        ]

    def __str__(self) -> str:
        return f"store credit payment {self.key} ({self.via})"


class PartKind(models.TextChoices):
    STRIPE_REFUND = "stripe_refund"
    STORE_CREDIT = "store_credit"


class PartState(models.TextChoices):
    PLANNED = "planned"  # not sent yet, or sent with an unknown outcome (sent again with the same key)
    SENT = "sent"  # Stripe made the refund; its outcome is confirmed by webhook
    DONE = "done"  # the refund succeeded (confirmed), or the store credit was given
    FAILED = "failed"  # refused, failed or canceled: nothing paid by this part (a refund's money has a fallback)


class RebatePayoutPart(models.Model):
    """One way a payout's money goes out: a Stripe refund of one order's payment (``payment_intent``), or store
    credit — for what no payment could take, or in place of a refund that Stripe refused or that failed
    (``fallback_for``, at most one per refund). Each part has its own idempotency key, derived from the payout's,
    fixed when the payout is planned: retries send the same parts with the same keys."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    payout = models.ForeignKey(RebatePayout, on_delete=models.PROTECT, related_name="parts")
    kind = models.CharField(max_length=16, choices=PartKind.choices)
    amount = models.BigIntegerField()  # minor units
    order_id = models.CharField(max_length=255, blank=True)
    payment_intent = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=200)
    state = models.CharField(max_length=8, choices=PartState.choices, default=PartState.PLANNED)
    stripe_status = models.CharField(max_length=32, blank=True)  # Stripe's: pending, succeeded, failed, canceled
    reference = models.CharField(max_length=255, blank=True)  # the Stripe refund id, or the store credit's
    failure = models.TextField(blank=True)
    fallback_for = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="fallback"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "rebates_payout_part"
        constraints = [
            models.UniqueConstraint(fields=["install", "idempotency_key"], name="rebate_payout_part_unique_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="rebate_payout_part_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["install", "reference"], name="rebate_payout_part_reference"),
            models.Index(fields=["install", "payment_intent"], name="rebate_payout_part_intent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} of payout {self.payout_id} ({self.state})"


class RebateAuditSnapshot(models.Model):
    """A period's audit as last taken (``rebates.audit_snapshots``): a program whose rows still add up as they did
    then keeps its ledger figures, instead of reading the store's transfers again on every view."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=8)
    checked_at = models.DateTimeField()  # the oldest of its programs' ledger figures was read then
    # per program: its period figures from the rows and from the ledger (minor units), and when the ledger's were read
    programs = models.JSONField(default=list)

    class Meta:
        db_table = "rebates_audit_snapshot"
        constraints = [models.UniqueConstraint(fields=["install", "period"], name="rebate_audit_snapshot_unique")]

    def __str__(self) -> str:
        return f"audit of {self.period} at {self.checked_at:%Y-%m-%d %H:%M}"
