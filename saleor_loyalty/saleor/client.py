"""A small GraphQL client for a Saleor store's API, using the documents under ``graphql/operations/``.

Errors are raised as ``SaleorError`` with Saleor's message, so callers can show the shopper or installer
something useful and roll back what they started.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from . import documents


class SaleorError(Exception):
    """Saleor could not be reached, or answered with errors."""

    def __init__(self, message: str, *, status: int | None = None, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []


def api_origin(saleor_api_url: str) -> str:
    parts = urlsplit(saleor_api_url)
    return f"{parts.scheme}://{parts.netloc}"


def jwks_url(saleor_api_url: str) -> str:
    return f"{api_origin(saleor_api_url)}/.well-known/jwks.json"


def fetch_jwks(saleor_api_url: str) -> dict[str, Any]:
    try:
        response = requests.get(jwks_url(saleor_api_url), timeout=settings.SALEOR_REQUEST_TIMEOUT)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SaleorError(f"could not fetch Saleor's JWKS: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise SaleorError("Saleor's JWKS is not a key set")
    return data


@dataclass(frozen=True)
class SaleorClient:
    api_url: str
    token: str

    def execute(self, operation_name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send ``graphql/operations/<operation_name>.graphql`` and return its ``data``."""
        return self.execute_document(documents.operation(operation_name), variables)

    def execute_document(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = requests.post(
                self.api_url,
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=settings.SALEOR_REQUEST_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise SaleorError(f"Saleor is unreachable: {exc}") from exc
        try:
            body = response.json()
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
