"""Every GraphQL document the app sends or subscribes with is valid on every Saleor line it supports.

The app promises `requiredSaleorVersion: ">=3.22 <4"`, so each document under `graphql/` must validate against
Saleor 3.22's and 3.23's real schemas — except a document whose leading comment says `Saleor 3.23+ only`: the app
sends it only to stores of that line or newer (it reads the store's `shop.schemaVersion` first), so it is checked on
those lines (and FakeSaleor refuses it from an older store); and each webhook's declared events must be exactly the
events its subscription selects (otherwise Saleor sends payloads the query never shapes, or never sends ones it
does).
"""

from pathlib import Path

import pytest
from graphql import FieldNode, FragmentDefinitionNode, parse, print_ast

from saleor_loyalty.saleor import documents
from saleor_loyalty.saleor.manifest import PERMISSIONS
from saleor_loyalty.saleor.subscriptions import EVENT_TYPENAMES, SUBSCRIPTIONS
from saleor_loyalty.webhooks.handlers import HANDLERS
from tests.saleor_harness import (
    SALEOR_VERSIONS,
    minimum_version,
    subscribed_event_types,
    validate_document,
    validate_manifest,
    versions_for,
)
from tests.saleor_harness.events import event_type_name
from tests.saleor_harness.permissions import Caller, denials

GRAPHQL_DIR = Path(__file__).resolve().parents[1] / "graphql"
# graphql/schema.graphql and staff-schema.graphql are the app's OWN API schemas, not documents sent to Saleor.
APP_SCHEMAS = {GRAPHQL_DIR / "schema.graphql", GRAPHQL_DIR / "staff-schema.graphql"}
DOCUMENTS = sorted(path for path in GRAPHQL_DIR.rglob("*.graphql") if path not in APP_SCHEMAS)
SUBSCRIPTION_FILES = sorted((GRAPHQL_DIR / "subscriptions").glob("*.graphql"))


def _name(path: Path) -> str:
    return str(path.relative_to(GRAPHQL_DIR))


def test_the_app_has_subscription_and_operation_documents():
    kinds = {path.parent.name for path in DOCUMENTS}
    assert {"subscriptions", "operations"} <= kinds


# Each document with each Saleor line it is sent to (a version-gated one only to the lines at or above its gate).
SENT_TO = [
    (path, version) for path in DOCUMENTS for version in SALEOR_VERSIONS if version in versions_for(path.read_text())
]


def _id(value: object) -> str:
    return _name(value) if isinstance(value, Path) else str(value)


@pytest.mark.parametrize(("path", "version"), SENT_TO, ids=_id)
def test_every_document_is_valid_against_each_saleor_it_is_sent_to(path, version):
    validate_document(path.read_text(), versions=[version])


def test_documents_for_newer_lines_are_few_and_only_for_what_older_lines_lack():
    """Only store credit's gift-card documents are 3.23+ (top-ups, `assignedTo`, BALANCE_ADJUSTED events, and the
    order events' gift-card payment details); nothing the app needs everywhere (webhooks, redemption) may be gated:
    a gated subscription is a newer line's variant of one every line gets."""
    gated = {_name(path): minimum_version(path.read_text()) for path in DOCUMENTS if minimum_version(path.read_text())}
    assert gated == {
        "operations/gift_card_balance_adjust.graphql": "3.23",
        "operations/gift_card_create.graphql": "3.23",
        "operations/gift_card_top_ups.graphql": "3.23",
        "subscriptions/order_events_3_23.graphql": "3.23",
    }
    for name in (
        "operations/gift_card_balance_adjust.graphql",
        "operations/gift_card_top_ups.graphql",
        "subscriptions/order_events_3_23.graphql",
    ):
        with pytest.raises(AssertionError):  # the gate is real: 3.22 refuses them
            validate_document((GRAPHQL_DIR / name).read_text(), versions=["3.22"])
    for subscription in SUBSCRIPTIONS:
        assert minimum_version(subscription.query) is None  # every line gets one
        for since, document in subscription.newer:
            assert minimum_version(documents.subscription(document)) == f"{since[0]}.{since[1]}"


