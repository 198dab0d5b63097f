"""The webhook endpoints: read headers, hand the body to the inbox, map the outcome to a status code.

2xx only once the delivery is durably stored; 4xx for what can never succeed (Saleor does not retry those);
5xx when storing failed, so Saleor retries.
"""

import logging
import time

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from saleor_loyalty.core.metrics import (
    WEBHOOK_INGEST_SECONDS,
    WEBHOOKS_RECEIVED,
    WEBHOOKS_REJECTED,
    WEBHOOKS_STORED,
)
from saleor_loyalty.saleor.subscriptions import EVENT_TYPENAMES, subscription_for_path

from .inbox import Rejected, accept
from .tasks import enqueue

logger = logging.getLogger(__name__)
# The two success answers, encoded once: ingest is the hottest path in the app.
_STORED = b'{"accepted": true, "duplicate": false}'
_DUPLICATE = b'{"accepted": true, "duplicate": true}'


@csrf_exempt
@require_POST
def receive(request: HttpRequest, path: str) -> HttpResponse:
    started = time.perf_counter()
    meta = request.META  # not request.headers: building that mapping costs more than the rest of the view
    event = meta.get("HTTP_SALEOR_EVENT", "").lower()
    # Metric labels come from the closed set of events we subscribe to: a label per raw header value would let
    # anyone grow /metrics and this process's memory without bound.
    label = event if event in EVENT_TYPENAMES else ("none" if not event else "unknown")
    WEBHOOKS_RECEIVED.labels(event=label).inc()
    subscription = subscription_for_path(path)
    try:
        if subscription is None:
            raise Rejected(404, "unknown_endpoint", "no such webhook endpoint")
        accepted = accept(
            subscription,
            event,
            meta.get("HTTP_SALEOR_API_URL"),
            meta.get("HTTP_SALEOR_SIGNATURE"),
            request.body,
        )
    except Rejected as exc:
        WEBHOOKS_REJECTED.labels(event=label, reason=exc.reason).inc()
        logger.warning("webhook rejected", extra={"data": {"event": event[:64], "reason": exc.reason}})
        return JsonResponse({"error": {"code": exc.reason, "message": exc.message}}, status=exc.status)
    except DatabaseError:
        WEBHOOKS_REJECTED.labels(event=label, reason="database").inc()
        logger.exception("webhook not stored: database error", extra={"data": {"event": event}})
        return JsonResponse({"error": {"code": "unavailable", "message": "try again"}}, status=503)
    WEBHOOKS_STORED.labels(event=event, duplicate=str(not accepted.created).lower()).inc()
    WEBHOOK_INGEST_SECONDS.observe(time.perf_counter() - started)
    if accepted.created:
        enqueue(accepted.event_id)  # processing sets its own log context (install, inbox event, order)
    return HttpResponse(_STORED if accepted.created else _DUPLICATE, content_type="application/json")
