"""Looking up the install a request claims to come from.

Webhook ingest asks for it on every delivery, so active installs are memoised in-process for a few seconds
(the row carries the JWKS). Deactivation clears this process's entry at once; other processes see it within
the TTL, after which Saleor has stopped delivering anyway. A store taken off ``ALLOWED_SALEOR_URLS`` is not an
active install for any request, whatever its row says.
"""

import time

from .allowlist import is_allowed, normalize_api_url
from .models import Install

_TTL_SECONDS = 15.0
_cache: dict[str, tuple[float, Install]] = {}


def active_install(api_url: str | None) -> Install | None:
    if not api_url:
        return None
    url = normalize_api_url(api_url)
    if not is_allowed(url):
        return None
    hit = _cache.get(url)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    install = Install.objects.filter(saleor_api_url=url, is_active=True).first()
    if install is not None:
        _cache[url] = (time.monotonic() + _TTL_SECONDS, install)
    else:
        _cache.pop(url, None)
    return install


def forget(api_url: str) -> None:
    _cache.pop(normalize_api_url(api_url), None)
