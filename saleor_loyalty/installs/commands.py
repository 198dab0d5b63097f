"""What operator commands share: naming an install by its Saleor API URL."""

from django.core.management.base import CommandError

from .allowlist import normalize_api_url
from .models import Install


def install_named(api_url: str) -> Install:
    """The install of this Saleor API URL (a missing trailing slash is fine), or a CommandError."""
    install = Install.objects.filter(saleor_api_url=normalize_api_url(api_url)).first()
    if install is None:
        raise CommandError(f"no install for {api_url} (see the installs' Saleor API URLs in the admin or logs)")
    return install
