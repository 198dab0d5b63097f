"""How FakeSaleor answers one GraphQL request, the way Saleor's `/graphql/` view does.

Order of checks follows Saleor's view: an unparsable body or an invalid document is HTTP 400 with `errors` only;
otherwise the document is executed (HTTP 200) and resolver failures come back as `errors` beside `data`, each with
`extensions.exception.code` naming the exception class (`PermissionDenied`, `ExpiredSignatureError`, ...).
Documents are validated against every supported Saleor line (the app's contract), executed against one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    default_field_resolver,
    execute_sync,
    parse,
)

from .payloads import json_default
from .schemas import SALEOR_VERSIONS, InvalidDocument, document_errors, load_schema

EXECUTION_VERSION = "3.23"


class PermissionDenied(Exception):
    """Raise from a resolver to answer like Saleor does when the caller lacks a permission."""

    def __init__(self, permissions: tuple[str, ...] = ()) -> None:
        if permissions:
            message = f"To access this path, you need one of the following permissions: {', '.join(permissions)}"
        else:
            message = "You do not have permission to perform this action"
        super().__init__(message)


@dataclass
class GraphQLCall:
    """One GraphQL request FakeSaleor received (what tests assert on)."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None
    headers: dict[str, str]
    root_fields: list[str] = field(default_factory=list)
    app_authenticated: bool = False
    token_claims: dict[str, Any] | None = None
    token_error: jwt.PyJWTError | None = None
    status: int = 0
    response: dict[str, Any] | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)

    @property
    def bearer(self) -> str | None:
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() in {"bearer", "jwt"} and token.strip() else None


Resolver = Callable[..., Any]


def error_json(error: GraphQLError) -> dict[str, Any]:
    """One entry of `errors`, formatted like Saleor's `format_error` (without DEBUG stack traces)."""
    result: dict[str, Any] = {"message": error.message}
    if error.locations:
        result["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        result["path"] = list(error.path)
    original: BaseException = error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    code = type(original).__name__
    result["extensions"] = {"exception": {"code": code}}
    return result


def bad_request(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"errors": [error_json(GraphQLError(message))]}


def selected_root_fields(document: DocumentNode, operation_name: str | None) -> list[str]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return []
    return [s.name.value for s in chosen[0].selection_set.selections if isinstance(s, FieldNode)]


def check_document(query: str, versions: Iterable[str] = SALEOR_VERSIONS) -> InvalidDocument | None:
    """The first Saleor line that rejects `query`, as an InvalidDocument (None when all accept it)."""
    for version in versions:
        errors = document_errors(query, version)
        if errors:
            return InvalidDocument(version, errors, query)
    return None


def execute_call(
    call: GraphQLCall, resolvers: Mapping[str, Resolver], version: str = EXECUTION_VERSION
) -> tuple[int, dict[str, Any]]:
    """Execute a validated document with the configured root resolvers; return (HTTP status, JSON body)."""
    schema = load_schema(version)
    roots = {t for t in (schema.query_type, schema.mutation_type) if t is not None}

    def resolve(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        if info.path.prev is not None or info.parent_type not in roots:
            return default_field_resolver(source, info, **args)
        if call.token_error is not None:
            raise call.token_error  # Saleor fails the field with the JWT error itself
        resolver = resolvers.get(info.field_name)
        if resolver is None:
            raise GraphQLError(f"not configured in FakeSaleor: {info.field_name}")
        return resolver(call, **args)

    result = execute_sync(
        schema,
        parse(call.query),
        variable_values=call.variables,
        operation_name=call.operation_name,
        field_resolver=resolve,
    )
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [error_json(error) for error in result.errors]
    if result.data is None and result.errors and all(error.path is None for error in result.errors):
        return 400, body  # bad variables or operation name: nothing executed, Saleor's "invalid" result
    body["data"] = json.loads(json.dumps(result.data, default=json_default))
    return 200, body
