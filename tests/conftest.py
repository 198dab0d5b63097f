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

    from saleor_loyalty.saleor import installs, tokens

    installs._cache.clear()
    tokens.verified_tokens.clear()
    cache.clear()
    yield
    installs._cache.clear()
    tokens.verified_tokens.clear()


@pytest.fixture
def store(db):
    from tests.storefront import running_store

    with running_store() as running:
        yield running


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
