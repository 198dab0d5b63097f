"""Ledger design overview (after TigerBeetle's accounts-and-transfers model, in Django).

Three things:

* ``Account`` — a balance in one unit (``PTS`` for points, or an ISO currency in minor units for rebates).
  Member accounts keep four running totals (debits/credits, pending/posted) updated in the same transaction as
  each transfer; a ``no_overdraft`` account can never have debits exceeding credits — the database refuses it.
  Program accounts (points issued, redeemed, expired, clawed back, written off) keep **no** running totals:
  one row updated by every posting would serialise the whole ledger, so their balances are aggregated from
  transfers when asked.
* ``Transfer`` — an immutable movement of a positive amount from a debit account to a credit account, with an
  idempotency key unique per install (a retried request finds its first result). A transfer may be ``PENDING``
  (a hold), later resolved exactly once by a ``POST_PENDING`` (possibly of a smaller amount) or
  ``VOID_PENDING`` transfer that references it. Triggers on PostgreSQL forbid UPDATE and DELETE.
* ``Lot`` — points earned together (one order, one bonus) with their provenance: the rule and rate that produced
  them, when they unlock (return window) and when they expire. Debits from a member's points consume lots;
  ``LotMovement`` records which, so a reversal can restore the very same lots, with their original expiry.

The invariant: every transfer credits and debits the same amount, so the sum of all balances is zero; the
program's outstanding liability is therefore the sum of member point balances (a query, not a counter).
"""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

POINTS = "PTS"


class AccountCode(models.TextChoices):
    # member accounts
    POINTS = "points", "Available points"
    POINTS_PENDING = "points_pending", "Points in their return window"
    POINTS_DEBT = "points_debt", "Points owed after a clawback of spent points"
    # program accounts
    ISSUED = "issued", "Points issued"
    REDEEMED = "redeemed", "Points redeemed"
    EXPIRED = "expired", "Points expired"
    CLAWED_BACK = "clawed_back", "Points clawed back"
    WRITTEN_OFF = "written_off", "Clawbacks the program absorbed"
    # Money accounts (``unit`` an ISO currency, amounts in its minor units) for rebates. Member side: accrued and
    # still in the return window, payable, and what the member owes after a reversal of money already paid out.
    REBATE_PENDING = "rebate_pending", "Rebate accrued, in its return window"
    REBATE_PAYABLE = "rebate_payable", "Rebate payable"
    REBATE_RECOVERABLE = "rebate_recoverable", "Rebate paid out, then reversed: owed back"
    # program side
    REBATES_ACCRUED = "rebates_accrued", "Rebates accrued (the program's expense)"
    REBATES_PAID = "rebates_paid", "Rebates paid out"
    REBATES_WRITTEN_OFF = "rebates_written_off", "Rebate recoveries the program absorbed"


MEMBER_ACCOUNT_CODES = (AccountCode.POINTS, AccountCode.POINTS_PENDING, AccountCode.POINTS_DEBT)


class Account(models.Model):
    # no index of its own: ``account_unique_code`` starts with it (every new member writes three accounts)
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="accounts", db_index=False)
    member = models.ForeignKey(Member, null=True, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=32, choices=AccountCode.choices)
    unit = models.CharField(max_length=8, default=POINTS)
    no_overdraft = models.BooleanField(default=False)
    tracks_balance = models.BooleanField(default=True)
    debits_pending = models.BigIntegerField(default=0)
    debits_posted = models.BigIntegerField(default=0)
    credits_pending = models.BigIntegerField(default=0)
    credits_posted = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ledger_account"
        constraints = [
            models.UniqueConstraint(
                fields=["install", "member", "code", "unit"], nulls_distinct=False, name="account_unique_code"
            ),
            models.CheckConstraint(
                condition=Q(no_overdraft=False) | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="account_no_overdraft",
            ),
            models.CheckConstraint(
                condition=Q(debits_pending__gte=0, debits_posted__gte=0, credits_pending__gte=0, credits_posted__gte=0),
                name="account_totals_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(tracks_balance=True)
                | Q(debits_pending=0, debits_posted=0, credits_pending=0, credits_posted=0),
                name="account_program_totals_stay_zero",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}:{self.unit}:{self.member_id or 'program'}"

    @property
    def available(self) -> int:
        """Credits minus debits, holds included: what the owner can still spend."""
        return self.credits_posted - self.debits_posted - self.debits_pending


class TransferKind(models.TextChoices):
    EARN = "earn"
    UNLOCK = "unlock"
    CLAWBACK = "clawback"
    WRITE_OFF = "write_off"
    DEBT = "debt"
    DEBT_REPAYMENT = "debt_repayment"
    REDEEM = "redeem"
    REDEEM_RETURN = "redeem_return"
    EXPIRE = "expire"
    ADJUST = "adjust"
    MERGE = "merge"
    REBATE_ACCRUE = "rebate_accrue"
    REBATE_REVERSE = "rebate_reverse"
    REBATE_RELEASE = "rebate_release"
    REBATE_PAYOUT = "rebate_payout"
    REBATE_RECOVERABLE = "rebate_recoverable"
    REBATE_NETTING = "rebate_netting"


class TransferPhase(models.TextChoices):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"


# References to rows that every posting shares — the install, program accounts — carry no database foreign
# key: each FK check takes a KEY SHARE lock on the parent row, and a parent locked by every concurrent posting
# becomes a MultiXact hot spot. The posting path checks these references, and installs and accounts are never
# deleted. Those fields say ``on_delete=DO_NOTHING, db_constraint=False``.
class Lot(models.Model):
    install = models.ForeignKey(
        Install, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="lots")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    source = models.CharField(max_length=32)  # "order", "adjustment", later "campaign", "referral", ...
    order_id = models.CharField(max_length=255, null=True, blank=True)
    order_line_id = models.CharField(max_length=255, null=True, blank=True)
    # The rule in force when the points were earned (rate, multipliers, campaign): clawbacks use it.
    rule = models.JSONField(default=dict)
    earned_at = models.DateTimeField(default=timezone.now)
    unlocks_at = models.DateTimeField(null=True)
    unlocked_at = models.DateTimeField(null=True)
    expires_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "ledger_lot"
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0, remaining__lte=F("points")), name="lot_remaining_in_range"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "expires_at", "id"], condition=Q(remaining__gt=0), name="lot_spendable"),
            models.Index(fields=["install", "order_id"], name="lot_order"),
            models.Index(fields=["unlocks_at"], condition=Q(unlocked_at__isnull=True), name="lot_to_unlock"),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.points}"


