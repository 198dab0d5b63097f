"""FakeSaleor: one Saleor store on a real local HTTP port, for tests that must cross the wire.

It serves the JWKS and a GraphQL endpoint that validates every document against Saleor's schemas (an invalid one
is answered with HTTP 400, as Saleor does, and recorded so teardown can fail the test), executes valid ones with
resolvers the test provides, and plays Saleor's side of installs and webhook deliveries (signed with its key).
"""

from __future__ import annotations

import json
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlparse

import jwt
import requests
from graphql import GraphQLError, parse

from .fixtures import global_id
from .graphql_api import (
    GraphQLCall,
    PermissionDenied,
    Resolver,
    bad_request,
    check_document,
    error_json,
    execute_call,
    selected_root_fields,
)
from .manifest import validate_manifest
from .payloads import build_webhook_body
from .permissions import Caller, Denial, denials
from .schemas import SALEOR_VERSIONS, InvalidDocument, load_schema, minimum_version, versions_for
from .signing import SaleorKeys

__all__ = ["FakeSaleor", "GraphQLCall", "PermissionDenied"]


@dataclass
class _Failure:
    status: int | None
    errors: list[dict[str, Any]] | None
    delay: float
    executed: bool = False


class FakeSaleor:
    """A Saleor store for one test. Use as a context manager, or `start()` / `stop()`.

    `resolvers` maps root field names (`"me"`, `"voucherCreate"`, ...) to `fn(call: GraphQLCall, **field_args)`
    returning plain dicts (abstract types via `"__typename"`). `app` is built in: it answers `{"id": app_id}` for
    `Authorization: Bearer <app_token>` and Saleor's PermissionDenied error otherwise.

    Documents must be valid on every line in `check_versions` (default: all supported, as the app promises);
    narrow it only to test a code path the app gates on a newer Saleor. `schema_version` is the line this store
    runs: documents execute against its schema and it is sent as `Saleor-Schema-Version`.
    """

    def __init__(
        self,
        *,
        keys: SaleorKeys | None = None,
        app_pk: int = 1,
        schema_version: str = "3.23",
        check_versions: tuple[str, ...] = SALEOR_VERSIONS,
        app_permissions: tuple[str, ...] = (),
        app_identifier: str = "saleor.app.loyalty",
    ) -> None:
        self.keys = keys or SaleorKeys(fresh=True)
        self.app_token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(30))
        self.app_id = global_id("App", app_pk)
        self.app_identifier = app_identifier  # the manifest id the app token's app was installed from
        self.schema_version = schema_version
        self.check_versions = check_versions
        self.resolvers: dict[str, Resolver] = {
            "app": self._resolve_app,
            "shop": lambda call: {"schemaVersion": self.schema_version},
            "webhookUpdate": self._resolve_webhook_update,
        }
        self.calls: list[GraphQLCall] = []
        self.invalid_documents: list[InvalidDocument] = []
        # What the merchant granted the app; `install()` sets it from the manifest, as Saleor's installer does.
        self.app_permissions = app_permissions
        self.permission_denials: list[tuple[GraphQLCall, Denial]] = []
        self.jwks_requests = 0
        self.manifest: dict[str, Any] | None = None
        self.webhook_updates: list[dict[str, Any]] = []  # the webhookUpdate inputs the app sent, in order
        self._failures: dict[str, deque[_Failure]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> FakeSaleor:
        if self._server is None:
            # Build the schemas now: built lazily inside the first request, they can take longer than the app's
            # HTTP timeout to Saleor, and the app would see an unreachable store.
            for version in {*self.check_versions, self.schema_version}:
                load_schema(version)
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSaleor", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSaleor:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        """`Saleor-Domain`: host and port, like `localhost:8000`."""
        if self._server is None:
            raise RuntimeError("FakeSaleor is not started")
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"http://{self.domain}/graphql/"

    @property
    def jwks_url(self) -> str:
        return f"http://{self.domain}/.well-known/jwks.json"

    # -- keys and tokens -------------------------------------------------------------------------------------

    def rotate_keys(self) -> SaleorKeys:
        """Switch to a new signing key (new kid); what was signed before no longer verifies against the JWKS."""
        self.keys = SaleorKeys(fresh=True)
        return self.keys

    def user_token(self, user_id: str, email: str, **kwargs: Any) -> str:
        """A shopper access token from this store (see `SaleorKeys.issue_user_token`)."""
        return self.keys.issue_user_token(self.api_url, user_id, email, **kwargs)

    def app_token_for_dashboard(self, permissions: list[str], **kwargs: Any) -> str:
        """A dashboard ("thirdparty") token for this store's app (see `SaleorKeys.issue_app_token`)."""
        return self.keys.issue_app_token(self.api_url, self.app_id, permissions=permissions, **kwargs)

    # -- failures and checks ---------------------------------------------------------------------------------

    def fail_next(
        self,
        field_name: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        delay: float = 0.0,
        times: int = 1,
        executed: bool = False,
    ) -> None:
        """Make the next `times` requests selecting `field_name` fail: with HTTP `status` (default 500), or with
        HTTP 200, the field null and `errors` as given. `delay` (seconds) is waited first (for timeouts).
        `executed`: the request does run (a mutation changes the store) and only its answer is lost — Saleor
        finishing a request whose client timed out, or failing after its work was committed."""
        failure = _Failure(status if status is not None or errors is not None else 500, errors, delay, executed)
        with self._lock:
            self._failures.setdefault(field_name, deque()).extend([failure] * times)

    def assert_all_documents_valid(self) -> None:
        """Fail when the app sent any document Saleor would reject, or select a field its token may not read
        (call it at teardown; a test that provokes a denial on purpose clears `permission_denials`)."""
        if self.invalid_documents:
            raise AssertionError(
                f"the app sent {len(self.invalid_documents)} invalid GraphQL document(s):\n\n"
                + "\n\n".join(str(error) for error in self.invalid_documents)
            )
        if self.permission_denials:
            raise AssertionError(
                f"Saleor would deny {len(self.permission_denials)} field(s) the app asked for:\n"
                + "\n".join(
                    f"  - {'.'.join(denial.path)} ({denial.message}) in {call.operation_name or call.root_fields}"
                    for call, denial in self.permission_denials
                )
            )

    def calls_to(self, field_name: str) -> list[GraphQLCall]:
        """The recorded calls that selected root field `field_name`."""
        return [call for call in self.calls if field_name in call.root_fields]

    # -- Saleor -> app ---------------------------------------------------------------------------------------

    def signed_headers(self, event_name: str, body: bytes) -> dict[str, str]:
        """The headers Saleor sends with a webhook (including the deprecated `X-Saleor-*` copies)."""
        event_type = event_name.lower()
        signature = self.keys.sign_webhook(body)
        return {
            "Content-Type": "application/json",
            "X-Saleor-Event": event_type,
            "X-Saleor-Domain": self.domain,
            "X-Saleor-Signature": signature,
            "Saleor-Event": event_type,
            "Saleor-Domain": self.domain,
            "Saleor-Signature": signature,
            "Saleor-Api-Url": self.api_url,
        }

    def deliver(
        self,
        target_url: str,
        event_name: str,
        body: bytes,
        *,
        headers_override: Mapping[str, str | None] | None = None,
        timeout: float = 20.0,
    ) -> requests.Response:
        """POST a webhook like Saleor (no redirects followed). An override of `None` drops that header."""
        headers: dict[str, str] = self.signed_headers(event_name, body)
        for key, value in (headers_override or {}).items():
            headers.pop(key, None)
            if value is not None:
                headers[key] = value
        return requests.post(target_url, data=body, headers=headers, timeout=timeout, allow_redirects=False)

    def install_headers(self) -> dict[str, str]:
        """The headers of Saleor's token POST to `tokenTargetUrl`."""
        return {
            "Content-Type": "application/json",
            "X-Saleor-Domain": self.domain,
            "Saleor-Domain": self.domain,
            "Saleor-Api-Url": self.api_url,
            "Saleor-Schema-Version": self.schema_version,
        }

    def install(
        self, app_url: str, manifest: Mapping[str, Any] | None = None, *, validate: bool = True, timeout: float = 10.0
    ) -> requests.Response:
        """Install the app: fetch the manifest from `app_url` when not given (as Saleor does, naming its schema
        version: the app may answer each line with documents made for it) and check it for this Saleor's line, or
        check a given manifest for every supported line (raising `InvalidManifest`); then POST `{"auth_token":
        app_token}` to `tokenTargetUrl` (resolved against `app_url` if relative) and return the app's response.
        Non-2xx means Saleor would drop the app."""
        versions: tuple[str, ...] = SALEOR_VERSIONS
        if manifest is None:
            fetched = requests.get(app_url, headers={"Saleor-Schema-Version": self.schema_version}, timeout=timeout)
            fetched.raise_for_status()
            manifest = fetched.json()
            versions = tuple(v for v in SALEOR_VERSIONS if self.schema_version.startswith(v)) or SALEOR_VERSIONS
        data = dict(manifest)
        if validate:
            for version in versions:
                validate_manifest(data, version)
        target = data.get("tokenTargetUrl")
        if not target:
            raise AssertionError("the manifest has no tokenTargetUrl: Saleor 3.22 cannot install it")
        self.manifest = data
        self.app_permissions = tuple(data.get("permissions") or ())
        return requests.post(
            urljoin(app_url, str(target)),
            json={"auth_token": self.app_token},
            headers=self.install_headers(),
            timeout=timeout,
            allow_redirects=False,
        )

    def emit(self, event: Mapping[str, Any], *, timeout: float = 20.0) -> list[requests.Response]:
        """Send `event` (a fixture) to every webhook of the installed manifest subscribed to it, as Saleor would:
        the body is built from that webhook's own query. Returns the app's responses, one per webhook."""
        if self.manifest is None:
            raise AssertionError("install the app (FakeSaleor.install) before emitting events")
        typename = str(event.get("__typename"))
        responses = []
        for webhook in self.manifest.get("webhooks") or []:
            events = [*(webhook.get("asyncEvents") or []), *(webhook.get("syncEvents") or [])]
            names = [name for name in events if name.replace("_", "").lower() == typename.lower()]
            if names and webhook.get("isActive", True):
                body = build_webhook_body(webhook["query"], event, version=self.schema_version)
                target = urljoin(str(self.manifest.get("tokenTargetUrl") or ""), webhook["targetUrl"])
                responses.append(self.deliver(target, names[0], body, timeout=timeout))
        return responses

    # -- GraphQL ---------------------------------------------------------------------------------------------

    def _resolve_app(self, call: GraphQLCall, id: str | None = None) -> dict[str, Any] | None:
        if not call.app_authenticated:
            raise PermissionDenied(("AUTHENTICATED_STAFF_USER", "AUTHENTICATED_APP"))
        if id not in (None, self.app_id):
            raise PermissionDenied(("MANAGE_APPS",))
        return {
            "id": self.app_id,
            "identifier": self.app_identifier,
            "name": "Loyalty",
            "isActive": True,
            "webhooks": self._app_webhooks(),
        }

    def _resolve_webhook_update(
        self, call: GraphQLCall, input: dict[str, Any], id: str | None = None, identifier: str | None = None
    ) -> dict[str, Any]:
        """An app updating one of its own webhooks (Saleor: MANAGE_APPS or AUTHENTICATED_APP, and an app only finds
        its own). Recorded in ``webhook_updates``."""
        if not call.app_authenticated:
            raise PermissionDenied(("MANAGE_APPS", "AUTHENTICATED_APP"))
        webhooks = (self.manifest or {}).get("webhooks") or []
        found = next((w for i, w in enumerate(webhooks) if global_id("Webhook", i + 1) == id), None)
        if found is None:
            error = {"field": "id", "code": "NOT_FOUND", "message": f"Couldn't resolve to a node: {id}"}
            return {"webhook": None, "errors": [error]}
        self.webhook_updates.append({"id": id, **input})
        if input.get("query") is not None:
            found["query"] = input["query"]
        if input.get("asyncEvents") is not None:
            found["asyncEvents"] = list(input["asyncEvents"])
        return {"webhook": {"id": id, "subscriptionQuery": found.get("query")}, "errors": []}

    def _app_webhooks(self) -> list[dict[str, Any]]:
        """The installed manifest's webhooks as Saleor keeps them (a test may edit `manifest` as staff would)."""
        base = str((self.manifest or {}).get("tokenTargetUrl") or "")
        return [
            {
                "id": global_id("Webhook", i + 1),
                "name": webhook.get("name"),
                "isActive": webhook.get("isActive", True),
                "targetUrl": urljoin(base, str(webhook.get("targetUrl") or "")),
                "subscriptionQuery": webhook.get("query"),
                "asyncEvents": [{"eventType": name} for name in webhook.get("asyncEvents") or []],
            }
            for i, webhook in enumerate((self.manifest or {}).get("webhooks") or [])
        ]

    def _authenticate(self, call: GraphQLCall) -> None:
        token = call.bearer
        if not token:
            return
        call.app_authenticated = secrets.compare_digest(token, self.app_token)
        if token.count(".") != 2:
            return
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return
        if unverified.get("owner") != "saleor":
            return  # Saleor hands tokens it did not issue to auth plugins; none here
        try:
            call.token_claims = jwt.decode(
                token, self.keys.public_key, algorithms=["RS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError as error:
            call.token_error = error

    def handle_graphql(self, raw: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one POST to `/graphql/` (also usable without HTTP)."""
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            return bad_request("Unable to parse query.")
        if not isinstance(payload, dict):
            return bad_request("Unable to parse query.")
        query = payload.get("query")
        if not isinstance(query, str) or not query:
            return bad_request("Must provide a query string.")
        variables = payload.get("variables") if isinstance(payload.get("variables"), dict) else {}
        operation_name = payload.get("operationName") if isinstance(payload.get("operationName"), str) else None
        call = GraphQLCall(query=query, variables=variables or {}, operation_name=operation_name, headers=dict(headers))
        with self._lock:
            self.calls.append(call)
        # A document meant only for newer lines (`# Saleor 3.23+ only`) is checked on those, and always on the line
        # this store runs: sent to an older store, it is refused as that store would refuse it.
        invalid = check_document(query, (*versions_for(query, self.check_versions), self.schema_version))
        if invalid is None and versions_for(query, (self.schema_version,)) == ():
            invalid = InvalidDocument(
                self.schema_version,
                [GraphQLError(f"the app sent a Saleor {minimum_version(query)}+ document to a {self.schema_version}")],
                query,
            )
        if invalid is not None:
            with self._lock:
                self.invalid_documents.append(invalid)
            call.status, call.response = 400, {"errors": [error_json(e) for e in invalid.errors]}
            return call.status, call.response
        call.root_fields = selected_root_fields(parse(query), operation_name)
        self._authenticate(call)
        denied = denials(query, self._caller(call), version=self.schema_version, operation_name=operation_name)
        if denied:
            return self._deny(call, denied)
        failure = self._take_failure(call.root_fields)
        if failure is not None and failure.executed:
            execute_call(call, self.resolvers, self.schema_version)
        if failure is not None:
            time.sleep(failure.delay)
            if failure.errors is None:
                call.status = failure.status or 500
                call.response = {"errors": [{"message": "Internal Server Error"}]}
                return call.status, call.response
        if failure is None or not failure.executed:
            call.status, call.response = execute_call(call, self.resolvers, self.schema_version)
        else:
            call.status, call.response = 200, {"data": dict.fromkeys(call.root_fields)}
        if failure is not None and failure.errors is not None:
            call.response = {"data": dict.fromkeys(call.root_fields), "errors": failure.errors}
        return call.status, call.response

    def _caller(self, call: GraphQLCall) -> Caller:
        if call.app_authenticated:
            return Caller.app(self.app_permissions)
        if call.token_claims is not None:
            return Caller.from_claims(call.token_claims)
        return Caller.anonymous()

    def _deny(self, call: GraphQLCall, denied: list[Denial]) -> tuple[int, dict[str, Any]]:
        """Saleor's answer when the caller may not read a selected field: the root field holding it is null with a
        PermissionDenied error naming the permissions, the other root fields resolve as usual, and no resolver of
        a denied root runs (a denied mutation changes nothing). Recorded, so teardown fails the test unless the
        test expected it."""
        with self._lock:
            self.permission_denials.extend((call, denial) for denial in denied)
        resolvers = dict(self.resolvers)
        for denial in reversed(denied):  # the first denial under a root names the error, as Saleor stops there

            def refuse(call: GraphQLCall, required: tuple[str, ...] = denial.required, **_: Any) -> None:
                raise PermissionDenied(required)

            resolvers[denial.path[0]] = refuse
        call.status, call.response = execute_call(call, resolvers, self.schema_version)
        return call.status, call.response

    def _take_failure(self, fields: list[str]) -> _Failure | None:
        with self._lock:
            for name in fields:
                queue = self._failures.get(name)
                if queue:
                    return queue.popleft()
        return None

    def handle_get(self, path: str) -> tuple[int, dict[str, Any]]:
        if urlparse(path).path == "/.well-known/jwks.json":
            with self._lock:
                self.jwks_requests += 1
            return 200, self.keys.jwks()
        return 404, {"error": "not found"}


def _make_handler(saleor: FakeSaleor) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._send(*saleor.handle_get(self.path))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlparse(self.path).path.rstrip("/") != "/graphql":
                self._send(404, {"error": "not found"})
                return
            self._send(*saleor.handle_graphql(raw, dict(self.headers.items())))

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
