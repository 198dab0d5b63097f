"""Shopper emails, one row per email the program decided to send (or decided not to, and why).

A ``Notification`` is written once, by ``actions.notify``, under an idempotency key unique per install: a second
decision with the same key changes nothing, so receivers can run as often as their events repeat. Sending is a
Celery task that locks the row and sends only while it is ``queued``, so a task run twice sends once.

``EmailPreference`` keeps what the app last learnt from Saleor about a customer: whether they opted out of
loyalty emails (customer metadata ``loyalty_email_opt_out``), and their current email address and first name.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from saleor_loyalty.installs.models import Install
from saleor_loyalty.members.models import Member


class NotificationKind(models.TextChoices):
    # The value names the templates: loyalty/emails/<value>.subject.txt, .txt and .html
    EARNED = "earned", "Points earned"
    EXPIRY_REMINDER = "expiry_reminder", "Points about to expire"
    TIER_UP = "tier_up", "Moved up a tier"
    TIER_DOWN = "tier_down", "Moved down a tier"
    REFERRAL_REWARD = "referral_reward", "Referral reward earned"
    WELCOME = "welcome", "Welcome to the program"
    REBATE_PAID = "rebate_paid", "Rebate paid"


class NotificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    SKIPPED_OPT_OUT = "skipped_opt_out", "Not sent: the shopper opted out"
    SKIPPED_NO_EMAIL = "skipped_no_email", "Not sent: no email address"
    SKIPPED_GUEST = "skipped_guest", "Not sent: a guest (no customer account, so no way to opt out)"
    SKIPPED_DISABLED = "skipped_disabled", "Not sent: the merchant switched this kind of email off"
    FAILED = "failed", "Failed (gave up after retries)"


class Notification(models.Model):
    install = models.ForeignKey(Install, on_delete=models.PROTECT, related_name="notifications")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    key = models.CharField(max_length=255)
    to_email = models.CharField(max_length=320, blank=True)
    context = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=32, choices=NotificationStatus.choices, default=NotificationStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "notifications_notification"
        constraints = [models.UniqueConstraint(fields=["install", "key"], name="notification_unique_key")]
        indexes = [
            models.Index(fields=["member", "-id"], name="notification_member"),
            models.Index(fields=["updated_at"], condition=models.Q(status="queued"), name="notification_queued"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to member {self.member_id} ({self.key}): {self.status}"


class EmailPreference(models.Model):
    """The latest known email preference and contact details of a customer, from CUSTOMER_* webhooks."""

    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="email_preference")
    opted_out = models.BooleanField(default=False)
    email = models.CharField(max_length=320, blank=True)  # the customer's current address (Member keeps its first)
    first_name = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notifications_email_preference"

    def __str__(self) -> str:
        return f"member {self.member_id}: {'opted out' if self.opted_out else 'subscribed'}"


class NotificationSettings(models.Model):
    """The merchant's choices about shopper emails: which kinds go out, and who they come from."""

    install = models.OneToOneField(Install, on_delete=models.PROTECT, related_name="notification_settings")
    disabled_kinds = models.JSONField(default=list, blank=True)  # NotificationKind values switched off
    from_email = models.CharField(max_length=320, blank=True)  # empty: DEFAULT_FROM_EMAIL
    from_name = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "notifications_settings"

    def __str__(self) -> str:
        return f"email settings of install {self.install_id}"