def _without_gift_card_details(document: str) -> str:
    """The order events document without what the 3.23 variant adds (each payment's gift-card details)."""
    tree = parse(document)
    for definition in tree.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode) and selection.name.value == "transactions":
                    assert selection.selection_set is not None
                    selection.selection_set.selections = tuple(
                        field
                        for field in selection.selection_set.selections
                        if not (isinstance(field, FieldNode) and field.name.value == "paymentMethodDetails")
                    )
    return print_ast(tree)


def test_the_3_23_order_events_are_the_order_events_and_each_payments_gift_card_details():
    base = documents.subscription("order_events")
    newer = documents.subscription("order_events_3_23")
    assert _without_gift_card_details(newer) == print_ast(parse(base))
    assert "lastChars" in newer and "lastChars" not in base


@pytest.mark.parametrize(
    ("header", "document"),
    [(None, "order_events"), ("3.22", "order_events"), ("3.23", "order_events_3_23"), ("3.24", "order_events_3_23"),
     ("4.0", "order_events_3_23"), ("garbled", "order_events")],
)  # fmt: skip
def test_the_manifest_gives_each_saleor_line_the_order_events_made_for_it(client, header, document):
    headers = {"Saleor-Schema-Version": header} if header else {}
    manifest = client.get("/api/manifest", headers=headers).json()
    orders = next(webhook for webhook in manifest["webhooks"] if webhook["targetUrl"].endswith("/api/webhooks/orders"))
    assert orders["query"] == documents.subscription(document)
    for version in versions_for(orders["query"]):  # a Saleor of that line accepts the manifest
        validate_manifest(manifest, version)


def _caller_of(path: Path) -> Caller:
    """Who sends a document: the shopper's token for those whose header says so, else the app's token with the
    permissions the manifest asks for (subscriptions too: Saleor resolves their payloads as the app)."""
    if "SHOPPER's token" in path.read_text().split("\n", 1)[0]:
        return Caller.from_claims({"type": "access", "is_staff": False})
    return Caller.app(PERMISSIONS)


@pytest.mark.parametrize(("path", "version"), SENT_TO, ids=_id)
def test_every_field_a_document_selects_is_readable_by_whoever_sends_it(path, version):
    """Valid is not enough: Saleor also denies fields the token lacks a permission for (a customer may not read
    `channel.currencyCode`, seen on a real Saleor). The rules are in the schema's field descriptions."""
    denied = denials(path.read_text(), _caller_of(path), version=version)
    assert denied == [], "\n".join(f"{'.'.join(d.path)}: {d.message}" for d in denied)


def test_the_app_sends_the_documents_checked_here():
    assert documents.documents_dir().resolve() == GRAPHQL_DIR.resolve()


@pytest.mark.parametrize("version", SALEOR_VERSIONS)
@pytest.mark.parametrize("subscription", SUBSCRIPTIONS, ids=lambda s: s.document)
def test_each_subscription_selects_exactly_the_events_it_declares(subscription, version):
    declared = {event_type_name(name) for name in subscription.events}
    for query in subscription.queries:
        if version in versions_for(query):
            assert subscribed_event_types(query, version) == declared


def test_every_subscription_file_is_used_by_a_webhook():
    used = {f"{document}.graphql" for s in SUBSCRIPTIONS for document in (s.document, *(d for _, d in s.newer))}
    assert {path.name for path in SUBSCRIPTION_FILES} == used


def test_webhook_endpoints_are_distinct_and_each_event_goes_to_one_endpoint():
    paths = [s.path for s in SUBSCRIPTIONS]
    events = [name for s in SUBSCRIPTIONS for name in s.events]
    assert len(set(paths)) == len(paths)
    assert len(set(events)) == len(events)


def test_the_ingest_knows_the_body_type_of_every_subscribed_event():
    # The inbox refuses a body whose __typename differs from what the Saleor-Event header names.
    expected = {name.lower(): event_type_name(name) for s in SUBSCRIPTIONS for name in s.events}
    assert expected == EVENT_TYPENAMES


def test_every_subscription_has_a_handler_and_every_handler_a_subscription():
    assert set(HANDLERS) == {s.path for s in SUBSCRIPTIONS}
