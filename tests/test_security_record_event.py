"""recordEvent hardening (security probe, issue #8).

(a) ``occurredAt`` is the reporter's word: it is bounded (a short past window, a small future skew) and the cap
    counts events by when the app received them, so backdating cannot escape a cap.
(b) Only customers the store knows are enrolled: a customer id the app has no member for must be a Saleor ``User``
    global id, and Saleor (asked with the app token) must know it; otherwise nothing is created.
"""

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from saleor_loyalty.ledger.models import Transfer
from saleor_loyalty.ledger.queries import integrity_problems, member_balances
from saleor_loyalty.members.models import Member
from saleor_loyalty.program.custom_events import EventRefused, issue_api_key, record_event
from saleor_loyalty.program.models import EarningAction, EarningEvent
from tests.saleor_harness import GraphQLCall, PermissionDenied, global_id
from tests.storefront import Store, gql

pytestmark = pytest.mark.django_db

RECORD = """
mutation Record($action: String!, $customer: ID!, $key: String!, $at: DateTime) {
  recordEvent(action: $action, customerId: $customer, idempotencyKey: $key, occurredAt: $at) {
    points
    errors { field code message }
  }
}
"""

ADA = global_id("User", 7)  # "VXNlcjo3"


class Customers:
    """The store's customers as Saleor's ``user(id:)`` answers them (app token with MANAGE_USERS only)."""

    def __init__(self, store: Store) -> None:
        self.users: dict[str, dict[str, Any]] = {ADA: {"id": ADA, "email": "Ada@Example.com", "isActive": True}}
        store.saleor.resolvers["user"] = self._user

    def _user(self, call: GraphQLCall, id: str | None = None, **_: Any) -> dict[str, Any] | None:
        if not call.app_authenticated:
            raise PermissionDenied(("MANAGE_STAFF", "MANAGE_USERS", "MANAGE_ORDERS"))
        return self.users.get(id or "")


@pytest.fixture
def customers(store: Store) -> Customers:
    return Customers(store)


@pytest.fixture
def api_key(store: Store) -> str:
    EarningAction.objects.create(
        install=store.install, code="review", name="Review", points=25, max_per_period=2, period_days=30
    )
    return issue_api_key(store.install, "reviews service").key


def record(api_key: str, key: str, *, customer: str = ADA, at: Any = None) -> dict[str, Any]:
    variables = {"action": "review", "customer": customer, "key": key, "at": at.isoformat() if at else None}
    body = gql(RECORD, variables, token=api_key)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["recordEvent"]
    return payload


# -- (a) occurredAt is bounded, and the cap counts by receipt ---------------------------------------------------


def test_backdated_events_cannot_beat_a_two_per_thirty_days_cap(store, customers, api_key):
    now = timezone.now()
    # Oldest first: each backdated event's cap window ended before the next one's started (today's exploit).
    backdated = [now - timedelta(days=days) for days in (400, 300, 200, 100, 40)]
    results = [record(api_key, f"old-{i}", at=at) for i, at in enumerate(backdated)]
    results += [record(api_key, f"now-{i}") for i in range(3)]
    results += [record(api_key, f"recent-{i}", at=now - timedelta(hours=23)) for i in range(2)]
    awarded = [r for r in results if r["points"]]
    assert len(awarded) == 2, results
    member = Member.objects.get(install=store.install, saleor_user_id=ADA)
    assert member_balances(member).available == 50
    assert EarningEvent.objects.filter(member=member).count() == 2
    assert {e["code"] for r in results[:5] for e in r["errors"]} == {"INVALID"}
    assert {e["field"] for r in results[:5] for e in r["errors"]} == {"occurredAt"}
    assert [e["code"] for r in results[5:] if not r["points"] for e in r["errors"]] == ["LIMIT_REACHED"] * 3
    assert integrity_problems(store.install.pk) == []


def test_occurred_at_more_than_the_max_age_in_the_past_or_the_skew_in_the_future_is_refused(
    store, customers, api_key, settings
):
    now = timezone.now()
    too_old = record(api_key, "old", at=now - timedelta(hours=25))
    too_new = record(api_key, "future", at=now + timedelta(minutes=6))
    for result in (too_old, too_new):
        assert result["points"] is None
        assert [(e["field"], e["code"]) for e in result["errors"]] == [("occurredAt", "INVALID")]
    assert not Transfer.objects.exists()
    assert not EarningEvent.objects.exists()

    assert record(api_key, "recent", at=now - timedelta(hours=23))["points"] == 25
    assert record(api_key, "skewed", at=now + timedelta(minutes=4))["points"] == 25
    settings.LOYALTY_EVENT_MAX_AGE_HOURS = 48  # a merchant whose reporter batches daily
    EarningAction.objects.filter(code="review").update(max_per_period=None)
    assert record(api_key, "yesterday", at=now - timedelta(hours=25))["points"] == 25


@pytest.mark.parametrize(
    "at", ["2026-05-01T12:00:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-14:00", "1970-01-01T00:00:00Z"]
)
def test_occurred_at_without_a_time_zone_or_at_the_ends_of_time_is_a_field_error(store, customers, api_key, at):
    body = gql(RECORD, {"action": "review", "customer": ADA, "key": "k", "at": at}, token=api_key)
    assert body["data"]["recordEvent"]["errors"][0]["field"] == "occurredAt", body
    assert not EarningEvent.objects.exists()


