"""A store's Stripe account: keys checked by shape, stored encrypted, and the webhook URL that names it."""

import pytest
from django.db import connection

from saleor_loyalty import settings as app_settings
from saleor_loyalty.payments.actions import InvalidStripeKeys, connect_stripe, disconnect_stripe, webhook_url
from saleor_loyalty.payments.client import StripeNotConnected, stripe_client
from saleor_loyalty.payments.models import StripeAccount
from tests.factories import make_install
from tests.stripe_helpers import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, connected


def test_the_secret_key_and_webhook_secret_are_stored_encrypted(install):
    connected(install)

    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_secret_key, encrypted_webhook_secret FROM payments_stripe_account")
        stored_key, stored_secret = cursor.fetchone()
    assert SECRET_KEY not in stored_key and "4eC39HqLyjWDarjtT1zdp7dc" not in stored_key
    assert WEBHOOK_SECRET not in stored_secret and "test0123456789" not in stored_secret
    account = StripeAccount.objects.get(install=install)
    assert (account.secret_key, account.webhook_secret) == (SECRET_KEY, WEBHOOK_SECRET)
    assert account.publishable_key == PUBLISHABLE_KEY and account.livemode is False


def test_live_and_restricted_keys_are_accepted_and_set_the_mode(install):
    account = connect_stripe(install, "rk_live_51Habcdefgh12345678", "whsec_abcdefgh12345678", "pk_live_abcdefgh1234")
    assert account.livemode is True


@pytest.mark.parametrize(
    ("secret_key", "webhook_secret", "publishable_key", "field"),
    [
        ("pk_test_abcdefgh12345678", WEBHOOK_SECRET, "", "secret_key"),  # a publishable key as the secret
        ("sk_prod_abcdefgh12345678", WEBHOOK_SECRET, "", "secret_key"),
        ("sk_test_short", WEBHOOK_SECRET, "", "secret_key"),
        ("sk_test_abc def ghi jkl mno", WEBHOOK_SECRET, "", "secret_key"),
        ("", WEBHOOK_SECRET, "", "secret_key"),
        (SECRET_KEY, "", "", "webhook_secret"),
        (SECRET_KEY, SECRET_KEY, "", "webhook_secret"),
        (SECRET_KEY, WEBHOOK_SECRET, "sk_test_abcdefgh12345678", "publishable_key"),
        (SECRET_KEY, WEBHOOK_SECRET, "pk_live_abcdefgh12345678", "publishable_key"),  # modes differ
    ],
)
def test_keys_of_the_wrong_shape_or_mode_are_refused_and_nothing_is_stored(
    install, secret_key, webhook_secret, publishable_key, field
):
    with pytest.raises(InvalidStripeKeys) as refused:
        connect_stripe(install, secret_key, webhook_secret, publishable_key)
    assert refused.value.field == field and list(refused.value.errors) == [field]
    assert not StripeAccount.objects.exists()


def test_reconnecting_replaces_the_keys_but_keeps_the_webhook_url(install):
    first = connected(install)
    url = webhook_url(first)

    again = connect_stripe(install, "sk_test_anotherKey12345678", "whsec_anotherSecret123", "")

    assert again.pk == first.pk and webhook_url(again) == url
    assert again.secret_key == "sk_test_anotherKey12345678" and again.publishable_key == ""
    assert url.startswith("http://testserver/stripe/webhooks/") and len(first.webhook_token) >= 32


def test_each_store_gets_its_own_unguessable_webhook_url(install):
    tokens = {connected(install).webhook_token, connected(make_install()).webhook_token}
    assert len(tokens) == 2


def test_disconnecting_forgets_the_keys(install):
    connected(install)

    assert disconnect_stripe(install) is True
    assert disconnect_stripe(install) is False
    with pytest.raises(StripeNotConnected):
        stripe_client(install)


def test_production_refuses_a_stripe_api_base_that_is_not_https(monkeypatch):
    monkeypatch.setattr(app_settings, "STRIPE_API_BASE", "http://stripe.internal")
    assert any(p.startswith("STRIPE_API_BASE") for p in app_settings.production_problems())
    monkeypatch.setattr(app_settings, "STRIPE_API_BASE", "https://api.stripe.com")
    assert not any(p.startswith("STRIPE_API_BASE") for p in app_settings.production_problems())
