"""Installing into and uninstalling from a Saleor store (the writes behind /api/register and APP_DELETED)."""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .client import SaleorClient, SaleorError, fetch_jwks
from .models import Install

logger = logging.getLogger(__name__)


@dataclass
class RegistrationError(Exception):
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def normalize_api_url(url: str) -> str:
    """Saleor API URLs are compared exactly as Saleor sends them, minus a missing trailing slash."""
    return url.strip() if url.strip().endswith("/") else url.strip() + "/"


def is_allowed(api_url: str) -> bool:
    allowed = [normalize_api_url(u) for u in settings.ALLOWED_SALEOR_URLS]
    if not allowed:
        logger.warning("ALLOWED_SALEOR_URLS is empty: any Saleor may install", extra={"data": {"api_url": api_url}})
        return True
    return api_url in allowed


def register_install(api_url: str, domain: str, token: str) -> Install:
    """Prove the token against Saleor, fetch its JWKS and store (or replace) the install."""
    if not api_url or not token:
        raise RegistrationError("MISSING_DATA", "Saleor-Api-Url header and auth_token are required")
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RegistrationError("INVALID_API_URL", f"Saleor-Api-Url is not an http(s) URL: {api_url!r}")
    api_url = normalize_api_url(api_url)
    if not is_allowed(api_url):
        raise RegistrationError("FORBIDDEN_URL", f"This app does not accept installs from {api_url}")
    try:
        data = SaleorClient(api_url, token).execute("app_id")
    except SaleorError as exc:
        if exc.errors:  # Saleor answered, and refused the token
            raise RegistrationError("TOKEN_REJECTED", f"Saleor did not accept the app token: {exc}") from exc
        raise RegistrationError("SALEOR_UNAVAILABLE", f"could not check the app token with Saleor: {exc}") from exc
    app = data.get("app")
    if not isinstance(app, dict) or not app.get("id"):
        raise RegistrationError("TOKEN_REJECTED", "Saleor did not return the app for this token")
    try:
        jwks = fetch_jwks(api_url)
    except SaleorError as exc:
        raise RegistrationError("JWKS_UNAVAILABLE", str(exc)) from exc

    with transaction.atomic():
        install = Install.objects.select_for_update().filter(saleor_api_url=api_url).first()
        if install is None:
            install = Install(saleor_api_url=api_url)
        install.saleor_domain = domain
        install.app_id = str(app["id"])
        install.set_auth_token(token)
        install.jwks = jwks
        install.jwks_fetched_at = timezone.now()
        install.is_active = True
        install.deactivated_at = None
        install.save()
    from .installs import forget

    forget(api_url)
    logger.info("app installed", extra={"data": {"install_id": install.pk, "api_url": api_url}})
    return install


def deactivate_install(install: Install) -> None:
    """Forget the store's token after APP_DELETED; its loyalty data stays for audit and re-install."""
    from .installs import forget

    Install.objects.filter(pk=install.pk).update(
        is_active=False, encrypted_token="", deactivated_at=timezone.now(), updated_at=timezone.now()
    )
    forget(install.saleor_api_url)
    logger.info("app uninstalled", extra={"data": {"install_id": install.pk}})
