"""Earning actions and API keys on the staff API: define an action, issue a key shown once, revoke it; the key
then works for recordEvent, and stops working once revoked."""

import pytest

from saleor_loyalty.program.models import EarningAction, ServerApiKey, SettingsChange
from tests.storefront import gql
from tests.test_staff_program_settings import error_codes, staff_call

pytestmark = pytest.mark.django_db

SET_ACTION = """mutation($code: String!, $points: Int!, $cap: Int) {
  setEarningAction(code: $code, name: "Product review", points: $points, maxPerPeriod: $cap, periodDays: 30) {
    action { code name points maxPerPeriod isActive } errors { field code } } }"""
CREATE_KEY = (
    'mutation { createApiKey(name: "reviews service") { key apiKey { id name prefix revokedAt } errors { field } } }'
)
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } errors { field code } } }"
LIST = "query { earningActions { code points } apiKeys { name prefix revokedAt } }"
RECORD = """mutation { recordEvent(action: "review", customerId: "VXNlcjox", idempotencyKey: "r-1") {
  points errors { code } } }"""


def token(store, *permissions: str) -> str:
    return str(store.saleor.app_token_for_dashboard(list(permissions or ("MANAGE_DISCOUNTS",)), email="m@shop.example"))


def test_staff_define_an_action_issue_a_key_once_and_revoke_it(store):
    store.member()
    action = staff_call(SET_ACTION, token(store), {"code": "review", "points": 25, "cap": 2})["data"]
    assert action["setEarningAction"] == {
        "action": {"code": "review", "name": "Product review", "points": 25, "maxPerPeriod": 2, "isActive": True},
        "errors": [],
    }

    created = staff_call(CREATE_KEY, token(store))["data"]["createApiKey"]
    key = created["key"]
    assert key.startswith("lsk_") and created["apiKey"]["prefix"] == key[:10]
    assert key not in str(staff_call(LIST, token(store)))  # listed by prefix, never the key
    assert key not in str(list(SettingsChange.objects.values("before", "after", "subject")))
    assert gql(RECORD, token=key)["data"]["recordEvent"] == {"points": 25, "errors": []}

    revoked = staff_call(REVOKE_KEY, token(store), {"id": created["apiKey"]["id"]})["data"]["revokeApiKey"]
    assert revoked["errors"] == [] and revoked["apiKey"]["revokedAt"]
    assert [e["extensions"]["code"] for e in gql(RECORD, token=key)["errors"]] == ["INVALID_TOKEN"]
    subjects = sorted(SettingsChange.objects.values_list("subject", flat=True))
    assert subjects == [f"api_key:{key[:10]}", f"api_key:{key[:10]}", "earning_action:review"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"code": "Bad Code", "points": 5}, "code"),
        ({"code": "review", "points": 0}, "points"),
        ({"code": "review", "points": 5, "cap": 0}, "maxPerPeriod"),
    ],
)
def test_an_invalid_action_names_its_field_and_saves_nothing(store, variables, field):
    payload = staff_call(SET_ACTION, token(store), variables)["data"]["setEarningAction"]
    assert payload["action"] is None and [e["field"] for e in payload["errors"]] == [field]
    assert not EarningAction.objects.exists()


def test_keys_and_actions_need_manage_discounts(store):
    assert error_codes(staff_call(CREATE_KEY, token(store, "MANAGE_USERS"))) == ["PERMISSION_DENIED"]
    assert error_codes(staff_call(LIST, token(store, "MANAGE_ORDERS"))) == ["PERMISSION_DENIED"]
    assert not ServerApiKey.objects.exists()
