"""Every field of the staff API refuses a caller without the dashboard's token, a shopper's token, and a dashboard
token without the field's permission — built from the schema itself, so a field added later is covered too."""

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

from saleor_loyalty.api.staff import staff_schema
from tests.test_staff_program_settings import error_codes, staff_call

pytestmark = pytest.mark.django_db

SCALARS: dict[str, Any] = {
    "ID": "VXNlcjox",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Decimal": "1",
    "DateTime": "2030-01-01T00:00:00+00:00",
    "JSONString": "{}",
}


def _value(kind: GraphQLInputType) -> Any:
    """A value of an input type with every required field filled (what the field refuses is the caller, not it)."""
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type)
    if isinstance(kind, GraphQLList):
        return []
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        return {name: _value(f.type) for name, f in kind.fields.items() if isinstance(f.type, GraphQLNonNull)}
    assert isinstance(kind, GraphQLScalarType)
    return SCALARS[kind.name]


def _document(operation: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {arg: a for arg, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
    declared = ", ".join(f"${arg}: {a.type}" for arg, a in required.items())
    passed = ", ".join(f"{arg}: ${arg}" for arg in required)
    selection = " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""
    header = f"{operation} Probe({declared})" if declared else f"{operation} Probe"
    document = f"{header} {{ {name}{f'({passed})' if passed else ''}{selection} }}"
    return document, {arg: _value(a.type) for arg, a in required.items()}


def _fields() -> list[tuple[str, str, GraphQLField]]:
    schema = staff_schema.graphql_schema
    roots = [("query", schema.query_type), ("mutation", schema.mutation_type)]
    return [(op, name, field) for op, root in roots if root for name, field in root.fields.items()]


@pytest.mark.parametrize(("operation", "name", "field"), _fields(), ids=[f"{op}.{name}" for op, name, _ in _fields()])
def test_every_staff_field_refuses_callers_without_the_dashboard_token_and_its_permission(
    store, operation, name, field
):
    document, variables = _document(operation, name, field)
    unpermitted = store.saleor.app_token_for_dashboard([], email="nobody@shop.example")

    assert error_codes(staff_call(document, None, variables)) == ["UNAUTHENTICATED"], document
    assert error_codes(staff_call(document, store.token(), variables)) == ["INVALID_TOKEN"], document
    assert error_codes(staff_call(document, unpermitted, variables)) == ["PERMISSION_DENIED"], document
