"""A small GraphQL client for a Saleor store's API, using the documents under ``graphql/operations/``.

Errors are raised as ``SaleorError`` with Saleor's message, so callers can show the shopper or installer
something useful and roll back what they started.
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from saleor_loyalty.installs.allowlist import is_allowed

from . import documents
from .budget import charge_saleor_call
from .errors import SaleorError
from .network import ForbiddenDestination, ResponseTooLarge, read_capped, session

__all__ = [
    "MAX_JWKS_BYTES",
    "MAX_RESPONSE_BYTES",
    "SaleorClient",
    "SaleorError",
    "api_origin",
    "fetch_jwks",
    "jwks_url",
]

# Far more than any answer the app asks for; a store that sends more is refused rather than read into memory.
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
MAX_JWKS_BYTES = 64 * 1024


def _guard(api_url: str) -> None:
    if not is_allowed(api_url):
        raise SaleorError("this store is not in ALLOWED_SALEOR_URLS", forbidden=True)


def api_origin(saleor_api_url: str) -> str:
    parts = urlsplit(saleor_api_url)
    return f"{parts.scheme}://{parts.netloc}"


def jwks_url(saleor_api_url: str) -> str:
    return f"{api_origin(saleor_api_url)}/.well-known/jwks.json"


def _is_rsa_public_key(jwk: Any) -> bool:
    return (
        isinstance(jwk, dict)
        and jwk.get("kty") == "RSA"
        and all(isinstance(jwk.get(name), str) and jwk.get(name) for name in ("kid", "n", "e"))
        and "d" not in jwk  # a private key in a public key set is not Saleor's
    )


def fetch_jwks(saleor_api_url: str) -> dict[str, Any]:
    """The store's public signing keys: a small JSON key set of RSA public keys, or ``SaleorError``."""
    _guard(saleor_api_url)
    try:
        response = session().get(
            jwks_url(saleor_api_url), timeout=settings.SALEOR_REQUEST_TIMEOUT, allow_redirects=False, stream=True
        )
        if response.status_code != 200:
            raise SaleorError(f"Saleor's JWKS answered HTTP {response.status_code}", status=response.status_code)
        data = json.loads(read_capped(response, MAX_JWKS_BYTES))
    except ForbiddenDestination as exc:
        raise SaleorError(str(exc), forbidden=True) from exc
    except (requests.RequestException, ResponseTooLarge, ValueError) as exc:
        raise SaleorError(f"could not fetch Saleor's JWKS: {exc}") from exc
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list) or not keys or not all(_is_rsa_public_key(jwk) for jwk in keys):
        raise SaleorError("Saleor's JWKS is not a set of RSA public keys")
    return {"keys": keys}


@dataclass(frozen=True)
class SaleorClient:
    api_url: str
    token: str

    def execute(self, operation_name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send ``graphql/operations/<operation_name>.graphql`` and return its ``data``."""
        return self.execute_document(documents.operation(operation_name), variables)

    def execute_document(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        charge_saleor_call()  # a storefront request's cap on calls to Saleor (budget.py); refused before sending
        _guard(self.api_url)
        try:
            response = session().post(
                self.api_url,
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=settings.SALEOR_REQUEST_TIMEOUT,
                allow_redirects=False,
                stream=True,
            )
            raw = read_capped(response, MAX_RESPONSE_BYTES)
        except ForbiddenDestination as exc:
            raise SaleorError(str(exc), forbidden=True) from exc
        except (requests.RequestException, ResponseTooLarge) as exc:
            raise SaleorError(f"Saleor is unreachable: {exc}") from exc
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            message = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
            raise SaleorError(f"Saleor answered with errors: {message}", status=response.status_code, errors=errors)
        if response.status_code >= 400 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise SaleorError(f"Saleor answered HTTP {response.status_code}", status=response.status_code)
        data: dict[str, Any] = body["data"]
        return data
