"""The floor view: verify Saleor's RS256 detached JWS with PyJWT, INSERT the body, answer 200."""

import json
import os
from pathlib import Path
from typing import Any

import jwt
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

_JWS = jwt.api_jws.PyJWS(algorithms=["RS256"])
_KEY: Any = jwt.PyJWK(json.loads(Path(os.environ["BENCH_FLOOR_JWKS"]).read_text())["keys"][0], algorithm="RS256").key
_INSERT = "INSERT INTO bench_floor_event (body, received_at) VALUES (%s, now())"


@csrf_exempt
def receive(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse("floor")
    try:
        _JWS.decode_complete(
            request.headers.get("Saleor-Signature", ""), key=_KEY, algorithms=["RS256"], detached_payload=request.body
        )
    except jwt.InvalidTokenError:
        return JsonResponse({"error": "bad_signature"}, status=401)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [request.body.decode()])
    return JsonResponse({"accepted": True})


urlpatterns = [path("api/webhooks/orders", receive)]
