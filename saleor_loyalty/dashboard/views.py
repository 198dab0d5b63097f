"""Serves the built dashboard pages: one index.html for the app page, every widget and popup path, and its assets.

Page loads must be cheap and idempotent (the dashboard often loads an iframe twice): the index is read once per
process and nothing here touches the database. Assets have content-hashed names, so they are cached for a year.
"""

import mimetypes
from functools import lru_cache
from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import get_script_prefix
from django.views.decorators.http import require_safe

DIST = Path(__file__).resolve().parent / "static" / "dashboard"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2", ".svg": "image/svg+xml"}
# The pages talk only to this app (its /dashboard/graphql/). Reading the store's own API from the page (product
# pickers) will add the store's URL to connect-src. Framing is the dashboard's job, so frame-ancestors stays open.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)


@lru_cache(maxsize=4)
def _index(script_prefix: str) -> bytes:
    html = (DIST / "index.html").read_bytes()
    # Built with base /app/; an app mounted under a prefix (SCRIPT_NAME) serves its assets under that prefix.
    return html.replace(b'"/app/', f'"{script_prefix}app/'.encode()) if script_prefix != "/" else html


@lru_cache(maxsize=1)
def _assets() -> dict[str, Path]:
    folder = DIST / "assets"
    return {path.name: path for path in folder.iterdir() if path.is_file()} if folder.is_dir() else {}


@require_safe
def page(request: HttpRequest, *args: str) -> HttpResponse:
    """The app page (`/app`, `/app/`), the widgets (`/app/widget/customer`, `/app/widget/order`) and the customer
    popup (`/app/popup/customer`)."""
    try:
        html = _index(get_script_prefix())
    except FileNotFoundError as missing:  # a source checkout that never ran `make dashboard` and lost the build
        raise Http404("the dashboard pages are not built: run `make dashboard`") from missing
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@require_safe
def asset(request: HttpRequest, name: str) -> FileResponse:
    path = _assets().get(name)
    if path is None:
        raise Http404("no such asset")
    content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
