"""The merchant connects the store's Stripe account through the staff API (rebate payouts and paid memberships use
it): keys are checked and stored encrypted, secrets never come back, and a refused key changes nothing."""

import pytest

from saleor_loyalty.payments.models import StripeAccount
from tests.test_staff_program_settings import DESCRIBED, dashboard_token, error_codes, staff_call

pytestmark = pytest.mark.django_db

SECRET = "sk_test_" + "a1B2c3D4" * 3
WEBHOOK_SECRET = "whsec_" + "Z9y8X7w6" * 3
PUBLISHABLE = "pk_test_" + "q1W2e3R4" * 3

CONNECT = """mutation Connect($input: StripeKeysInput!) {
  connectStripe(input: $input) {
    connection { mode publishableKey secretKeyEnding webhookUrl connectedAt }
    errors { field code message }
  }
}"""
READ = "{ stripeConnection { mode publishableKey secretKeyEnding webhookUrl } }"
DISCONNECT = "mutation { disconnectStripe { connection { mode } errors { field } } }"


def connect(store, **keys):
    values = {"secretKey": SECRET, "webhookSecret": WEBHOOK_SECRET, "publishableKey": PUBLISHABLE, **keys}
    body = staff_call(CONNECT, dashboard_token(store), {"input": values})
    assert "errors" not in body, body
    return body["data"]["connectStripe"]


def test_a_merchant_connects_stripe_and_sees_the_mode_and_webhook_url_never_a_secret(store):
    assert staff_call(READ, dashboard_token(store))["data"] == {"stripeConnection": None}
    result = connect(store)
    assert result["errors"] == []
    shown = result["connection"]
    assert (shown["mode"], shown["publishableKey"], shown["secretKeyEnding"]) == ("TEST", PUBLISHABLE, SECRET[-4:])
    account = StripeAccount.objects.get(install=store.install)
    assert shown["webhookUrl"].endswith(f"/stripe/webhooks/{account.webhook_token}/")
    assert SECRET not in account.encrypted_secret_key and WEBHOOK_SECRET not in account.encrypted_webhook_secret
    assert (account.secret_key, account.webhook_secret) == (SECRET, WEBHOOK_SECRET)
    read = staff_call(READ, dashboard_token(store))["data"]["stripeConnection"]
    assert SECRET not in str(read) and WEBHOOK_SECRET not in str(read)
    assert read["webhookUrl"] == shown["webhookUrl"]

    replaced = connect(store, secretKey="sk_test_" + "N0t4g41n" * 3)["connection"]  # new keys, same endpoint
    assert replaced["webhookUrl"] == shown["webhookUrl"] and replaced["secretKeyEnding"] == "g41n"


@pytest.mark.parametrize(
    ("keys", "field"),
    [
        ({"secretKey": "pk_test_" + "a1B2c3D4" * 3}, "secretKey"),
        ({"webhookSecret": "not-a-secret"}, "webhookSecret"),
        ({"publishableKey": "pk_live_" + "q1W2e3R4" * 3}, "publishableKey"),  # live beside test keys
    ],
)
def test_a_refused_key_is_named_and_nothing_is_stored(store, keys, field):
    result = connect(store, **keys)
    assert result["connection"] is None
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, "INVALID")]
    assert not StripeAccount.objects.filter(install=store.install).exists()


def test_keys_refused_together_are_each_named(store):
    result = connect(store, secretKey="pk_test_" + "a1B2c3D4" * 3, webhookSecret="not-a-secret")
    named = [(e["field"], e["code"]) for e in result["errors"]]
    assert named == [("secretKey", "INVALID"), ("webhookSecret", "INVALID")]
    assert not StripeAccount.objects.filter(install=store.install).exists()


def test_connecting_replacing_and_disconnecting_are_in_the_change_log_never_a_secret(store):
    token = dashboard_token(store)
    connect(store)
    connect(store)  # the same keys again: nothing changed, nothing recorded
    connect(store, secretKey="sk_test_" + "N0t4g41n" * 3, publishableKey="")
    staff_call(DISCONNECT, token)
    changes = [c for c in staff_call(DESCRIBED, token)["data"]["settingsChanges"] if c["subject"] == "stripe"]
    assert [c["title"] for c in changes] == ["Stripe account"] * 3
    disconnected, replaced, connected = changes  # newest first
    assert {v["label"]: (v["before"], v["after"]) for v in connected["values"]} == {
        "Connected": ("no", "yes"),
        "Mode": (None, "test"),
        "Publishable key": (None, PUBLISHABLE),
        "Secret key ending in": (None, SECRET[-4:]),
        "Webhook secret ending in": (None, WEBHOOK_SECRET[-4:]),
    }
    assert (
        {v["label"]: (v["before"], v["after"]) for v in replaced["values"]}
        == {
            "Publishable key": (PUBLISHABLE, None),  # removed
            "Secret key ending in": (SECRET[-4:], "g41n"),
        }
    )
    assert ("Connected", "yes", "no") in [(v["label"], v["before"], v["after"]) for v in disconnected["values"]]
    assert SECRET not in str(changes) and WEBHOOK_SECRET not in str(changes)


def test_disconnecting_forgets_the_keys(store):
    connect(store)
    body = staff_call(DISCONNECT, dashboard_token(store))
    assert body["data"]["disconnectStripe"] == {"connection": None, "errors": []}
    assert not StripeAccount.objects.filter(install=store.install).exists()


def test_stripe_needs_the_program_permission(store):
    token = dashboard_token(store, permissions=("MANAGE_USERS",))
    body = staff_call(CONNECT, token, {"input": {"secretKey": SECRET, "webhookSecret": WEBHOOK_SECRET}})
    assert error_codes(body) == ["PERMISSION_DENIED"] and not StripeAccount.objects.exists()
