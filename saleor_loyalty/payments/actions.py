"""Connecting and disconnecting a store's Stripe account.

Only the shape of the keys is checked here (no call to Stripe): a restricted key may lack the permission any
probe would need. A key of the wrong mode, or keys of two modes, are refused: a test key must never meet a live
webhook secret, nor the other way round.
"""

import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from saleor_loyalty.installs.models import Install

from .models import StripeAccount

_SECRET_KEY = re.compile(r"(sk|rk)_(test|live)_[0-9A-Za-z]{8,240}")
_PUBLISHABLE_KEY = re.compile(r"pk_(test|live)_[0-9A-Za-z]{8,240}")
_WEBHOOK_SECRET = re.compile(r"whsec_[0-9A-Za-z+/=_-]{8,240}")


@dataclass
class InvalidStripeKeys(ValueError):
    errors: dict[str, str]  # field (secret_key, webhook_secret, publishable_key) -> why it is refused, every one

    @property
    def field(self) -> str:
        return next(iter(self.errors))


def _refusals(secret_key: str, webhook_secret: str, publishable_key: str) -> dict[str, str]:
    """What is wrong with each key, all at once (a merchant who pasted two wrong keys learns it in one go)."""
    refused = {}
    secret = _SECRET_KEY.fullmatch(secret_key)
    if secret is None:
        refused["secret_key"] = "not a Stripe secret or restricted key (sk_test_…, sk_live_…, rk_…)"  # noqa: S105
    if not _WEBHOOK_SECRET.fullmatch(webhook_secret):
        refused["webhook_secret"] = "not a webhook signing secret (whsec_…)"  # noqa: S105
    if publishable_key:
        publishable = _PUBLISHABLE_KEY.fullmatch(publishable_key)
        if publishable is None:
            refused["publishable_key"] = "not a publishable key (pk_test_…, pk_live_…)"
        elif secret is not None and (publishable.group(1) == "live") != (secret.group(2) == "live"):
            refused["publishable_key"] = "the publishable key is not of the secret key's mode"
    return refused


def connect_stripe(install: Install, secret_key: str, webhook_secret: str, publishable_key: str = "") -> StripeAccount:
    """Store (or replace) the store's Stripe keys, encrypted. The webhook URL is kept across reconnections, so the
    endpoint configured in Stripe goes on working; a new account gets a new one (``webhook_url``)."""
    secret_key, webhook_secret, publishable_key = secret_key.strip(), webhook_secret.strip(), publishable_key.strip()
    if refused := _refusals(secret_key, webhook_secret, publishable_key):
        raise InvalidStripeKeys(refused)
    livemode = secret_key.split("_", 2)[1] == "live"
    with transaction.atomic():
        account = StripeAccount.objects.select_for_update().filter(install=install).first()
        if account is None:
            account = StripeAccount(install=install, webhook_token=secrets.token_urlsafe(24))
        account.set_secret_key(secret_key)
        account.set_webhook_secret(webhook_secret)
        account.publishable_key = publishable_key
        account.livemode = livemode
        account.save()
    return account


def disconnect_stripe(install: Install) -> bool:
    """Forget the store's keys; its webhook URL stops answering (404). Stored events stay. False: none connected."""
    deleted, _ = StripeAccount.objects.filter(install=install).delete()
    return deleted > 0


def webhook_url(account: StripeAccount) -> str:
    """The endpoint URL the merchant enters in Stripe's dashboard (docs/stripe.md)."""
    return f"{settings.APP_URL}/stripe/webhooks/{account.webhook_token}/"
