"""Test settings: PostgreSQL (the ledger's real database) and eager Celery unless a test says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saleor_loyalty")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("ALLOWED_SALEOR_URLS", "")

from saleor_loyalty.settings import *  # noqa: F403

CELERY_BROKER_URL = ""
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
APP_URL = "http://testserver"
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Separate test databases for parallel runs on one machine (e.g. TEST_DB_NAME=test_loyalty_2).
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DB_NAME", "test_saleor_loyalty")}  # noqa: F405
STATIC_URL = "/static/"  # lets pytest-django's live_server start
