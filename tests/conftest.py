import os

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _require_postgres_in_ci(request: pytest.FixtureRequest) -> None:
    """Under CI the database tests must really run on PostgreSQL, never silently elsewhere."""
    if os.environ.get("CI") and "django_db_setup" in request.fixturenames:
        assert connection.vendor == "postgresql"


@pytest.fixture
def install(db):
    from tests.factories import make_install

    return make_install()


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test starts with no memoised installs or verified tokens and an empty cache (they would outlive
    rolled-back rows)."""
    from django.core.cache import cache

    from saleor_loyalty.installs import lookup
    from saleor_loyalty.saleor import tokens

    lookup._cache.clear()
    tokens.verified_tokens.clear()
    cache.clear()
    yield
    lookup._cache.clear()
    tokens.verified_tokens.clear()


@pytest.fixture
def store(db):
    from tests.storefront import running_store

    with running_store() as running:
        yield running


@pytest.fixture(scope="session")
def stripe_server(tmp_path_factory):
    """The fake Stripe (localstripe + stand-in, tests/stripe_fake.py) for the session. Under CI it must run."""
    from tests.stripe_server import StripeServerUnavailable, start_stripe_server

    try:
        server = start_stripe_server(tmp_path_factory.mktemp("stripe"))
    except StripeServerUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{exc} (CI must run the Stripe tests)")
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def stripe_api(stripe_server, settings):
    """The app's Stripe calls go to the fake Stripe, with short timeouts."""
    settings.STRIPE_API_BASE = stripe_server.url
    settings.STRIPE_CONNECT_TIMEOUT = 2.0
    settings.STRIPE_READ_TIMEOUT = 5.0
    return stripe_server


@pytest.fixture(scope="session")
def private_postgres():
    """A PostgreSQL server of the test session's own (tests/pg_cluster.py), for tests that restart the server: the
    shared one is never restarted. Stopped and deleted at the end of the session, whatever happened. Without the
    binaries, or when it does not start, the tests that need it skip — under CI they fail instead."""
    from tests.pg_cluster import ClusterUnavailable, PrivateCluster

    cluster = PrivateCluster()
    try:
        try:
            cluster.start()
        except ClusterUnavailable as exc:
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the PostgreSQL restart tests, but no private server: {exc}")
            pytest.skip(f"no private PostgreSQL server: {exc}")
        yield cluster
    finally:
        cluster.destroy()
