"""The inbox: every verified delivery, stored before Saleor gets its 2xx, processed afterwards.

A body is stored once per install (its SHA-256 is unique), so Saleor's retries of one delivery are harmless;
processing is state-based, so two different deliveries about the same order are harmless too.
"""

from django.db import models
from django.db.models import Q

from saleor_loyalty.installs.models import Install


class InboxStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSED = "processed"
    IGNORED = "ignored"  # valid, but nothing to do (e.g. an echo of our own write)
    FAILED = "failed"  # processing raised; retried by the redelivery sweep and replayable by an operator


class InboxEvent(models.Model):
    # No database FK: every delivery would KEY SHARE-lock the store's one install row (see ledger.models).
    # (nor an index of its own: the unique (install, body_sha256) index starts with it)
    install = models.ForeignKey(
        Install, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    event = models.CharField(max_length=64)  # lower-case, as in the Saleor-Event header
    body = models.TextField()  # the exact bytes Saleor signed (UTF-8)
    body_sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField(null=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=InboxStatus.choices, default=InboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "webhooks_inbox_event"
        constraints = [
            models.UniqueConstraint(fields=["install", "body_sha256"], name="inbox_unique_body"),
        ]
        indexes = [
            models.Index(fields=["received_at"], condition=Q(status__in=["pending", "failed"]), name="inbox_open"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"
