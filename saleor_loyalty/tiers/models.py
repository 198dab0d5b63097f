"""Membership tiers: the merchant's tier definitions, each member's tier state and the history of changes.

* ``TierSettings`` — one per install: the qualification basis (spend or points), the window (rolling N days or
  the calendar year), the grace period before a downgrade.
* ``Tier`` + ``TierThreshold`` — a tier (rank 1 = lowest) with its benefits and, per currency (or ``PTS`` for
  the points basis), the amount that qualifies and the (lower, optional) amount that retains it.
* ``MemberTier`` — a member's current tier, the merchant's pin (a floor), the tier a paid membership holds them
  at (another floor, set and cleared by ``tiers/paid.py``) and since when the member is below the retain threshold
  (the grace clock).
* ``TierChange`` — every change of a member's tier; also the outbox of its side effects (upgrade bonus, email,
  Saleor metadata mirror), applied once (``effects_applied``).

The review (``tiers/review.py``) reads and writes these tables with one SQL statement; see docs/tiers.md.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member

POINTS_UNIT = "PTS"  # the threshold "currency" of the points basis


class Basis(models.TextChoices):
    SPEND = "spend", "Money paid, net of refunds, per currency"
    POINTS = "points", "Points earned from orders, net of refunds"


class WindowKind(models.TextChoices):
    ROLLING = "rolling", "The last N days"
    CALENDAR_YEAR = "calendar_year", "The calendar year (UTC); a tier earned in a year is kept through the next"


class TierSettings(models.Model):
    install = models.OneToOneField(Install, on_delete=models.PROTECT, related_name="tier_settings")
    is_active = models.BooleanField(default=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.SPEND)
    window_kind = models.CharField(max_length=16, choices=WindowKind.choices, default=WindowKind.ROLLING)
    window_days = models.PositiveIntegerField(default=365)  # rolling windows only
    # Days a member may stay below their tier's retain threshold before a review moves them down.
    grace_days = models.PositiveIntegerField(default=30)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tiers_settings"
        constraints = [
            models.CheckConstraint(condition=Q(window_days__gte=1), name="tier_settings_window_positive"),
        ]

    def __str__(self) -> str:
        return f"tiers of install {self.install_id}: {self.basis} over {self.window_kind}"


class Tier(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="tiers")
    name = models.CharField(max_length=64)
    rank = models.PositiveSmallIntegerField()  # 1 = lowest; higher ranks are better tiers
    multiplier = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(1))  # earn multiplier
    bonus_points = models.BigIntegerField(default=0)  # given once per qualification period on reaching the tier
    perks = models.JSONField(default=list)  # texts shown to shoppers
    access = models.JSONField(default=list)  # exclusive-access flags mirrored into the customer's metadata
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tiers_tier"
        constraints = [
            models.UniqueConstraint(fields=["install", "rank"], name="tier_unique_rank"),
            models.UniqueConstraint(fields=["install", "name"], name="tier_unique_name"),
            models.CheckConstraint(condition=Q(rank__gte=1), name="tier_rank_positive"),
            models.CheckConstraint(condition=Q(multiplier__gte=0), name="tier_multiplier_non_negative"),
            models.CheckConstraint(condition=Q(bonus_points__gte=0), name="tier_bonus_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (rank {self.rank})"


class TierThreshold(models.Model):
    """What qualifies for (and retains) a tier in one currency, or in points (``unit = "PTS"``)."""

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="thresholds")
    unit = models.CharField(max_length=3)  # ISO 4217 currency, or PTS
    qualify = models.DecimalField(max_digits=14, decimal_places=4)
    retain = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)  # None: same as qualify

    class Meta:
        db_table = "tiers_threshold"
        constraints = [
            models.UniqueConstraint(fields=["tier", "unit"], name="tier_threshold_unique_unit"),
            # 0 only in the base tier (rank 1, every threshold 0: see tiers.queries.base_tier)
            models.CheckConstraint(condition=Q(qualify__gte=0), name="tier_threshold_non_negative"),
            models.CheckConstraint(
                condition=Q(retain__isnull=True) | Q(retain__gte=0, retain__lte=models.F("qualify")),
                name="tier_threshold_retain_le_qualify",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tier_id}: {self.qualify} {self.unit}"


class MemberTier(models.Model):
    member = models.OneToOneField(Member, on_delete=models.PROTECT, primary_key=True, related_name="tier_state")
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    tier_since = models.DateTimeField(null=True)
    # Set by the first review that finds the member below their tier's retain threshold; cleared when they are
    # back above it. The review moves them down once ``below_since + grace_days`` has passed.
    below_since = models.DateTimeField(null=True)
    pinned_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    pin_reason = models.CharField(max_length=255, blank=True)
    pinned_by = models.CharField(max_length=255, blank=True)
    pinned_at = models.DateTimeField(null=True)
    # A paid membership's tier (saleor_loyalty.memberships): a floor like the pin, but kept apart from it (the
    # merchant's pin survives a membership) and ended without grace (tiers/paid.py).
    paid_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tiers_member_tier"
        indexes = [models.Index(fields=["install", "tier"], name="member_tier_install_tier")]

    def __str__(self) -> str:
        return f"member {self.member_id}: tier {self.tier_id}"


class ChangeReason(models.TextChoices):
    ORDER = "order", "An order qualified the member"
    REVIEW = "review", "The periodic review"
    PIN = "pin", "Pinned by the merchant"
    PAID = "paid", "A paid membership started or ended"


class TierChange(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, on_delete=models.PROTECT, related_name="+")
    is_upgrade = models.BooleanField()
    reason = models.CharField(max_length=16, choices=ChangeReason.choices)
    note = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField()
    # Outbox: bonus, email and metadata mirror of this change were done (each is idempotent on its own).
    effects_applied = models.BooleanField(default=False)

    class Meta:
        db_table = "tiers_change"
        indexes = [
            models.Index(fields=["member", "-at"], name="tier_change_member"),
            models.Index(fields=["id"], condition=Q(effects_applied=False), name="tier_change_effects_due"),
        ]

    def __str__(self) -> str:
        return f"member {self.member_id}: {self.from_tier_id} -> {self.to_tier_id} ({self.reason})"
