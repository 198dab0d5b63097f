"""Verifying Saleor's webhook signatures: RFC 7797 detached JWS (RS256, unencoded payload).

The header value is ``<b64url protected header>..<b64url signature>`` and the signature covers
``b64url(header) + "." + raw body``. Keys come from the install's cached JWKS, matched by ``kid``. When a check
fails, Saleor may have rotated keys: the JWKS is fetched again once (throttled, so forged deliveries cannot
make us hammer Saleor) before the delivery is rejected. An unknown ``kid`` that cannot be checked against fresh
keys right now is ``SigningKeyUnavailable`` (answered 503, so Saleor retries), never a final refusal. Only RS256
is accepted: ``none`` and HMAC "algorithm confusion" signatures are refused before any key is touched.
"""

import base64
import json
import logging
from functools import lru_cache
from typing import Any

import jwt
from django.core.cache import cache
from django.utils import timezone

from saleor_loyalty.installs.models import Install

from .client import SaleorError, fetch_jwks

logger = logging.getLogger(__name__)
_JWS = jwt.api_jws.PyJWS(algorithms=["RS256"])
_REFETCH_THROTTLE_SECONDS = 30


class InvalidSignature(Exception):
    """The delivery's signature is missing, malformed, or does not verify against the store's keys."""


class SigningKeyUnavailable(InvalidSignature):
    """The signature names a key the store's cached JWKS lacks, and the JWKS cannot be re-fetched right now
    (throttled, or Saleor unreachable). A genuine delivery after a key rotation looks like this: it may verify
    later, so it must not be refused for good."""


def _protected_header(signature: str) -> dict[str, Any]:
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise InvalidSignature("signature is not a detached JWS")
    try:
        padded = parts[0] + "=" * (-len(parts[0]) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidSignature("signature header is not valid base64 JSON") from exc
    if not isinstance(header, dict):
        raise InvalidSignature("signature header is not an object")
    if header.get("alg") != "RS256":
        raise InvalidSignature(f"signature algorithm {header.get('alg')!r} is not allowed")
    return header


@lru_cache(maxsize=256)
def _public_key(kid: str, n: str, e: str) -> Any:
    return jwt.PyJWK({"kty": "RSA", "kid": kid, "n": n, "e": e}, algorithm="RS256").key


def key_for_kid(keys: list[dict[str, Any]], kid: str | None) -> Any | None:
    for jwk in keys:
        if jwk.get("kid") == kid and jwk.get("kty") == "RSA" and kid:
            return _public_key(kid, str(jwk.get("n")), str(jwk.get("e")))
    return None


def _verifies(keys: list[dict[str, Any]], kid: str | None, signature: str, body: bytes) -> bool:
    key = key_for_kid(keys, kid)
    if key is None:
        return False
    try:
        _JWS.decode_complete(signature, key=key, algorithms=["RS256"], detached_payload=body)
    except jwt.InvalidTokenError:
        return False
    return True


def refresh_jwks(install: Install) -> bool:
    """Fetch the store's JWKS again, at most once per throttle window. Returns whether keys were refreshed."""
    if not cache.add(f"jwks-refetch:{install.pk}", 1, _REFETCH_THROTTLE_SECONDS):
        return False
    try:
        install.jwks = fetch_jwks(install.saleor_api_url)
    except SaleorError:
        logger.warning("JWKS re-fetch failed", extra={"data": {"install_id": install.pk}})
        return False
    install.jwks_fetched_at = timezone.now()
    install.save(update_fields=["jwks", "jwks_fetched_at", "updated_at"])
    return True


def verify_webhook(install: Install, body: bytes, signature: str | None) -> None:
    """Raise ``InvalidSignature`` unless ``signature`` is the store's RS256 detached signature of ``body``."""
    if not signature:
        raise InvalidSignature("missing Saleor-Signature header")
    header = _protected_header(signature)
    if header.get("b64") is not False:
        raise InvalidSignature("signature must use an unencoded (b64: false) payload")
    kid = header.get("kid")
    if _verifies(install.jwks_keys, kid, signature, body):
        return
    refreshed = refresh_jwks(install)
    if refreshed and _verifies(install.jwks_keys, kid, signature, body):
        return
    if not refreshed and key_for_kid(install.jwks_keys, kid) is None:
        raise SigningKeyUnavailable(f"signing key {kid!r} is unknown and the store's keys cannot be re-fetched now")
    raise InvalidSignature("signature does not verify against the store's keys")
