"""Webhook bodies built the way Saleor builds them: by executing the app's own subscription document.

Saleor resolves the webhook's subscription against the event and sends `json.dumps(data["event"])`. Doing the same
here (with graphql-core over Saleor's real schema and a plain-dict fixture as the data) means a test body holds
exactly the fields the app asked for, in Saleor's shape, and a document or fixture that does not fit fails loudly.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Mapping
from typing import Any

from graphql import ExecutionResult, execute_sync, parse

from .events import covered_event_types, root_fields, subscription_operation
from .schemas import load_schema, validate_document, versions_for


def subscribed_event_types(subscription_document: str, version: str = "3.23") -> set[str]:
    """Event type names (`OrderCreated`, ...) that a webhook with this subscription receives."""
    return covered_event_types(load_schema(version), parse(subscription_document))


def build_webhook_payload(
    subscription_document: str, event: Mapping[str, Any], *, version: str = "3.23"
) -> dict[str, Any]:
    """The webhook body for `event` as a dict; see `build_webhook_body`."""
    validate_document(subscription_document, versions=versions_for(subscription_document))  # the lines it is for
    schema = load_schema(version)
    document = parse(subscription_document)
    operation = subscription_operation(document)
    typename = event.get("__typename")
    covered = covered_event_types(schema, document)
    if typename not in covered:
        raise AssertionError(
            f"the subscription does not cover {typename!r} (it covers {sorted(covered)}): Saleor would not send it"
        )
    fields = root_fields(operation)
    if len(fields) != 1:
        raise AssertionError("a webhook subscription must select exactly one root field")
    root = fields[0]
    result = execute_sync(
        schema,
        document,
        root_value={root.name.value: event},
        operation_name=operation.name.value if operation.name else None,
    )
    _raise_for_errors(result)
    data = (result.data or {}).get(root.alias.value if root.alias else root.name.value)
    if not isinstance(data, dict):
        raise AssertionError(f"the subscription resolved the event to {data!r}")
    return data


def build_webhook_body(subscription_document: str, event: Mapping[str, Any], *, version: str = "3.23") -> bytes:
    """Execute `subscription_document` against Saleor's schema for `event` and serialise it like Saleor.

    `event` is a plain nested dict carrying `"__typename"` on every abstract-typed object (the event itself,
    `issuingPrincipal`, ...). Fields missing from it resolve to null, so a missing non-null field fails. Saleor
    serialises with `json.dumps(...)` defaults (`", "` and `": "` separators, ASCII escapes); so does this.
    """
    payload = build_webhook_payload(subscription_document, event, version=version)
    return json.dumps(payload, default=json_default).encode()


def _raise_for_errors(result: ExecutionResult) -> None:
    if not result.errors:
        return
    lines = ["executing the subscription over the fixture failed:"]
    for error in result.errors:
        path = ".".join(str(part) for part in error.path or ())
        lines.append(f"  - at {path or '<root>'}: {error.message}")
    raise AssertionError("\n".join(lines))


def json_default(value: object) -> Any:
    """Let fixtures use Python values; they go out the way Saleor's scalars send them."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in a webhook body")
