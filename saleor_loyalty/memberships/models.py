"""Paid memberships of a tier, sold as Stripe Checkout subscriptions (issue #11; docs/memberships.md).

* ``MembershipSettings`` — one per install: the storefront origins a Checkout may send the shopper back to.
* ``PaidPlan`` — what the merchant sells: a tier for a price per interval (Stripe's Price, or a plan id on
  localstripe), the grace after a failed payment, and the benefits issued once per paid period.
* ``Membership`` — one per member: their Stripe customer, the current subscription, its status and period as the
  webhooks last left them, the grace deadline, and whether the tier is held for them now (``tier_held``).
* ``MembershipBenefit`` — a benefit of one paid period (a Saleor voucher), unique by ``key``: a period's benefits
  are recorded once whatever the webhooks repeat, then issued in Saleor (``benefits.py``).
"""

from django.db import models
from django.db.models import Q

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member
from saleor_loyalty.tiers.models import Tier


class MembershipSettings(models.Model):
    install = models.OneToOneField(Install, on_delete=models.CASCADE, related_name="+")
    # "https://shop.example.com" (scheme, host, port): where successUrl / cancelUrl may point.
    return_origins = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "memberships_settings"

    def __str__(self) -> str:
        return f"membership settings of install {self.install_id}"


class Interval(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class BenefitKind(models.TextChoices):
    FREE_SHIPPING = "free_shipping", "A free-shipping voucher"
    FIXED_AMOUNT = "fixed_amount", "A voucher for a fixed amount off the order"


class PaidPlan(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=64)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=4)  # shown to shoppers; Stripe's Price charges
    currency = models.CharField(max_length=3)
    interval = models.CharField(max_length=8, choices=Interval.choices)
    interval_count = models.PositiveSmallIntegerField(default=1)
    stripe_price_id = models.CharField(max_length=255)  # price_… (plan_… on localstripe)
    is_active = models.BooleanField(default=True)
    grace_days = models.PositiveIntegerField(default=7)  # after a failed payment, before the tier goes
    # [{"kind": "free_shipping", "channel_id": "Q2hhbm5lbDox"}, {"kind": "fixed_amount", "channel_id": …,
    #   "value": "5.00"}]: one voucher each, per paid period (memberships.configuration checks them)
    benefits = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "memberships_plan"
        constraints = [
            models.UniqueConstraint(fields=["install", "name"], name="paid_plan_unique_name"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="paid_plan_amount_positive"),
            models.CheckConstraint(condition=Q(interval_count__gte=1), name="paid_plan_interval_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.tier_id} for {self.amount} {self.currency} / {self.interval}"


class MembershipStatus(models.TextChoices):
    INCOMPLETE = "incomplete", "A Checkout was started, not completed"
    ACTIVE = "active", "Paid up"
    PAST_DUE = "past_due", "A payment failed: the tier is kept until grace_until"
    CANCELED = "canceled", "The subscription ended: the tier is kept until access_ends_at"


class Membership(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(PaidPlan, on_delete=models.PROTECT, related_name="+")  # the subscription's plan
    stripe_customer_id = models.CharField(max_length=255, blank=True)  # cus_…, made once, reused
    subscription_id = models.CharField(max_length=255, blank=True)  # sub_…, the current (or last) subscription
    checkout_session_id = models.CharField(max_length=255, blank=True)  # cs_…, the last Checkout started
    status = models.CharField(max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.INCOMPLETE)
    # Stripe's ``created`` of the newest event applied to the status: an older one arriving later changes nothing.
    status_at = models.DateTimeField(null=True)
    current_period_start = models.DateTimeField(null=True)
    current_period_end = models.DateTimeField(null=True)
    cancel_at_period_end = models.BooleanField(default=False)
    grace_until = models.DateTimeField(null=True)  # past_due: the tier goes then (grace job) unless paid
    access_ends_at = models.DateTimeField(null=True)  # canceled: the tier goes then (the end of the paid period)
    tier_held = models.BooleanField(default=False)  # the paid tier is held for the member now (tiers/paid.py)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "memberships_membership"
        constraints = [
            models.UniqueConstraint(fields=["install", "member"], name="membership_unique_member"),
            models.UniqueConstraint(
                fields=["install", "subscription_id"],
                condition=~Q(subscription_id=""),
                name="membership_unique_subscription",
            ),
        ]
        indexes = [
            models.Index(fields=["grace_until"], condition=Q(tier_held=True), name="membership_tier_due"),
        ]

    def __str__(self) -> str:
        return f"membership of member {self.member_id}: {self.status}"


class BenefitStatus(models.TextChoices):
    PENDING = "pending", "Recorded; the voucher is being made in Saleor"
    ISSUED = "issued", "The voucher exists in Saleor"
    FAILED = "failed", "Saleor refused it too many times: an operator looks"


class MembershipBenefit(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="benefits")
    # "<subscription>:<period start, unix>:<benefit index>": once per (membership, period, benefit)
    key = models.CharField(max_length=255)
    subscription_id = models.CharField(max_length=255)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=BenefitKind.choices)
    channel_id = models.CharField(max_length=255)
    value = models.DecimalField(max_digits=14, decimal_places=4)  # fixed_amount: the amount; free_shipping: 100 (%)
    code = models.CharField(max_length=64, unique=True)  # chosen before Saleor is called: every code is on record
    voucher_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=BenefitStatus.choices, default=BenefitStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "memberships_benefit"
        constraints = [
            models.UniqueConstraint(fields=["membership", "key"], name="membership_benefit_once_per_period"),
        ]
        indexes = [models.Index(fields=["id"], condition=Q(status="pending"), name="membership_benefit_due")]

    def __str__(self) -> str:
        return f"{self.kind} of membership {self.membership_id} ({self.key}): {self.status}"
