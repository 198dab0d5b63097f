"""Installing into and uninstalling from a Saleor store (the writes behind /api/register and APP_DELETED).

The register call is the one request Saleor does not sign, so the caller is trusted with nothing until the
store has proved itself: the URL must be a Saleor GraphQL endpoint this deployment serves (allow-list), on an
address the app may call (``network.py``); the store must serve a key set of RSA public keys; and the token
must belong to *this* app on that store (``app { identifier }`` is our manifest id), so neither another app's
token nor a stranger's store can replace an install. What the installer sees is one of a few fixed messages:
the store's own answers, which a forged URL could make say anything, go to the log, never into the reply.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from saleor_loyalty.installs.allowlist import InvalidApiUrl, is_allowed, validate_api_url
from saleor_loyalty.installs.lookup import forget
from saleor_loyalty.installs.models import Install

from .client import SaleorClient, SaleorError, fetch_jwks
from .manifest import APP_ID

logger = logging.getLogger(__name__)

MESSAGES = {
    "MISSING_DATA": "Saleor-Api-Url header and auth_token are required.",
    "INVALID_API_URL": "Saleor-Api-Url must be the store's GraphQL endpoint, e.g. https://shop.example.com/graphql/.",
    "FORBIDDEN_URL": "This app does not accept installs from this store (see ALLOWED_SALEOR_URLS).",
    "SALEOR_UNAVAILABLE": "The app could not verify this store: check that it reaches Saleor at its API URL.",
    "TOKEN_REJECTED": "Saleor did not confirm the app token for this app.",
}


@dataclass
class RegistrationError(Exception):
    code: str

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    def __str__(self) -> str:
        return self.message


def _refuse(code: str, api_url: str, reason: object) -> RegistrationError:
    logger.warning("install refused", extra={"data": {"code": code, "api_url": api_url[:500], "reason": str(reason)}})
    return RegistrationError(code)


def register_install(api_url: str, domain: str, token: str) -> Install:
    """Verify the store and the token, then store (or replace) the install."""
    if not api_url or not token:
        raise RegistrationError("MISSING_DATA")
    try:
        api_url = validate_api_url(api_url)
    except InvalidApiUrl as exc:
        raise _refuse("INVALID_API_URL", api_url, exc) from exc
    if not is_allowed(api_url):
        raise _refuse("FORBIDDEN_URL", api_url, "not in ALLOWED_SALEOR_URLS")
    try:
        jwks = fetch_jwks(api_url)
        data = SaleorClient(api_url, token).execute("app_id")
    except SaleorError as exc:
        if exc.forbidden:
            raise _refuse("FORBIDDEN_URL", api_url, exc) from exc
        if exc.errors and (exc.status or 200) < 500:  # Saleor answered, and refused the token
            raise _refuse("TOKEN_REJECTED", api_url, exc) from exc
        raise _refuse("SALEOR_UNAVAILABLE", api_url, exc) from exc
    app = data.get("app")
    if not isinstance(app, dict) or not isinstance(app.get("id"), str) or not app["id"]:
        raise _refuse("TOKEN_REJECTED", api_url, "Saleor returned no app for the token")
    if app.get("identifier") != APP_ID:
        raise _refuse("TOKEN_REJECTED", api_url, f"the token belongs to app {app.get('identifier')!r}")

    with transaction.atomic():
        install = Install.objects.select_for_update().filter(saleor_api_url=api_url).first()
        if install is None:
            install = Install(saleor_api_url=api_url)
        install.saleor_domain = domain[:255]
        install.app_id = app["id"][:255]
        install.set_auth_token(token)
        install.jwks = jwks
        install.jwks_fetched_at = timezone.now()
        install.is_active = True
        install.deactivated_at = None
        install.save()
    forget(api_url)
    logger.info("app installed", extra={"data": {"install_id": install.pk, "api_url": api_url}})
    return install


def deactivate_install(install: Install) -> None:
    """Forget the store's token after APP_DELETED; its loyalty data stays for audit and re-install."""
    Install.objects.filter(pk=install.pk).update(
        is_active=False, encrypted_token="", deactivated_at=timezone.now(), updated_at=timezone.now()
    )
    forget(install.saleor_api_url)
    logger.info("app uninstalled", extra={"data": {"install_id": install.pk}})
