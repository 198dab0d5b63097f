"""Who may read which field: Saleor's permission rules, as its schema states them, checked per caller.

A document can be valid against the schema and still fail on a real Saleor because the caller lacks a permission:
a shopper's token may read its checkout's totals but not `checkout.channel.currencyCode`, which "Requires one of
the following permissions: AUTHENTICATED_APP, AUTHENTICATED_STAFF_USER". Saleor writes these rules into the field
descriptions of its `schema.graphql`; this module reads them back and walks a document the way Saleor resolves it,
so FakeSaleor can deny what Saleor would deny.

Pseudo-permissions, as Saleor grants them:
- `AUTHENTICATED_APP`: any app token; an app also holds the permissions the merchant granted at install.
- `AUTHENTICATED_USER`, `OWNER`, `IS_OWNER`: a signed-in customer. Owner checks depend on the object (is it *their*
  checkout?); statically we grant them to any customer and leave ownership to the resolvers.
- `AUTHENTICATED_STAFF_USER`: a staff user's token (`is_staff`), plus that user's own permissions.
- An app is the `OWNER` of its own `app` object (`Query.app` without an id): Saleor lets it read its own
  `webhooks` and `tokens` without `MANAGE_APPS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    parse,
)
from graphql.utilities import type_from_ast

from .schemas import load_schema

_REQUIRES = re.compile(r"Requires one of the following permissions: ([A-Z_, ]+)")
_STAFF_ONLY = "Requires staff permissions to access"
STAFF_OR_APP = ("AUTHENTICATED_STAFF_USER", "AUTHENTICATED_APP")
CUSTOMER = frozenset({"AUTHENTICATED_USER", "OWNER", "IS_OWNER"})


@dataclass(frozen=True)
class Caller:
    """What a request is authenticated as, reduced to the set of permissions Saleor would check."""

    kind: str  # "anonymous", "customer", "staff" or "app"
    permissions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def anonymous(cls) -> Caller:
        return cls("anonymous")

    @classmethod
    def app(cls, granted: Iterable[str]) -> Caller:
        return cls("app", frozenset(granted) | {"AUTHENTICATED_APP"})

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Caller:
        """A user token Saleor issued: a customer, or a staff user with the permissions it carries."""
        if claims.get("is_staff"):
            granted = set(claims.get("permissions") or ()) | set(claims.get("user_permissions") or ())
            return cls("staff", frozenset(granted) | {"AUTHENTICATED_STAFF_USER", "AUTHENTICATED_USER"})
        return cls("customer", CUSTOMER)

    def may(self, required: tuple[str, ...]) -> bool:
        return not required or any(permission in self.permissions for permission in required)


@dataclass(frozen=True)
class Denial:
    """A field the caller may not read: where it is in the response, and what it requires."""

    path: tuple[str, ...]  # response keys from the root, e.g. ("checkout", "channel", "currencyCode")
    required: tuple[str, ...]

    @property
    def message(self) -> str:
        return f"To access this path, you need one of the following permissions: {', '.join(self.required)}"


def required_permissions(schema_field: GraphQLField) -> tuple[str, ...]:
    """The permissions a field's description says it needs (any one of them), or () when it is open."""
    description = schema_field.description or ""
    match = _REQUIRES.search(description)
    if match:
        # split on spaces too: `Query.app` says "AUTHENTICATED_STAFF_USER AUTHENTICATED_APP" (no comma)
        return tuple(re.split(r"[,\s]+", match.group(1).strip()))
    if _STAFF_ONLY in description:
        return STAFF_OR_APP
    return ()


def denials(document: str, caller: Caller, *, version: str = "3.23", operation_name: str | None = None) -> list[Denial]:
    """Every selected field of the operation that `caller` may not read on Saleor `version` (document assumed
    valid). Fields under a denied one are not reported: Saleor stops at the first."""
    return list(_denials(document, caller, version, operation_name))


@cache
def _denials(document: str, caller: Caller, version: str, operation_name: str | None) -> tuple[Denial, ...]:
    schema = load_schema(version)
    ast = parse(document)
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in ast.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if not chosen:
        return ()
    operation = chosen[0]
    root = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }[operation.operation]
    found: list[Denial] = []
    if root is not None:
        _walk(schema, root, operation.selection_set, (), caller, fragments, found)
    return tuple(found)


def _walk(
    schema: GraphQLSchema,
    parent: Any,
    selections: SelectionSetNode | None,
    path: tuple[str, ...],
    caller: Caller,
    fragments: Mapping[str, FragmentDefinitionNode],
    found: list[Denial],
) -> None:
    if selections is None:
        return
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name.startswith("__"):
                continue
            schema_field = _field(parent, name)
            if schema_field is None:
                continue
            here = (*path, selection.alias.value if selection.alias else name)
            required = required_permissions(schema_field)
            owns = caller.kind == "app" and "OWNER" in required and path == ("app",) and parent.name == "App"
            if not owns and not caller.may(required):
                found.append(Denial(here, required))
                continue
            _walk(schema, get_named_type(schema_field.type), selection.selection_set, here, caller, fragments, found)
        else:
            target = parent
            if isinstance(selection, InlineFragmentNode):
                condition, selection_set = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                condition, selection_set = fragment.type_condition, fragment.selection_set
            else:
                continue
            if condition is not None:
                target = type_from_ast(schema, condition) or parent
            _walk(schema, target, selection_set, path, caller, fragments, found)


def _field(parent: Any, name: str) -> GraphQLField | None:
    fields = getattr(parent, "fields", None)  # object and interface types; unions have none of their own
    result = fields.get(name) if fields else None
    return result if isinstance(result, GraphQLField) else None
