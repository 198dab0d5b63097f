"""Serves the built dashboard pages: one index.html for the app page, every widget and popup path, and its assets.

Page loads must be cheap and idempotent (the dashboard often loads an iframe twice): the index is read once per
build and nothing here touches the database. Assets have content-hashed names, so they are cached for a year.

A rebuild (`make dashboard`) under a running process replaces the bundle: the index is read again when its file
changes, and the list of assets when a request names one it does not have (or one deleted since), so the process
serves the new build without a restart and answers 404, never 500, for a bundle that is gone.
"""

import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import get_script_prefix
from django.views.decorators.http import require_safe

DIST = Path(__file__).resolve().parent / "static" / "dashboard"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2", ".svg": "image/svg+xml"}
# The pages talk only to this app (its /dashboard/graphql/); even the product pickers search the store through it.
# Framing is the dashboard's job, so frame-ancestors stays open.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)


def _index(script_prefix: str) -> bytes:
    """The built index.html, for this script prefix: read again when the file changed (a rebuild)."""
    index = DIST / "index.html"
    version = index.stat()  # FileNotFoundError: not built
    return _read_index(index, version.st_mtime_ns, version.st_size, script_prefix)


@lru_cache(maxsize=4)
def _read_index(index: Path, mtime_ns: int, size: int, script_prefix: str) -> bytes:
    html = index.read_bytes()
    # Built with base /app/; an app mounted under a prefix (SCRIPT_NAME) serves its assets under that prefix.
    return html.replace(b'"/app/', f'"{script_prefix}app/'.encode()) if script_prefix != "/" else html


@lru_cache(maxsize=1)
def _assets(folder: Path) -> dict[str, Path]:
    return {path.name: path for path in folder.iterdir() if path.is_file()} if folder.is_dir() else {}


def _asset_file(name: str) -> BinaryIO | None:
    """The built asset ``name``, open; None when the build has no such file. The list of assets is read once, and
    again when a request misses it: a name it lacks (a newer build's) or a file gone from disk (an older one's)."""
    folder = DIST / "assets"
    for attempt in range(2):
        if attempt:
            _assets.cache_clear()  # a rebuild since the list was read: read it again, once
        path = _assets(folder).get(name)
        if path is not None:
            try:
                return path.open("rb")
            except FileNotFoundError:
                continue
    return None


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
    opened = _asset_file(name)
    if opened is None:
        raise Http404("no such asset")
    path = Path(name)
    content_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(opened, content_type=content_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