def test_the_cap_counts_events_by_when_they_were_received_not_when_they_claim_to_have_happened(
    store, customers, api_key
):
    """Events stored before the bound existed (or with any occurredAt) still count in the period they arrived."""
    assert record(api_key, "first")["points"] == 25
    assert record(api_key, "second")["points"] == 25
    EarningEvent.objects.update(occurred_at=timezone.now() - timedelta(days=365))  # as a backdating reporter left them
    third = record(api_key, "third")
    assert third["points"] is None
    assert third["errors"][0]["code"] == "LIMIT_REACHED"
    # ...and an event received longer ago than the period no longer counts.
    EarningEvent.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert record(api_key, "fourth")["points"] == 25


# -- (b) only customers Saleor knows are enrolled -----------------------------------------------------------


def test_a_customer_id_saleor_does_not_know_is_refused_and_nobody_is_enrolled(store, customers, api_key):
    unknown = global_id("User", 999)
    result = record(api_key, "k1", customer=unknown)
    assert result["points"] is None
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("customerId", "NOT_FOUND")]
    assert not Member.objects.exists()
    assert not Transfer.objects.exists()
    assert not EarningEvent.objects.exists()
    (call,) = store.saleor.calls_to("user")
    assert call.app_authenticated  # asked with the app token
    assert call.variables == {"id": unknown}


def test_a_known_customer_is_confirmed_once_then_enrolled_with_the_email_saleor_has(store, customers, api_key):
    assert record(api_key, "k1")["points"] == 25
    member = Member.objects.get(install=store.install, saleor_user_id=ADA)
    assert member.email == "ada@example.com"
    assert record(api_key, "k2")["points"] == 25
    assert len(store.saleor.calls_to("user")) == 1  # a member already: Saleor is not asked again


def test_an_existing_member_needs_no_saleor_round_trip(store, api_key):
    store.member(ADA)  # enrolled earlier (an order, CUSTOMER_CREATED)
    assert record(api_key, "k1")["points"] == 25
    assert store.saleor.calls_to("user") == []


def test_a_deactivated_customer_is_not_enrolled(store, customers, api_key):
    customers.users[ADA]["isActive"] = False
    result = record(api_key, "k1")
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("customerId", "NOT_FOUND")]
    assert not Member.objects.exists()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "customer_id",
    [
        "not-an-id",
        "7",
        _b64("Order:7"),
        _b64("User:"),
        _b64("User:abc"),
        _b64("User:-7"),
        _b64("User:0"),
        _b64("User:007"),  # an alias of User:7 would be a second member for the same customer
        _b64("User:7 "),
        _b64("User:٧"),  # a non-ASCII digit int() would accept
        "VXNlcjo3\n",
        "VXNlcjo3\x00",
        _b64("User:10").rstrip("="),
        _b64("user:7"),
        "x" * 10_000,
    ],
)
def test_ids_that_are_not_saleor_user_ids_are_refused_without_asking_saleor(store, customers, api_key, customer_id):
    body = gql(RECORD, {"action": "review", "customer": customer_id, "key": "k1"}, token=api_key)
    if "\x00" in customer_id:  # the API refuses NUL in any input before resolvers run
        assert body["errors"][0]["extensions"]["code"] == "INVALID"
    else:
        result = body["data"]["recordEvent"]
        assert result["points"] is None
        assert [(e["field"], e["code"]) for e in result["errors"]] == [("customerId", "INVALID")]
    with pytest.raises(EventRefused) as refused:  # and the domain refuses it whoever calls
        record_event(
            store.install, action_code="review", saleor_user_id=customer_id, idempotency_key="k2", occurred_at=None
        )
    assert (refused.value.field, refused.value.code) == ("customerId", "INVALID")
    assert not Member.objects.exists()
    assert store.saleor.calls_to("user") == []


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("idempotency_key", {"key\x00": "idempotencyKey", "key\ud800": "idempotencyKey", "k" * 201: "idempotencyKey"}),
        ("action_code", {"review\x00": "action", "review\ud800": "action", "r" * 65: "action"}),
    ],
)
def test_text_the_database_cannot_hold_is_refused_not_an_internal_error(store, customers, api_key, field, values):
    for value, error_field in values.items():
        arguments = {"action_code": "review", "saleor_user_id": ADA, "idempotency_key": "k", "occurred_at": None}
        with pytest.raises(EventRefused) as refused:
            record_event(store.install, **{**arguments, field: value})
        assert refused.value.field == error_field
    assert not EarningEvent.objects.exists()


def test_when_saleor_cannot_confirm_the_customer_nothing_is_enrolled(store, customers, api_key):
    store.saleor.fail_next("user", status=502)
    result = record(api_key, "k1")
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("customerId", "SALEOR_ERROR")]
    assert not Member.objects.exists()
    assert record(api_key, "k1")["points"] == 25  # the reporter's retry, with the same key, succeeds


def test_a_server_key_of_a_store_off_the_allow_list_authenticates_nothing(store, customers, api_key, settings):
    settings.ALLOWED_SALEOR_URLS = ["https://another-shop.example/graphql/"]
    body = gql(RECORD, {"action": "review", "customer": ADA, "key": "k-allow", "at": None}, token=api_key)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_TOKEN"]
