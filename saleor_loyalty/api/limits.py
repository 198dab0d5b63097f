"""What one storefront GraphQL request may ask for, checked before anything runs (issue #8, finding 5).

Every limit is a Django setting (defaults in ``saleor_loyalty/settings.py``, the environment variable of the same
name overrides):

- ``GRAPHQL_MAX_BODY_BYTES`` (50000): the request body; more is refused with HTTP 413 without being parsed.
- ``GRAPHQL_MAX_QUERY_CHARS`` (10000) and ``GRAPHQL_MAX_TOKENS`` (2000): the query document, checked before and
  while it is parsed. The documented storefront queries are a few hundred tokens.
- ``GRAPHQL_MAX_DEPTH`` (10): nested fields in an operation. Introspection (``__schema``/``__type``), when it is
  on, may nest to ``INTROSPECTION_MAX_DEPTH`` so the standard introspection query fits.
- ``GRAPHQL_MAX_ALIASES`` (15), ``GRAPHQL_MAX_ROOT_FIELDS`` (10), ``GRAPHQL_MAX_FIELDS`` (300): aliased fields,
  top-level fields and all selected fields of an operation, counted with every fragment spread expanded.
- ``GRAPHQL_MAX_COST`` (2000): every field costs 1 (``FIELD_COST`` makes some dearer), times the page size of each
  paginated field (``first``/``last``) above it; a page size given as a variable counts as the largest page (the
  field's own, ``MAX_PAGE_OF``, when it serves fewer than ``MAX_PAGE``).
- ``GRAPHQL_MAX_SALEOR_CALLS`` (8): calls to Saleor one request may make. Checked here from ``SALEOR_CALLS`` (the
  most each field may make) and enforced again at run time by ``saleor_loyalty.saleor.budget``.
- ``GRAPHQL_INTROSPECTION`` (false): introspection is refused unless this or ``DEBUG`` is set.

Errors are GraphQL errors with ``extensions.code``: ``QUERY_TOO_COMPLEX``, ``TOO_MANY_SALEOR_CALLS``,
``INTROSPECTION_DISABLED`` or ``INVALID`` (a NUL character or lone surrogate in a string).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
)
from graphql.validation import ValidationContext, ValidationRule

from .core.types import MAX_PAGE

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
TOO_MANY_SALEOR_CALLS = "TOO_MANY_SALEOR_CALLS"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
INVALID = "INVALID"

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
INTROSPECTION_MAX_DEPTH = 15  # graphql-core's get_introspection_query(): __schema > types > fields > args > 11 more
DEFAULT_PAGE = 20  # what a paginated field returns without first/last
MAX_FRAGMENT_NESTING = 32  # fragments spread inside fragments spread inside...: legitimate documents use a few

# The most calls to Saleor a field makes (redemption/saleor_calls.py; tests/test_security_graphql.py checks the
# redemption's). A redemption that replaces an earlier one:
# read the checkout, detach and delete the old voucher, create, list and attach the new one, and delete it again
# if attaching fails.
SALEOR_CALLS: dict[tuple[str, str], int] = {
    ("Query", "estimatePoints"): 1,
    ("Mutation", "redeemPoints"): 7,
    ("Mutation", "redeemReward"): 7,
    ("Mutation", "cancelRedemption"): 2,
    ("Mutation", "recordEvent"): 1,  # does the customer exist (program/custom_events.py)
    # The staff API (saleor/catalog.py): a search is one call; the campaign list names its products and categories
    # in at most MAX_NAME_CALLS; saving a campaign checks its new ids, up to MAX_TARGETS of each, 100 per call.
    ("StaffQuery", "searchProducts"): 1,
    ("StaffQuery", "storeChannels"): 1,
    ("StaffQuery", "searchCategories"): 1,
    ("StaffQuery", "campaigns"): 2,
    ("StaffQuery", "settingsChanges"): 2,  # campaign changes name products and categories
    ("StaffMutation", "createCampaign"): 5,
    ("StaffMutation", "updateCampaign"): 5,
}
# Paginated fields serving fewer than ``MAX_PAGE`` items a page: a page size given as a variable counts as this.
MAX_PAGE_OF: dict[tuple[str, str], int] = {
    ("Query", "myRebateStatements"): 12,  # api/rebates/resolvers.py: MAX_PERIODS
}
# Fields that do more work than reading a row or two, beyond the cost of 1 every field has.
FIELD_COST: dict[tuple[str, str], int] = {
    ("Query", "estimatePoints"): 10,
    ("Mutation", "redeemPoints"): 20,
    ("Mutation", "redeemReward"): 20,
    ("Mutation", "cancelRedemption"): 10,
    ("Mutation", "recordEvent"): 10,
}


@dataclass(frozen=True)
class Limits:
    """The API's limits; their defaults live in one place, the ``GRAPHQL_*`` settings."""

    max_body_bytes: int
    max_query_chars: int
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_root_fields: int
    max_fields: int
    max_cost: int
    max_saleor_calls: int
    introspection: bool

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            max_body_bytes=settings.GRAPHQL_MAX_BODY_BYTES,
            max_query_chars=settings.GRAPHQL_MAX_QUERY_CHARS,
            max_tokens=settings.GRAPHQL_MAX_TOKENS,
            max_depth=settings.GRAPHQL_MAX_DEPTH,
            max_aliases=settings.GRAPHQL_MAX_ALIASES,
            max_root_fields=settings.GRAPHQL_MAX_ROOT_FIELDS,
            max_fields=settings.GRAPHQL_MAX_FIELDS,
            max_cost=settings.GRAPHQL_MAX_COST,
            max_saleor_calls=settings.GRAPHQL_MAX_SALEOR_CALLS,
            introspection=settings.DEBUG or settings.GRAPHQL_INTROSPECTION,
        )


