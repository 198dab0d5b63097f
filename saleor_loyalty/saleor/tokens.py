"""Verifying Saleor access tokens offline: a shopper's (``tokenCreate``) and the dashboard's (app extension).

RS256 only, against the issuing store's cached JWKS (re-fetched once, throttled, when a ``kid`` is unknown).
The store is chosen by the token's ``iss`` — which must be a known, active install's API URL — never by a
header the client sends. Offline checks cannot see a revoked token; actions that move points (redemption)
also ask Saleor with the shopper's token.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings

from saleor_loyalty.installs.lookup import active_install
from saleor_loyalty.installs.models import Install

from .signatures import key_for_kid, refresh_jwks

LEEWAY_SECONDS = 10
# Tokens whose signature was verified, kept until they expire: a page sends the same token with every request for
# its five minutes, and checking an RS256 signature (with PyJWT's decoding, three times per token) cost more CPU than
# the customer widget's SQL. Only tokens that passed are kept, so a stream of forged ones cannot fill it.
VERIFIED_TOKENS_KEPT = 2048


class InvalidToken(Exception):
    """The token cannot be trusted. ``code`` is shown to the client."""

    def __init__(self, message: str, code: str = "INVALID_TOKEN") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Shopper:
    install: Install
    user_id: str
    email: str
    token: str  # kept to ask Saleor as the shopper (which also catches revocation)


@dataclass(frozen=True)
class DashboardUser:
    install: Install
    user_id: str
    email: str
    permissions: frozenset[str]


class _VerifiedTokens:
    """Tokens that passed ``_verify``, with the install that issued them and their claims (bounded, least recently
    used out first). A hit is only trusted while the token is unexpired and its store still an active install."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._tokens: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()

    def get(self, raw: str) -> tuple[Install, dict[str, Any]] | None:
        with self._lock:
            found = self._tokens.get(raw)
            if found is not None:
                self._tokens.move_to_end(raw)
        if found is None:
            return None
        install_id, claims = found
        install = active_install(claims["iss"])
        if install is None or install.pk != install_id or claims["exp"] + LEEWAY_SECONDS <= time.time():
            with self._lock:
                self._tokens.pop(raw, None)
            return None
        return install, claims

    def put(self, raw: str, install: Install, claims: dict[str, Any]) -> None:
        with self._lock:
            self._tokens[raw] = (install.pk, claims)
            while len(self._tokens) > self._size:
                self._tokens.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


verified_tokens = _VerifiedTokens(VERIFIED_TOKENS_KEPT)


def _verified_claims(raw: str) -> tuple[Install, dict[str, Any]]:
    known = verified_tokens.get(raw)
    if known is not None:
        return known
    install, claims = _verify(raw)
    verified_tokens.put(raw, install, claims)
    return install, claims


def _verify(raw: str) -> tuple[Install, dict[str, Any]]:
    try:
        header = jwt.get_unverified_header(raw)
        unverified = jwt.decode(raw, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != "RS256":
        raise InvalidToken(f"token algorithm {header.get('alg')!r} is not accepted")
    install = active_install(unverified.get("iss") if isinstance(unverified.get("iss"), str) else None)
    if install is None:
        raise InvalidToken("token was not issued by a store that installed this app")
    key = key_for_kid(install.jwks_keys, header.get("kid"))
    if key is None and refresh_jwks(install):
        key = key_for_kid(install.jwks_keys, header.get("kid"))
    if key is None:
        raise InvalidToken("token signing key is unknown")
    try:
        claims = jwt.decode(
            raw,
            key=key,
            algorithms=["RS256"],
            issuer=install.saleor_api_url,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token has expired", code="EXPIRED_TOKEN") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken(f"token rejected: {exc}") from exc
    if claims.get("owner") != "saleor":
        raise InvalidToken("token was not issued by Saleor")
    return install, claims


def verify_shopper_token(raw: str) -> Shopper:
    install, claims = _verified_claims(raw)
    if claims.get("type") != "access":
        raise InvalidToken("not an access token")
    audience = settings.SHOPPER_TOKEN_AUDIENCE
    if audience and claims.get("aud") != f"custom:{audience}":
        raise InvalidToken("token audience is not this storefront")
    user_id = claims.get("user_id")
    if not isinstance(user_id, str) or not user_id or len(user_id) > 255 or "\x00" in user_id:
        raise InvalidToken("token has no usable user")
    email = claims.get("email")
    return Shopper(install=install, user_id=user_id, email=email if isinstance(email, str) else "", token=raw)


def verify_dashboard_token(raw: str, *, required_permission: str) -> DashboardUser:
    """A dashboard extension's token: issued for this app, carrying the permission the page needs."""
    install, claims = _verified_claims(raw)
    if claims.get("type") != "thirdparty":
        raise InvalidToken("not an app token")
    if not install.app_id or claims.get("app") != install.app_id:
        raise InvalidToken("token was issued for another app")
    permissions = frozenset(p for p in claims.get("permissions") or [] if isinstance(p, str))
    if required_permission not in permissions:
        raise InvalidToken(f"{required_permission} is required", code="PERMISSION_DENIED")
    user_id = claims.get("user_id")
    return DashboardUser(
        install=install,
        user_id=user_id if isinstance(user_id, str) else "",
        email=str(claims.get("email") or ""),
        permissions=permissions,
    )
