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
