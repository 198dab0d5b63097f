"""A store's Stripe account, the Stripe events it received, and the refunds the app asked Stripe for.

Three tables, one rule each:

- ``StripeAccount``: at most one per install. The secret key and the webhook endpoint secret are encrypted at rest
  (``core.crypto``, like ``Install.encrypted_token``); the webhook URL names the account by a random token, never
  by anything guessable.
- ``StripeEvent``: the inbox. An event is stored once per install (its Stripe id is unique), so Stripe's
  redeliveries are harmless; it is processed afterwards, once.
- ``StripeRefund``: our own idempotency row, one per (install, idempotency key). Stripe keeps an idempotency key for
  24 hours only; this row keeps it for good, so a retry days later still cannot refund twice (payments/refunds.py).
"""

from django.db import models
from django.db.models import Q

from saleor_loyalty.core import crypto
from saleor_loyalty.installs.models import Install


class StripeAccount(models.Model):
    install = models.OneToOneField(Install, on_delete=models.CASCADE, related_name="+")
    encrypted_secret_key = models.TextField()
    encrypted_webhook_secret = models.TextField()
    publishable_key = models.CharField(max_length=255, blank=True)
    livemode = models.BooleanField()
    # The last segment of this store's webhook URL (/stripe/webhooks/<token>/): random, kept across reconnections.
    webhook_token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments_stripe_account"

    def __str__(self) -> str:
        return f"Stripe account of install #{self.install_id} ({'live' if self.livemode else 'test'})"

    @property
    def secret_key(self) -> str:
        return crypto.decrypt(self.encrypted_secret_key)

    def set_secret_key(self, key: str) -> None:
        self.encrypted_secret_key = crypto.encrypt(key)

    @property
    def webhook_secret(self) -> str:
        return crypto.decrypt(self.encrypted_webhook_secret)

    def set_webhook_secret(self, secret: str) -> None:
        self.encrypted_webhook_secret = crypto.encrypt(secret)


class StripeEvent(models.Model):
    # (no index of its own: the unique (install, event_id) index starts with it)
    install = models.ForeignKey(Install, on_delete=models.CASCADE, db_index=False, related_name="+")
    event_id = models.CharField(max_length=255)  # evt_…
    type = models.CharField(max_length=128)
    livemode = models.BooleanField()
    payload = models.TextField()  # the exact body Stripe signed (UTF-8 JSON)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "payments_stripe_event"
        constraints = [models.UniqueConstraint(fields=["install", "event_id"], name="stripe_event_unique_id")]
        indexes = [models.Index(fields=["received_at"], condition=Q(processed_at=None), name="stripe_event_open")]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class StripeRefund(models.Model):
    install = models.ForeignKey(Install, on_delete=models.CASCADE, db_index=False, related_name="+")
    idempotency_key = models.CharField(max_length=200)  # the caller's; Stripe sees it prefixed with the install
    payment_intent = models.CharField(max_length=255)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)  # lower-case, as Stripe writes it
    metadata = models.JSONField(default=dict)  # sent unchanged on every attempt (Stripe compares them)
    refund_id = models.CharField(max_length=255, blank=True)  # re_…, once Stripe answered
    status = models.CharField(max_length=32, blank=True)  # Stripe's refund status, or "refused"
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # While a call is under way no other may start (a lease, not a lock held across the network call).
    in_flight_until = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "payments_stripe_refund"
        constraints = [
            models.UniqueConstraint(fields=["install", "idempotency_key"], name="stripe_refund_unique_key"),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="stripe_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.idempotency_key} of {self.payment_intent} ({self.status or 'open'})"
