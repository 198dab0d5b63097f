"""Which Saleor events a subscription document covers, and how event enum names map to GraphQL types.

Saleor derives a webhook's events from its subscription: for `subscription { event { ... on OrderCreated { } } }`
each object type named in a fragment under `event` is one event (`OrderCreated` ↔ `ORDER_CREATED`); for the newer
filterable form (`subscription { orderCreated(channels: [...]) { ... } }`) the root field names the event.
"""

from __future__ import annotations

import re

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)


def event_type_name(enum_value: str) -> str:
    """`ORDER_FULLY_PAID` → `OrderFullyPaid`."""
    return "".join(part.capitalize() for part in enum_value.lower().split("_"))


def event_enum_value(type_name: str) -> str:
    """`OrderFullyPaid` → `ORDER_FULLY_PAID`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type_name).upper()


def subscription_operation(document: DocumentNode) -> OperationDefinitionNode:
    """The document's single subscription operation (Saleor requires exactly that for a webhook)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    subscriptions = [op for op in operations if op.operation == OperationType.SUBSCRIPTION]
    if len(operations) != 1 or len(subscriptions) != 1:
        raise AssertionError("a webhook document must hold exactly one operation, a subscription")
    return subscriptions[0]


def root_fields(operation: OperationDefinitionNode) -> list[FieldNode]:
    return [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]


def covered_event_types(schema: GraphQLSchema, document: DocumentNode) -> set[str]:
    """Names of the event object types this subscription receives (e.g. `{"OrderCreated", "OrderPaid"}`)."""
    operation = subscription_operation(document)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    subscription_type = schema.subscription_type
    if subscription_type is None:
        return set()
    covered: set[str] = set()
    for field in root_fields(operation):
        if field.name.value != "event":
            definition = subscription_type.fields.get(field.name.value)
            if definition is not None:
                covered.add(get_named_type(definition.type).name)
            continue
        if field.selection_set is not None:
            _collect_event_types(schema, field.selection_set, fragments, covered, set())
    return covered


def _collect_event_types(
    schema: GraphQLSchema,
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    covered: set[str],
    seen_fragments: set[str],
) -> None:
    event_interface = schema.get_type("Event")
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            nested = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen_fragments or name not in fragments:
                continue
            seen_fragments.add(name)
            condition = fragments[name].type_condition.name.value
            nested = fragments[name].selection_set
        else:
            continue
        graphql_type = schema.get_type(condition) if condition else None
        if (
            isinstance(graphql_type, GraphQLObjectType)
            and isinstance(event_interface, GraphQLInterfaceType)
            and event_interface in graphql_type.interfaces
        ):
            covered.add(graphql_type.name)
        elif condition is None or isinstance(graphql_type, GraphQLInterfaceType):
            _collect_event_types(schema, nested, fragments, covered, seen_fragments)
