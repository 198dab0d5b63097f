"""Redemptions (points turned into a discount on one checkout) and the merchant's reward catalog."""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from saleor_loyalty.installs.models import Install
from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.members.models import Member


class RewardKind(models.TextChoices):
    FIXED_AMOUNT = "fixed_amount", "Fixed amount off"
    PERCENTAGE = "percentage", "Percentage off"
    FREE_SHIPPING = "free_shipping", "Free shipping"
    FREE_PRODUCT = "free_product", "Free product"


class Reward(models.Model):
    """Something a shopper can buy with points, beyond "X points = Y off"."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="rewards")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=32, choices=RewardKind.choices)
    points_cost = models.PositiveIntegerField()
    channel_slug = models.CharField(max_length=255)
    # FIXED_AMOUNT: the amount off; PERCENTAGE: the percent off (``max_amount`` caps it).
    value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    max_amount = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    variant_id = models.CharField(max_length=255, blank=True)  # FREE_PRODUCT
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    per_shopper_limit = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "redemption_reward"
        constraints = [models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_points_positive")]

    def __str__(self) -> str:
        return f"{self.name} ({self.points_cost} pts)"


class RedemptionStatus(models.TextChoices):
    PLACING = "placing"  # points held; the voucher is being created and attached
    ACTIVE = "active"  # the voucher is on the checkout
    CAPTURED = "captured"  # an order used the voucher: the points are spent
    CANCELLED = "cancelled"  # the shopper cancelled or replaced it: points given back
    EXPIRED = "expired"  # the checkout was abandoned: points given back, voucher deleted
    FAILED = "failed"  # Saleor refused a step: points given back, voucher removed


OPEN_STATUSES = (RedemptionStatus.PLACING, RedemptionStatus.ACTIVE)


class Redemption(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, null=True, on_delete=models.PROTECT, related_name="redemptions")
    idempotency_key = models.CharField(max_length=255)
    checkout_id = models.CharField(max_length=255)
    channel_slug = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    points = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal(0))
    hold = models.ForeignKey(Transfer, null=True, on_delete=models.PROTECT, related_name="+")
    voucher_id = models.CharField(max_length=255, blank=True)
    voucher_code = models.CharField(max_length=64, null=True, blank=True)
    status = models.CharField(max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.PLACING)
    order_id = models.CharField(max_length=255, null=True, blank=True)
    points_returned = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(null=True)
    activated_at = models.DateTimeField(null=True)  # when the code went onto the checkout

    class Meta:
        db_table = "redemption_redemption"
        constraints = [
            models.UniqueConstraint(fields=["install", "idempotency_key"], name="redemption_unique_key"),
            models.UniqueConstraint(
                fields=["install", "voucher_code"],
                condition=Q(voucher_code__isnull=False),
                name="redemption_unique_code",
            ),
            models.UniqueConstraint(
                fields=["install", "checkout_id"],
                condition=Q(status__in=["placing", "active"]),
                name="redemption_one_open_per_checkout",
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="redemption_points_positive"),
            models.CheckConstraint(condition=Q(points_returned__lte=models.F("points")), name="redemption_returned"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status__in=["placing", "active"]), name="redemption_open"),
            # the sweep's look for closed redemptions whose voucher may still be live (actions.delete_orphan_vouchers)
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=["cancelled", "expired", "failed"]),
                name="redemption_closed",
            ),
            models.Index(fields=["install", "order_id"], name="redemption_order"),
        ]

    def __str__(self) -> str:
        return f"redemption {self.pk}: {self.points} pts on {self.checkout_id} ({self.status})"


class CheckoutLock(models.Model):
    """One redeem or cancel at a time on a checkout: a lease claimed before the first call to Saleor and held across
    them all (``redemption.locks``). A second request waits for it, then sees the first one's result; a lease its
    holder never gave back (a worker that died) lapses at ``expires_at``."""

    install = models.ForeignKey(Install, on_delete=models.CASCADE, related_name="+")
    checkout_id = models.CharField(max_length=255)
    token = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "redemption_checkout_lock"
        constraints = [models.UniqueConstraint(fields=["install", "checkout_id"], name="checkout_lock_unique")]

    def __str__(self) -> str:
        return f"lock on {self.checkout_id} until {self.expires_at}"
