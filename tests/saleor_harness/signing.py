"""Saleor's keys and signatures: webhook JWS, shopper tokens and dashboard ("thirdparty") tokens.

Everything here mirrors what Saleor 3.22/3.23 emits (see FACTS.md and `saleor/core/jwt_manager.py`): an RS256 key
published as a JWKS whose `kid` is the RFC 7638 thumbprint, webhook signatures as RFC 7797 detached JWS with an
unencoded payload, and JWTs carrying Saleor's claims. The webhook signature is assembled by hand (not with PyJWT)
so that verifying it with PyJWT in the tests is an independent check of the format. The forgers build the kinds
of signatures an attacker would try, for negative tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.api_jws import PyJWS

_default_key: rsa.RSAPrivateKey | None = None
_default_key_lock = threading.Lock()


def b64url(data: bytes) -> str:
    """Base64url without padding, as JOSE uses it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _json_header(header: Mapping[str, Any]) -> str:
    # Saleor (through PyJWT) serialises the protected header compactly with sorted keys.
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of an RSA JWK (its required members, sorted, compact)."""
    canonical = json.dumps({"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def generate_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key, like the one Saleor loads from `RSA_PRIVATE_KEY`."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _shared_default_key() -> rsa.RSAPrivateKey:
    global _default_key  # noqa: PLW0603 - one key per process keeps the suite fast
    with _default_key_lock:
        if _default_key is None:
            _default_key = generate_private_key()
        return _default_key


class SaleorKeys:
    """One Saleor's signing key: its JWKS, webhook signatures and the JWTs it issues.

    `SaleorKeys()` reuses one process-wide key (generating RSA keys is slow-ish); pass `kid=...`, `fresh=True` or a
    `private_key` to get an independent store whose signatures the default key's JWKS will not verify.
    """

    def __init__(
        self, kid: str | None = None, *, fresh: bool = False, private_key: rsa.RSAPrivateKey | None = None
    ) -> None:
        if private_key is None:
            private_key = generate_private_key() if (fresh or kid is not None) else _shared_default_key()
        self.private_key = private_key
        self.public_key = private_key.public_key()
        numbers = self.public_key.public_numbers()
        self._n = _int_b64url(numbers.n)
        self._e = _int_b64url(numbers.e)
        self.kid = kid if kid is not None else self.thumbprint()

    def thumbprint(self) -> str:
        """RFC 7638 SHA-256 thumbprint of the public key: what Saleor uses as `kid`."""
        return jwk_thumbprint({"kty": "RSA", "n": self._n, "e": self._e})

    def jwk(self) -> dict[str, Any]:
        """The public key as Saleor publishes it (same members, same order)."""
        return {
            "kty": "RSA",
            "key_ops": ["verify"],
            "n": self._n,
            "e": self._e,
            "use": "sig",
            "kid": self.kid,
            "alg": "RS256",
        }

    def jwks(self) -> dict[str, Any]:
        """The body of Saleor's `/.well-known/jwks.json`."""
        return {"keys": [self.jwk()]}

    def jwks_json(self) -> bytes:
        return json.dumps(self.jwks()).encode()

    def sign_webhook(self, body: bytes) -> str:
        """`Saleor-Signature` for `body`: `<b64url header>..<b64url RS256 signature>` over `header.` + raw bytes."""
        header = _json_header({"alg": "RS256", "b64": False, "crit": ["b64"], "kid": self.kid, "typ": "JWT"})
        signature = self.private_key.sign(header.encode("ascii") + b"." + body, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}..{b64url(signature)}"

    def encode_jwt(self, claims: Mapping[str, Any]) -> str:
        """An RS256 JWT with this key's `kid` in its header, as Saleor's `jwt_encode` makes them."""
        return jwt.encode(dict(claims), self.private_key, algorithm="RS256", headers={"kid": self.kid})

    def issue_user_token(
        self,
        api_url: str,
        user_id: str,
        email: str,
        *,
        lifetime: int = 300,
        audience: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """A shopper access token (`tokenCreate`). `lifetime` < 0 gives an expired one.

        `extra` and `overrides` are merged into the claims last; an override of `None` removes that claim.
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "iat": now,
            "owner": "saleor",
            "iss": api_url,
            "exp": now + lifetime,
            "token": secrets.token_urlsafe(9),
            "email": email,
            "type": "access",
            "user_id": user_id,
            "is_staff": False,
        }
        if audience is not None:
            claims["aud"] = f"custom:{audience}"
        return self.encode_jwt(_merge(claims, extra, overrides))

    def issue_app_token(
        self,
        api_url: str,
        app_id: str,
        *,
        permissions: Iterable[str],
        user_permissions: Iterable[str] | None = None,
        user_id: str = "VXNlcjox",
        email: str = "staff@example.com",
        lifetime: int = 300,
        audience: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """A dashboard/extension token (`type: "thirdparty"`), as Saleor hands it to app iframes.

        `permissions` is the claim as Saleor computes it (the app's and the user's permissions intersected);
        `user_permissions` defaults to the same list. `audience` is the app's raw `audience`, if it declared one.
        """
        granted = list(permissions)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iat": now,
            "owner": "saleor",
            "iss": api_url,
            "exp": now + lifetime,
            "token": secrets.token_urlsafe(9),
            "email": email,
            "type": "thirdparty",
            "user_id": user_id,
            "is_staff": True,
            "app": app_id,
            "permissions": granted,
            "user_permissions": list(user_permissions) if user_permissions is not None else granted,
        }
        if audience is not None:
            claims["aud"] = audience
        return self.encode_jwt(_merge(claims, extra, overrides))


def _merge(claims: dict[str, Any], extra: Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in {**(extra or {}), **overrides}.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


def verify_webhook_signature(body: bytes, signature: str, jwks: Mapping[str, Any]) -> dict[str, Any]:
    """Verify a `Saleor-Signature` the way an app should (kid lookup, RS256 pinned); return the JWS header.

    Raises a `jwt.PyJWTError` when the signature does not verify.
    """
    header = jwt.get_unverified_header(signature)
    matching = [key for key in jwks.get("keys", []) if key.get("kid") == header.get("kid")]
    if not matching:
        raise jwt.InvalidKeyError(f"no key with kid {header.get('kid')!r} in the JWKS")
    decoded = PyJWS().decode_complete(
        signature, key=jwt.PyJWK(matching[0]), algorithms=["RS256"], detached_payload=body
    )
    result: dict[str, Any] = decoded["header"]
    return result


def forge_hs256(body: bytes, secret: bytes | str, *, kid: str | None = None) -> str:
    """A detached signature made with HS256 and `secret` (e.g. the public key PEM: the alg-confusion attack)."""
    key = secret.encode() if isinstance(secret, str) else secret
    fields: dict[str, Any] = {"alg": "HS256", "b64": False, "crit": ["b64"], "typ": "JWT"}
    if kid is not None:
        fields["kid"] = kid
    header = _json_header(fields)
    mac = hmac.new(key, header.encode("ascii") + b"." + body, hashlib.sha256).digest()
    return f"{header}..{b64url(mac)}"


def forge_alg_none(body: bytes, *, kid: str | None = None) -> str:
    """An unsigned detached "signature" (`alg: none`, empty signature part). `body` is not covered at all."""
    del body  # alg none signs nothing; kept in the signature for symmetry with forge_hs256
    fields: dict[str, Any] = {"alg": "none", "b64": False, "crit": ["b64"], "typ": "JWT"}
    if kid is not None:
        fields["kid"] = kid
    return f"{_json_header(fields)}.."
