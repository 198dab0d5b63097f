"""A member is the loyalty identity of one shopper in one store.

Registered customers are keyed by Saleor user id. Guests (orders with no user) are keyed by their normalised
email so their points are not lost; when a customer with that email registers and confirms, the guest member
is claimed by (or merged into) the customer's member. Merged guest members stay as empty tombstones
(``merged_into``) so history keeps pointing somewhere.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from saleor_loyalty.installs.models import Install


def normalize_email(email: str) -> str:
    return email.strip().lower()


class Member(models.Model):
    # no index of its own: ``member_install_email`` and the other indexes start with it
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="members", db_index=False)
    saleor_user_id = models.CharField(max_length=255, null=True, blank=True)
    email = models.CharField(max_length=320, blank=True)
    merged_into = models.ForeignKey("self", null=True, on_delete=models.PROTECT, related_name="merged_guests")
    # Fractions are carried forward, not dropped: each order awards floor(its exact points) and its fractional
    # part accrues here; ``carry_points`` (always floor(earn_accrual)) are awarded as "carry" lots. The member's
    # total is then floor(sum of exact order points) whatever order the events arrive in.
    earn_accrual = models.DecimalField(max_digits=24, decimal_places=6, default=Decimal(0))
    carry_points = models.BigIntegerField(default=0)
    # Points ever earned, net of points taken back because their order was refunded or cancelled.
    lifetime_points = models.BigIntegerField(default=0)
    # Last time the member earned or redeemed: "after N months of inactivity" expiry counts from here.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # From the customer's metadata; the birthday bonus is given once per calendar year.
    birthday_month = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_day = models.PositiveSmallIntegerField(null=True, blank=True)
    birthday_bonus_year = models.PositiveSmallIntegerField(null=True, blank=True)
    # Flags that spare every order's settlement a lookup (issue #10): a referral names this member (or a guest
    # merged into it) as its referee; the order that earned the first-order bonus (None: not given).
    is_referee = models.BooleanField(default=False)
    first_order_bonus_order_id = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "members_member"
        constraints = [
            models.UniqueConstraint(
                fields=["install", "saleor_user_id"],
                condition=Q(saleor_user_id__isnull=False),
                name="member_unique_user_per_install",
            ),
            models.UniqueConstraint(
                fields=["install", "email"],
                condition=Q(saleor_user_id__isnull=True, merged_into__isnull=True),
                name="member_unique_guest_email_per_install",
            ),
            models.CheckConstraint(condition=Q(earn_accrual__gte=0), name="member_earn_accrual_non_negative"),
            models.CheckConstraint(condition=Q(carry_points__gte=0), name="member_carry_points_non_negative"),
        ]
        indexes = [
            models.Index(fields=["install", "email"], name="member_install_email"),
            models.Index(fields=["install", "last_activity_at"], name="member_last_activity"),
            models.Index(
                fields=["install", "birthday_month", "birthday_day"],
                condition=Q(saleor_user_id__isnull=False, merged_into__isnull=True),
                name="member_birthday",
            ),
        ]

    def __str__(self) -> str:
        return self.saleor_user_id or f"guest:{self.email}"

    @property
    def is_guest(self) -> bool:
        return self.saleor_user_id is None
