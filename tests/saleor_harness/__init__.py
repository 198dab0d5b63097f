"""A stand-in for Saleor that the test suite talks to instead of a real store.

It checks every GraphQL document against Saleor's real schemas (3.22 and 3.23), signs webhooks and tokens the way
Saleor does, builds webhook bodies by executing the app's own subscription documents, and serves a small HTTP API
(`FakeSaleor`). The point is that a test passing here means the app speaks Saleor's actual contract, not a guess.
"""

from . import fixtures
from .fixtures import checkout, customer, event, global_id, line, order
from .manifest import InvalidManifest, validate_manifest
from .payloads import build_webhook_body, build_webhook_payload, subscribed_event_types
from .schemas import (
    SALEOR_VERSIONS,
    InvalidDocument,
    load_schema,
    minimum_version,
    shared_saleor_dir,
    validate_document,
    versions_for,
)
from .server import FakeSaleor, GraphQLCall, PermissionDenied
from .signing import SaleorKeys, forge_alg_none, forge_hs256, verify_webhook_signature

__all__ = [
    "SALEOR_VERSIONS",
    "FakeSaleor",
    "GraphQLCall",
    "InvalidDocument",
    "InvalidManifest",
    "PermissionDenied",
    "SaleorKeys",
    "build_webhook_body",
    "build_webhook_payload",
    "checkout",
    "customer",
    "event",
    "fixtures",
    "forge_alg_none",
    "forge_hs256",
    "global_id",
    "line",
    "load_schema",
    "minimum_version",
    "order",
    "shared_saleor_dir",
    "subscribed_event_types",
    "validate_document",
    "validate_manifest",
    "verify_webhook_signature",
    "versions_for",
]