class Transfer(models.Model):
    install = models.ForeignKey(
        Install, related_name="+", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    idempotency_key = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=TransferKind.choices)
    phase = models.CharField(max_length=16, choices=TransferPhase.choices, default=TransferPhase.POSTED)
    # Indexed by the composite (account, phase) indexes below; no single-column index to maintain on each insert.
    debit_account = models.ForeignKey(
        Account, related_name="debits", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    credit_account = models.ForeignKey(
        Account, related_name="credits", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )
    amount = models.BigIntegerField()
    unit = models.CharField(max_length=8, default=POINTS)
    # pending, reverses, lot and order_id are NULL on most transfers: their indexes are partial (IS NOT NULL), so a
    # transfer without one costs no index entry (a set-based settlement inserts millions of such transfers).
    pending = models.ForeignKey("self", null=True, on_delete=models.PROTECT, related_name="resolutions", db_index=False)
    # A transfer that gives back (part of) an earlier one, e.g. points returned when a redeeming order is refunded.
    reverses = models.ForeignKey("self", null=True, on_delete=models.PROTECT, related_name="reversals", db_index=False)
    member = models.ForeignKey(Member, null=True, on_delete=models.PROTECT, related_name="transfers", db_index=False)
    order_id = models.CharField(max_length=255, null=True, blank=True)
    lot = models.ForeignKey(Lot, null=True, on_delete=models.PROTECT, related_name="transfers", db_index=False)
    memo = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ledger_transfer"
        constraints = [
            models.UniqueConstraint(fields=["install", "idempotency_key"], name="transfer_unique_key"),
            models.UniqueConstraint(
                fields=["pending"],
                condition=Q(phase__in=["post_pending", "void_pending"]),
                name="transfer_pending_resolved_once",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=~Q(debit_account=F("credit_account")), name="transfer_distinct_accounts"),
            models.CheckConstraint(
                condition=Q(phase__in=["post_pending", "void_pending"], pending__isnull=False)
                | Q(phase__in=["posted", "pending"], pending__isnull=True),
                name="transfer_pending_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-id"], name="transfer_member_history"),
            models.Index(fields=["install", "order_id"], condition=Q(order_id__isnull=False), name="transfer_of_order"),
            models.Index(fields=["pending"], condition=Q(pending__isnull=False), name="transfer_pending"),
            models.Index(fields=["reverses"], condition=Q(reverses__isnull=False), name="transfer_reverses"),
            models.Index(fields=["lot"], condition=Q(lot__isnull=False), name="transfer_lot"),
            models.Index(fields=["debit_account", "phase"], name="transfer_debit"),
            models.Index(fields=["credit_account", "phase"], name="transfer_credit"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.unit} ({self.idempotency_key})"


class LotMovement(models.Model):
    """How much a transfer took from (negative) or gave back to (positive) one lot."""

    # Indexed by lot_movement_unique (transfer, lot): no own index to write on each movement.
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="lot_movements", db_index=False)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    delta = models.BigIntegerField()

    class Meta:
        db_table = "ledger_lot_movement"
        constraints = [
            models.UniqueConstraint(fields=["transfer", "lot"], name="lot_movement_unique"),
            models.CheckConstraint(condition=~Q(delta=0), name="lot_movement_nonzero"),
        ]

    def __str__(self) -> str:
        return f"lot {self.lot_id} {self.delta:+d} by transfer {self.transfer_id}"
