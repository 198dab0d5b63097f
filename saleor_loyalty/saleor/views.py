"""HTTP endpoints Saleor calls at install time: the manifest and the token registration."""

import json
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from saleor_loyalty.core import ratelimit

from .manifest import build_manifest
from .registration import RegistrationError, register_install


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    # Saleor names its schema version when it reads the manifest: a newer line gets the documents made for it.
    return JsonResponse(build_manifest(saleor_version=request.headers.get("Saleor-Schema-Version")))


def _error(code: str, message: str, status: int) -> JsonResponse:
    # Saleor shows ``error.message`` to the person installing the app.
    return JsonResponse({"success": False, "error": {"code": code, "message": message}}, status=status)


# Saleor's app tokens are 30 characters; anything near this is not one.
MAX_TOKEN_LENGTH = 1024
# Installs are rare; a caller trying many store URLs from one address is probing, not installing.
REGISTER_ATTEMPTS_PER_MINUTE = 20


@csrf_exempt
@require_POST
def register(request: HttpRequest) -> JsonResponse:
    try:
        ratelimit.hit(f"register:{request.META.get('REMOTE_ADDR', '')}", REGISTER_ATTEMPTS_PER_MINUTE, 60)
    except ratelimit.RateLimited:
        return _error("RATE_LIMITED", "Too many install attempts; try again in a minute.", 429)
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error("INVALID_BODY", "Request body must be JSON with auth_token", 400)
    token = body.get("auth_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return _error("MISSING_TOKEN", "auth_token is required", 400)
    try:
        register_install(request.headers.get("Saleor-Api-Url", ""), request.headers.get("Saleor-Domain", ""), token)
    except RegistrationError as exc:
        status = 403 if exc.code == "FORBIDDEN_URL" else 400
        return _error(exc.code, exc.message, status)
    return JsonResponse({"success": True})


_LOGO = Path(__file__).resolve().parent / "static" / "logo.png"


@require_GET
def logo(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_LOGO.read_bytes(), content_type="image/png")


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        "The loyalty app stores, per store, Saleor customer ids, emails and order ids with their points "
        "history, to run the store's loyalty program. It shares nothing with third parties.",
        content_type="text/plain",
    )
