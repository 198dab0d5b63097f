"""Referrals: each member's shareable code, who was referred by whom, and the merchant's referral terms.

A ``Referral`` links a referee (a new shopper) to the referrer whose code they used. It is PENDING until the
referee's first order is paid; then the fraud checks run on the order's data and it is either HELD for review
(nothing paid, reasons recorded) or QUALIFIED: both sides' points are earned as pending lots that unlock with
the order's return window. Once the window has passed it is REWARDED; a refund or cancellation of that order
before then voids both rewards (REJECTED). ``Fingerprint`` rows keep hashed contact data (shipping address,
phone) seen on each member's orders, so a referee can be compared with the referrer without storing either.
"""

from django.db import models

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member


class ReferralProgram(models.Model):
    """The merchant's referral terms; one per install, created with defaults on first use."""

    install = models.OneToOneField(Install, on_delete=models.PROTECT, related_name="referral_program")
    is_active = models.BooleanField(default=True)
    # The storefront page a referral link points at; the link is "<storefront_url>?ref=<code>".
    storefront_url = models.CharField(max_length=2048, blank=True)
    referee_reward_points = models.PositiveIntegerField(default=100)  # the new shopper's welcome reward
    referrer_reward_points = models.PositiveIntegerField(default=200)  # for the member who referred them
    # At most this many rewarded referrals per referrer in any ``cap_period_days``; more are HELD for review.
    max_rewarded_per_period = models.PositiveIntegerField(null=True, blank=True, default=10)
    cap_period_days = models.PositiveIntegerField(default=30)
    # At most this many rewarded referrals per referrer ever (empty: no limit).
    max_rewarded_total = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "referrals_program"

    def __str__(self) -> str:
        return f"referral program of install {self.install_id}"


class ReferralCode(models.Model):
    """A member's code to share. Unguessable (8 characters of 32), unique per install, case-insensitive."""

    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="referral_code")
    code = models.CharField(max_length=32)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "referrals_code"
        constraints = [models.UniqueConstraint(fields=["install", "code"], name="referral_code_unique")]

    def __str__(self) -> str:
        return self.code


class ReferralStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the referee's first paid order"
    QUALIFIED = "qualified", "First order paid; rewards pending through its return window"
    REWARDED = "rewarded", "Rewards paid and unlocked"
    HELD = "held", "Suspicious: held for review, nothing paid"
    REJECTED = "rejected", "Rejected on review, or voided by a refund or cancellation of the order"


class ReferralFlag(models.TextChoices):
    """Why a referral was held (``Referral.reason`` lists these, comma-separated) or voided."""

    SAME_USER = "same_user", "The referee is the referrer's own Saleor account"
    SAME_EMAIL = "same_email", "The referee's email is the referrer's (ignoring case, +tags, gmail dots)"
    SAME_ADDRESS = "same_address", "The order ships to an address the referrer's orders shipped to"
    SAME_PHONE = "same_phone", "The order's phone is one the referrer's orders used"
    CAP_REACHED = "cap_reached", "The referrer reached the cap of rewarded referrals"
    ORDER_RETURNED = "order_returned", "The first order was refunded or cancelled within its return window"


class ReferralSource(models.TextChoices):
    API = "api", "applyReferralCode"
    ORDER_METADATA = "order_metadata", "Order metadata"
    CUSTOMER_METADATA = "customer_metadata", "Customer metadata at sign-up"


class Referral(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    code = models.ForeignKey(ReferralCode, on_delete=models.PROTECT, related_name="referrals")
    referrer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referrals_made")
    referee = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="referral")
    status = models.CharField(max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.PENDING)
    reason = models.CharField(max_length=255, blank=True)  # ReferralFlag values, comma-separated
    source = models.CharField(max_length=32, choices=ReferralSource.choices)
    order_id = models.CharField(max_length=255, blank=True)  # the referee's first paid order
    order_number = models.CharField(max_length=64, blank=True)
    qualified_at = models.DateTimeField(null=True, blank=True)  # when that order was seen paid
    rewards_unlock_at = models.DateTimeField(null=True, blank=True)  # the end of that order's return window
    referee_points = models.PositiveIntegerField(default=0)  # the rewards, frozen when the referee is attached
    referrer_points = models.PositiveIntegerField(default=0)
    paid_at = models.DateTimeField(null=True, blank=True)  # when the rewards were earned (pending or not)
    voided_at = models.DateTimeField(null=True, blank=True)  # when paid rewards were taken back
    reviewed_by = models.CharField(max_length=255, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "referrals_referral"
        indexes = [
            models.Index(fields=["referrer", "status"], name="referral_referrer_status"),
            models.Index(fields=["install", "status"], name="referral_install_status"),
        ]

    def __str__(self) -> str:
        return f"referral {self.pk}: {self.referrer_id} -> {self.referee_id} ({self.status})"

    @property
    def ledger_ref(self) -> str:
        """The ``order_id`` on both sides' reward lots and transfers (what a clawback finds them by)."""
        return f"referral:{self.pk}"


class FingerprintKind(models.TextChoices):
    ADDRESS = "address"
    PHONE = "phone"


class Fingerprint(models.Model):
    """A hash of normalised contact data seen on one of a member's orders (never the data itself)."""

    # no index of their own: ``referral_fingerprint_lookup`` starts with the install, ``referral_fingerprint_unique``
    # with the member (every paid order writes its fingerprints)
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=16, choices=FingerprintKind.choices)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "referrals_fingerprint"
        constraints = [
            models.UniqueConstraint(fields=["member", "kind", "digest"], name="referral_fingerprint_unique"),
        ]
        indexes = [models.Index(fields=["install", "kind", "digest"], name="referral_fingerprint_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} of member {self.member_id}"
