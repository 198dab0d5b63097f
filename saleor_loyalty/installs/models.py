"""One row per Saleor store that installed the app. Every row of domain data belongs to one install."""

from typing import Any

from django.db import models

from saleor_loyalty.core import crypto


class Install(models.Model):
    """A Saleor store (identified by its GraphQL API URL) that installed the app.

    The app token is stored encrypted; the JWKS is cached here so signature checks need no network call
    until Saleor rotates its keys.
    """

    saleor_api_url = models.URLField(max_length=500, unique=True)
    saleor_domain = models.CharField(max_length=255, blank=True)
    app_id = models.CharField(max_length=255, blank=True)
    encrypted_token = models.TextField()
    jwks = models.JSONField(default=dict)
    jwks_fetched_at = models.DateTimeField(null=True)
    saleor_version = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deactivated_at = models.DateTimeField(null=True)
    # What the last audit of our webhooks in the store found (saleor/subscription_audit.py): "" = our documents, as in
    # the manifest. While it is not empty, the store's deliveries are held, not processed.
    subscription_problem = models.TextField(blank=True, default="")
    subscriptions_checked_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "installs_install"

    def __str__(self) -> str:
        return self.saleor_api_url

    @property
    def auth_token(self) -> str:
        return crypto.decrypt(self.encrypted_token)

    def set_auth_token(self, token: str) -> None:
        self.encrypted_token = crypto.encrypt(token)

    @property
    def jwks_keys(self) -> list[dict[str, Any]]:
        keys = (self.jwks or {}).get("keys", [])
        return keys if isinstance(keys, list) else []