@dataclass
class _Tally:
    fields: int = 0
    aliases: int = 0
    root_fields: int = 0
    depth: int = 0
    introspection_depth: int = 0
    cost: int = 0
    saleor_calls: int = 0
    fragment_nesting: int = 0
    steps: int = 0  # fields, spreads and inline fragments visited: bounds the walk itself
    stopped: bool = False  # the walk stopped early, past a limit: the counts are lower bounds


class _Stop(Exception):
    """The walk went past a limit far enough: no need to look further."""


class _Walk:
    """One operation, walked with its fragments expanded (a fragment already being expanded is skipped: cycles are
    reported by the specification's NoFragmentCycles rule)."""

    def __init__(self, context: ValidationContext, limits: Limits) -> None:
        self.context = context
        self.limits = limits
        self.tally = _Tally()
        self.max_steps = 4 * limits.max_fields + 100

    def run(self, operation: OperationDefinitionNode) -> _Tally:
        root = self.context.schema.get_root_type(operation.operation)
        try:
            self._selections(operation.selection_set, root, depth=1, multiplier=1, introspection=False, active=())
        except _Stop:
            self.tally.stopped = True
        return self.tally

    def _step(self) -> None:
        self.tally.steps += 1
        if self.tally.steps > self.max_steps:
            self.tally.fields = max(self.tally.fields, self.limits.max_fields + 1)
            raise _Stop

    def _selections(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        *,
        depth: int,
        multiplier: int,
        introspection: bool,
        active: tuple[str, ...],
    ) -> None:
        for selection in selection_set.selections:
            self._step()
            if isinstance(selection, FieldNode):
                self._field(selection, parent, depth=depth, multiplier=multiplier, introspection=introspection)
                self._selections_of_field(selection, parent, depth, multiplier, introspection, active)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.context.schema.get_type(condition.name.value) if condition else parent
                self._selections(
                    selection.selection_set,
                    scope,
                    depth=depth,
                    multiplier=multiplier,
                    introspection=introspection,
                    active=active,
                )
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment: FragmentDefinitionNode | None = self.context.get_fragment(name)
                if fragment is None or name in active:
                    continue
                self.tally.fragment_nesting = max(self.tally.fragment_nesting, len(active) + 1)
                if len(active) >= MAX_FRAGMENT_NESTING:
                    raise _Stop
                self._selections(
                    fragment.selection_set,
                    self.context.schema.get_type(fragment.type_condition.name.value),
                    depth=depth,
                    multiplier=multiplier,
                    introspection=introspection,
                    active=(*active, name),
                )

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, *, depth: int, multiplier: int, introspection: bool
    ) -> None:
        tally, limits = self.tally, self.limits
        name = node.name.value
        key = (parent.name if parent is not None else "", name)
        tally.fields += 1
        tally.aliases += node.alias is not None
        tally.root_fields += depth == 1
        if introspection or name in INTROSPECTION_FIELDS:
            tally.introspection_depth = max(tally.introspection_depth, depth)
        else:
            tally.depth = max(tally.depth, depth)
        tally.cost += multiplier * FIELD_COST.get(key, 1)
        tally.saleor_calls += multiplier * SALEOR_CALLS.get(key, 0)
        if tally.fields > limits.max_fields or tally.cost > 10 * limits.max_cost:
            raise _Stop

    def _selections_of_field(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        depth: int,
        multiplier: int,
        introspection: bool,
        active: tuple[str, ...],
    ) -> None:
        if node.selection_set is None:
            return
        inside_introspection = introspection or node.name.value in INTROSPECTION_FIELDS
        if depth >= max(self.limits.max_depth, INTROSPECTION_MAX_DEPTH if inside_introspection else 0):
            # Too deep already: note it, and look no deeper (this also bounds the walk's recursion).
            if inside_introspection:
                self.tally.introspection_depth = max(self.tally.introspection_depth, depth + 1)
            else:
                self.tally.depth = max(self.tally.depth, depth + 1)
            return
        definition = parent.fields.get(node.name.value) if isinstance(parent, GraphQLObjectType) else None
        if node.name.value == "__schema":
            child: GraphQLNamedType | None = self.context.schema.get_type("__Schema")
        elif node.name.value == "__type":
            child = self.context.schema.get_type("__Type")
        else:
            child = get_named_type(definition.type) if definition is not None else None
        largest = MAX_PAGE_OF.get((parent.name if parent is not None else "", node.name.value), MAX_PAGE)
        page = _page_size(node, definition.args if definition is not None else {}, largest)
        self._selections(
            node.selection_set,
            child,
            depth=depth + 1,
            multiplier=multiplier * page,
            introspection=inside_introspection,
            active=active,
        )


