"""``POST /graphql/``: parse the request, execute the schema with the caller's context, answer JSON."""

import json
from functools import lru_cache
from inspect import isawaitable
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from graphql import DocumentNode, GraphQLError, execute, parse, validate

from .context import RequestContext
from .schema import schema

MAX_QUERY_BYTES = 50_000


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message}]}, status=status)


@csrf_exempt
def graphql_view(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _error("send GraphQL requests as POST with a JSON body", 405)
    if len(request.body) > MAX_QUERY_BYTES:
        return _error("request too large", 413)
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error("body must be JSON")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _error("body must be an object with a 'query' string")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return _error("'variables' must be an object")
    document, errors = _prepared(body["query"])
    if document is None:
        return JsonResponse({"errors": [error.formatted for error in errors]}, status=400)
    result = execute(
        schema.graphql_schema,
        document,
        variable_values=variables,
        operation_name=body.get("operationName"),
        context_value=RequestContext(request=request),
    )
    if isawaitable(result):  # no resolver here is asynchronous
        raise TypeError("asynchronous execution is not supported")
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [_format(error) for error in result.errors]
    # Once execution started, ``data`` is always present (null when a non-null root field failed).
    payload["data"] = result.data
    return JsonResponse(payload)


@lru_cache(maxsize=512)
def _prepared(query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """Parse and validate a query once: storefronts send the same few documents over and over."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (error,)
    errors = validate(schema.graphql_schema, document)
    return (None, tuple(errors)) if errors else (document, ())


def _format(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        # Never leak internals: an unexpected exception is reported as such, with no details.
        formatted = {"message": "internal error", "path": error.path, "extensions": {"code": "INTERNAL_ERROR"}}
    return formatted
