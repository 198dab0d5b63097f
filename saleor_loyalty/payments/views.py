"""``POST /stripe/webhooks/<token>/``: Stripe's deliveries for one store's account.

2xx only once the event is durably stored; 4xx for what can never succeed (nothing stored); 503 when storing
failed. Stripe retries every non-2xx for three days, so a refusal costs nothing but noise.
"""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .events import InvalidStripeEvent, account_for_webhook, store, verify
from .tasks import enqueue

logger = logging.getLogger(__name__)


def _refuse(status: int, code: str, message: str) -> JsonResponse:
    logger.warning("stripe webhook refused", extra={"data": {"reason": code}})
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@csrf_exempt
@require_POST
def receive(request: HttpRequest, token: str) -> HttpResponse:
    try:
        return _receive(request, token)
    except DatabaseError:
        logger.exception("stripe webhook not stored: database error")
        return JsonResponse({"error": {"code": "unavailable", "message": "try again"}}, status=503)


def _receive(request: HttpRequest, token: str) -> HttpResponse:
    account = account_for_webhook(token)
    if account is None:
        return _refuse(404, "unknown_endpoint", "no such webhook endpoint")
    limit = settings.STRIPE_WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _refuse(413, "too_large", f"body over {limit} bytes")
    body = request.body
    if len(body) > limit:
        return _refuse(413, "too_large", f"body over {limit} bytes")
    try:
        event = verify(account, body, request.META.get("HTTP_STRIPE_SIGNATURE"))
    except InvalidStripeEvent as exc:
        return _refuse(400, exc.reason, exc.message)
    stored, created = store(account, body, event)
    if created:
        enqueue(stored.pk)
    return JsonResponse({"received": True, "duplicate": not created})
