"""``POST /graphql/``: parse the request, execute the schema with the caller's context, answer JSON.

Before anything runs, a request is held to the limits of ``limits.py`` (body and document size, depth, aliases,
fields, cost, calls to Saleor, introspection, NUL characters): over one, it gets HTTP 400 (413 for the body) with
GraphQL errors saying which. While it runs, it may call Saleor at most ``GRAPHQL_MAX_SALEOR_CALLS`` times.
"""

import json
import logging
import secrets
from functools import lru_cache
from inspect import isawaitable
from typing import Any

import graphene
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from graphql import DocumentNode, GraphQLError, GraphQLFormattedError, execute, parse, validate

from saleor_loyalty.core.logging import current_context, log_context
from saleor_loyalty.saleor.budget import SaleorCallBudgetExceeded, saleor_call_budget

from .context import RequestContext
from .limits import INVALID, NUL_MESSAGE, TOO_COMPLEX, Limits, limit_rules, nul_in_variables
from .schema import schema
from .staff import staff_schema

logger = logging.getLogger(__name__)


def _error(message: str, status: int = 400, code: str | None = None) -> JsonResponse:
    error: dict[str, Any] = {"message": message}
    if code:
        error["extensions"] = {"code": code}
    return JsonResponse({"errors": [error]}, status=status)


@csrf_exempt
def graphql_view(request: HttpRequest) -> JsonResponse:
    """The storefront API (``schema``): shoppers, server keys, the public program terms."""
    return _serve(request, schema)


@csrf_exempt
def staff_graphql_view(request: HttpRequest) -> JsonResponse:
    """The staff API (``staff_schema``) for the dashboard extension's pages, under the same limits."""
    return _serve(request, staff_schema)


def _serve(request: HttpRequest, served: graphene.Schema) -> JsonResponse:
    request_id = current_context().get("request_id") or secrets.token_hex(8)
    with log_context(request_id=request_id):
        return _respond(request, Limits.from_settings(), served)


def _respond(request: HttpRequest, limits: Limits, served: graphene.Schema) -> JsonResponse:
    if request.method != "POST":
        return _error("send GraphQL requests as POST with a JSON body", 405)
    declared = request.META.get("CONTENT_LENGTH") or ""
    if (declared.isdigit() and int(declared) > limits.max_body_bytes) or len(request.body) > limits.max_body_bytes:
        return _error(f"request too large: at most {limits.max_body_bytes} bytes", 413, TOO_COMPLEX)
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return _error("body must be JSON")
    if isinstance(body, list):
        return _error("batched requests (a JSON array) are not supported: send one operation per request")
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _error("body must be an object with a 'query' string")
    query: str = body["query"]
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return _error("'variables' must be an object")
    operation_name = body.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return _error("'operationName' must be a string")
    if len(query) > limits.max_query_chars:
        return _error(
            f"query too long: {len(query)} characters, at most {limits.max_query_chars} allowed", code=TOO_COMPLEX
        )
    nul_variable = nul_in_variables(variables)
    if nul_variable is not None:
        return _error(f"variable '${nul_variable}' {NUL_MESSAGE}", code=INVALID)
    document, errors = _prepared(query, limits, served)
    if document is None:
        return JsonResponse({"errors": list(errors)}, status=400)
    with saleor_call_budget(limits.max_saleor_calls):
        result = execute(
            served.graphql_schema,
            document,
            variable_values=variables,
            operation_name=operation_name,
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


@lru_cache(maxsize=256)
def _prepared(
    query: str, limits: Limits, served: graphene.Schema
) -> tuple[DocumentNode | None, tuple[GraphQLFormattedError, ...]]:
    """Parse and validate a query once per set of limits: storefronts send the same few documents over and over.

    The limits are checked first and alone: a document over them is refused without the specification's rules,
    some of which take time that grows faster than the document. A refused document is kept as its formatted
    errors only, not its syntax tree."""
    try:
        document = parse(query, max_tokens=limits.max_tokens)
    except GraphQLError as error:
        if f"more than {limits.max_tokens} tokens" in error.message:  # graphql-core's max_tokens refusal
            error = GraphQLError(
                f"query too long: more than {limits.max_tokens} tokens", extensions={"code": TOO_COMPLEX}
            )
        return None, (error.formatted,)
    errors = validate(served.graphql_schema, document, rules=limit_rules(limits))
    if not errors:
        errors = validate(served.graphql_schema, document)
    return (None, tuple(error.formatted for error in errors)) if errors else (document, ())


def _format(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, SaleorCallBudgetExceeded):
        return {"message": str(original), "path": error.path, "extensions": {"code": "TOO_MANY_SALEOR_CALLS"}}
    formatted: dict[str, Any] = dict(error.formatted)
    if original is not None and not isinstance(original, GraphQLError):
        # Never leak internals: an unexpected exception is reported as such, with no details, and logged with the
        # request id it answers with, so support can find it.
        request_id = current_context().get("request_id")
        logger.exception(
            "unexpected error in a GraphQL resolver",
            exc_info=original,
            extra={"data": {"graphql_path": error.path}},
        )
        extensions = {"code": "INTERNAL_ERROR", "requestId": request_id}
        formatted = {"message": "internal error", "path": error.path, "extensions": extensions}
    return formatted
