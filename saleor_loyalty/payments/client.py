"""Calling Stripe for one store: its client, and what a failed call means.

Every call either did nothing at Stripe for sure (``StripeRefused``: a declined card, an invalid request, a revoked
key) or may have done something (``StripeOutcomeUnknown``: a timeout, a dropped connection, a 5xx, a rate limit, a
concurrent request with the same idempotency key). The second kind must be retried with the same idempotency key,
never a new one, and never answered by paying some other way: the money may already have moved.
"""

import stripe
from django.conf import settings

from saleor_loyalty.installs.models import Install

from .models import StripeAccount


class StripeNotConnected(Exception):
    """The store has not connected a Stripe account."""


class StripeRefused(Exception):
    """Stripe did not do what was asked, for sure: no money moved. Retrying the same request fails the same way."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class StripeOutcomeUnknown(Exception):
    """Stripe may or may not have done it: retry later with the same idempotency key."""


# Answers that mean "not now" even though Stripe files them as invalid requests.
_RETRYABLE_CODES = {"idempotency_key_in_use", "lock_timeout", "rate_limit"}


def account_for(install: Install) -> StripeAccount:
    account = StripeAccount.objects.filter(install=install).first()
    if account is None:
        raise StripeNotConnected(f"install #{install.pk} has not connected Stripe")
    return account


def stripe_client(install: Install) -> stripe.StripeClient:
    """A client with the store's own secret key, aimed at ``STRIPE_API_BASE``, with bounded timeouts and the
    library's retries off (``STRIPE_MAX_NETWORK_RETRIES``): our callers retry, with the same idempotency key."""
    return client_for(account_for(install))


def client_for(account: StripeAccount) -> stripe.StripeClient:
    return stripe.StripeClient(
        account.secret_key,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=(settings.STRIPE_CONNECT_TIMEOUT, settings.STRIPE_READ_TIMEOUT)),
    )


def classify(exc: stripe.StripeError) -> StripeRefused | StripeOutcomeUnknown:
    """What a failed call means (see the module docstring)."""
    code = str(exc.code or "")
    status = exc.http_status or 0
    if isinstance(exc, stripe.CardError | stripe.InvalidRequestError | stripe.AuthenticationError):
        if status in {409, 429} or status >= 500 or code in _RETRYABLE_CODES:
            return StripeOutcomeUnknown(f"{type(exc).__name__} {status} {code}".strip())
        return StripeRefused(code or type(exc).__name__, exc.user_message or str(exc) or "refused")
    if isinstance(exc, stripe.PermissionError):
        return StripeRefused(code or "permission_denied", exc.user_message or str(exc) or "refused")
    # APIConnectionError (timeouts, resets), APIError (5xx, unreadable answers), RateLimitError, IdempotencyError
    # (the key was used with other parameters: someone must look) and anything newer: the money may have moved.
    return StripeOutcomeUnknown(f"{type(exc).__name__} {status} {code}".strip())