def _page_size(node: FieldNode, arguments: Any, largest: int = MAX_PAGE) -> int:
    """How many items a paginated field (one taking ``first``/``last``) returns at most; 1 for other fields.
    ``largest``: the most the field serves in a page."""
    if "first" not in arguments and "last" not in arguments:
        return 1
    given = [argument for argument in node.arguments or () if argument.name.value in ("first", "last")]
    if not given:
        default = next((arguments[name].default_value for name in ("first", "last") if name in arguments), None)
        return default if isinstance(default, int) and default > 0 else DEFAULT_PAGE
    sizes = []
    for argument in given:
        if isinstance(argument.value, IntValueNode):
            sizes.append(max(1, min(int(argument.value.value), 10 * MAX_PAGE)))
        else:  # a variable: the largest page the field serves
            sizes.append(largest)
    return max(sizes)


def _operation_errors(tally: _Tally, limits: Limits, operation: OperationDefinitionNode) -> Iterator[GraphQLError]:
    what = f"operation {operation.name.value!r}" if operation.name else "the operation"
    checks: Iterable[tuple[int, int, str]] = (
        (tally.depth, limits.max_depth, "is too deep: {value} levels of fields, at most {limit} allowed"),
        (
            tally.introspection_depth,
            max(limits.max_depth, INTROSPECTION_MAX_DEPTH),
            "is too deep: {value} levels of introspection fields, at most {limit} allowed",
        ),
        (
            tally.fragment_nesting,
            MAX_FRAGMENT_NESTING,
            "nests fragments too deeply: {value} levels, at most {limit} allowed",
        ),
        (tally.aliases, limits.max_aliases, "uses too many aliases: {value}, at most {limit} allowed"),
        (tally.root_fields, limits.max_root_fields, "selects too many root fields: {value}, at most {limit} allowed"),
        (
            tally.fields,
            limits.max_fields,
            "selects too many fields (fragments expanded): {value}, at most {limit} allowed",
        ),
        (tally.cost, limits.max_cost, "costs too much: {value}, at most {limit} allowed (smaller pages cost less)"),
    )
    for value, limit, message in checks:
        if value > limit:
            shown = f"at least {value}" if tally.stopped else str(value)
            text = f"{what} {message.format(value=shown, limit=limit)}; split it into several requests"
            yield GraphQLError(text, operation, extensions={"code": TOO_COMPLEX})
    if tally.saleor_calls > limits.max_saleor_calls:
        calls = f"at least {tally.saleor_calls}" if tally.stopped else str(tally.saleor_calls)
        yield GraphQLError(
            f"{what} could make {calls} calls to the store, at most {limits.max_saleor_calls} per "
            "request allowed; split it into several requests",
            operation,
            extensions={"code": TOO_MANY_SALEOR_CALLS},
        )


