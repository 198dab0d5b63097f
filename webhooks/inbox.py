"""Accepting a delivery into the inbox: the checks, in order, and the durable INSERT.

Kept apart from the view so that the HTTP layer only reads headers and maps errors to status codes.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from saleor_loyalty.core import db
from saleor_loyalty.installs.lookup import active_install
from saleor_loyalty.installs.models import Install
from saleor_loyalty.saleor.signatures import InvalidSignature, SigningKeyUnavailable, verify_webhook
from saleor_loyalty.saleor.subscriptions import EVENT_TYPENAMES, Subscription

from .models import InboxEvent

logger = logging.getLogger(__name__)


@dataclass
class Rejected(Exception):
    """The delivery is not stored: 4xx when it can never succeed (Saleor does not retry those), 503 when it may
    succeed later (Saleor retries)."""

    status: int
    reason: str
    message: str


@dataclass(frozen=True)
class Accepted:
    event_id: int
    created: bool  # False: the same body was stored before (a retry)
    install: Install


_INSERT = """
INSERT INTO webhooks_inbox_event (install_id, event, body, body_sha256, issued_at, received_at, status, attempts,
                                  last_error)
VALUES (%s, %s, %s, %s, %s, %s, 'pending', 0, '')
ON CONFLICT (install_id, body_sha256) DO NOTHING
RETURNING id
"""


def _parse(event: str, body: bytes) -> tuple[dict[str, Any], datetime | None]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Rejected(400, "malformed", "body is not JSON") from exc
    if not isinstance(data, dict):
        raise Rejected(400, "malformed", "body is not a JSON object")
    expected = EVENT_TYPENAMES[event]
    if data.get("__typename") != expected:
        raise Rejected(400, "wrong_event", f"body is a {data.get('__typename')!r}, header says {expected}")
    issued_at = None
    if isinstance(data.get("issuedAt"), str):
        try:
            issued_at = datetime.fromisoformat(data["issuedAt"])
        except ValueError:
            issued_at = None
    return data, issued_at


def accept(subscription: Subscription, event: str, api_url: str | None, signature: str | None, body: bytes) -> Accepted:
    if event.upper() not in subscription.events:
        raise Rejected(400, "wrong_event", f"event {event!r} is not delivered to this endpoint")
    install = active_install(api_url)
    if install is None:
        raise Rejected(401, "unknown_install", "unknown or uninstalled Saleor-Api-Url")
    try:
        verify_webhook(install, body, signature)
    except SigningKeyUnavailable as exc:
        # Possibly a key rotation we cannot confirm yet: Saleor's retry will find the keys re-fetchable.
        raise Rejected(503, "signing_key_unavailable", str(exc)) from exc
    except InvalidSignature as exc:
        raise Rejected(401, "bad_signature", str(exc)) from exc
    _, issued_at = _parse(event, body)
    digest = hashlib.sha256(body).hexdigest()
    event_id = _insert([install.pk, event, body.decode(), digest, issued_at, timezone.now()])
    if event_id is None:
        event_id = InboxEvent.objects.values_list("pk", flat=True).get(install=install, body_sha256=digest)
        return Accepted(event_id=event_id, created=False, install=install)
    return Accepted(event_id=event_id, created=True, install=install)


def _insert(params: list[Any]) -> int | None:
    """Store the delivery (a prepared statement on PostgreSQL: ``core.db``); None when the body is already stored."""
    row = db.fetchone(_INSERT, params)
    return None if row is None else int(row[0])
