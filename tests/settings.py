"""Test settings: PostgreSQL (the ledger's real database) and eager Celery unless a test says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/saleor_loyalty")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
# Production-shaped: no DEBUG, so these must be set (settings.production_problems). The contract harness's
# stores listen on loopback, which only SALEOR_ALLOWED_NETWORKS lets the app call without DEBUG.
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "HxZ6bq2lBzpaYNzJgXYgvSfNLJ8sKC6tS6vIhG2L2ls=")
os.environ.setdefault("ALLOWED_SALEOR_URLS", "*")
os.environ.setdefault("SALEOR_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
os.environ.pop("DEBUG", None)
os.environ.pop("METRICS_TOKEN", None)
os.environ.pop("EMAIL_URL", None)

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