class QueryLimitsRule(ValidationRule):
    """Depth, aliases, root fields, fields and cost of each operation, and the calls to Saleor it could make."""

    limits: Limits  # set by ``limit_rules`` on the subclass it makes for one set of limits

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> Any:
        if self.context.schema.get_root_type(node.operation or OperationType.QUERY) is None:
            return self.SKIP  # an operation the schema has no root for: the specification's rules say so
        tally = _Walk(self.context, self.limits).run(node)
        for error in _operation_errors(tally, self.limits, node):
            self.report_error(error)
        return self.SKIP


class NoIntrospectionRule(ValidationRule):
    """``__schema`` and ``__type`` are refused (``__typename`` stays: clients use it to tell types apart)."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in INTROSPECTION_FIELDS:
            self.report_error(
                GraphQLError(
                    "introspection is disabled on this server (set GRAPHQL_INTROSPECTION=true to enable it)",
                    node,
                    extensions={"code": INTROSPECTION_DISABLED},
                )
            )


NUL_MESSAGE = "contains a NUL character (\\u0000) or an unpaired surrogate, which no input may hold"


def is_unstorable(text: str) -> bool:
    """Text PostgreSQL cannot store: a NUL character, or a lone UTF-16 surrogate (not encodable as UTF-8)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class NoNulInStringsRule(ValidationRule):
    """A string literal PostgreSQL could not store (``is_unstorable``) is invalid input."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if is_unstorable(node.value):
            self.report_error(GraphQLError(f"a string {NUL_MESSAGE}", node, extensions={"code": INVALID}))


@lru_cache(maxsize=16)
def limit_rules(limits: Limits) -> tuple[type[ValidationRule], ...]:
    """The validation rules enforcing ``limits``, run before (and instead of, when they fail) the specification's."""
    rule = type("QueryLimits", (QueryLimitsRule,), {"limits": limits})
    rules: list[type[ValidationRule]] = [rule, NoNulInStringsRule]
    if not limits.introspection:
        rules.append(NoIntrospectionRule)
    return tuple(rules)


def nul_in_variables(variables: dict[str, Any]) -> str | None:
    """The name of the first variable holding unstorable text (``is_unstorable``) anywhere (in a string, a list,
    an object's keys or values), or None. Iterative: a variable nested thousands deep cannot exhaust the stack."""
    for name, value in variables.items():
        stack: list[Any] = [name, value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if is_unstorable(item):
                    return name
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return None
