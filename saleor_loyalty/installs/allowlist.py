"""Which Saleor stores this deployment serves: the shape of a Saleor API URL and ``ALLOWED_SALEOR_URLS``.

Checked on every request that names a store (install, webhook, token) and before every call to one, not only
at install: taking a store off the list cuts it off at once, even though its install row stays for audit.

Entries are exact API URLs (``https://shop.example.com/graphql/``), host patterns with one leading wildcard
label (``https://*.saleor.cloud/graphql/``), or ``*`` for any store (a public multi-tenant deployment; the
network guard in ``saleor/network.py`` still keeps every store call off private addresses). An empty list means any
store only under DEBUG: production settings refuse to start without a list (``settings.py``).
"""

from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from django.conf import settings

MAX_API_URL_LENGTH = 500  # Install.saleor_api_url's column


class InvalidApiUrl(ValueError):
    """Not something Saleor would send as ``Saleor-Api-Url``."""


def normalize_api_url(url: str) -> str:
    """Saleor API URLs are compared exactly as Saleor sends them, minus a missing trailing slash."""
    return url.strip() if url.strip().endswith("/") else url.strip() + "/"


def validate_api_url(url: str) -> str:
    """The normalised URL, or ``InvalidApiUrl``: http(s), a host, no credentials, query or fragment, and the
    path of Saleor's GraphQL endpoint. Keeping the path fixed keeps a forged install from aiming the app's
    requests at an arbitrary path on some host."""
    url = normalize_api_url(url)
    if len(url) > MAX_API_URL_LENGTH or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidApiUrl("Saleor-Api-Url is too long or has control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise InvalidApiUrl("Saleor-Api-Url is not a URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidApiUrl("Saleor-Api-Url must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise InvalidApiUrl("Saleor-Api-Url must not carry credentials, a query or a fragment")
    if not parts.path.endswith("/graphql/"):
        raise InvalidApiUrl("Saleor-Api-Url must be the store's GraphQL endpoint (ending in /graphql/)")
    if port == 0:
        raise InvalidApiUrl("Saleor-Api-Url has no usable port")
    return url


def _matches(pattern: str, url: str) -> bool:
    if pattern == "*":
        return True
    pattern = normalize_api_url(pattern)
    if "*" not in pattern:
        return pattern == url
    pattern_parts, url_parts = urlsplit(pattern), urlsplit(url)
    host_pattern = pattern_parts.netloc
    if not host_pattern.startswith("*.") or "*" in host_pattern[2:]:
        return False  # only a leading wildcard label is a pattern; anything else never matches
    return (
        pattern_parts.scheme == url_parts.scheme
        and pattern_parts.path == url_parts.path
        and fnmatchcase(url_parts.netloc.lower(), host_pattern.lower())
        and url_parts.netloc.lower().endswith(host_pattern[1:].lower())
    )


def is_allowed(api_url: str) -> bool:
    """Whether this deployment serves the store at ``api_url`` (normalised)."""
    patterns = [p.strip() for p in settings.ALLOWED_SALEOR_URLS if p.strip()]
    if not patterns:
        return bool(settings.DEBUG)
    return any(_matches(pattern, api_url) for pattern in patterns)
