"""Operational endpoints: ``/healthz`` (database reachable and migrated, broker reachable) and ``/metrics``."""

import hmac
import logging
import os

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from saleor_loyalty.celery_app import app

logger = logging.getLogger(__name__)


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


_migrations_applied = False


class CheckFailed(Exception):
    """A failed check whose message is ours, safe to show on the public /healthz."""


def pending_migrations() -> list[str]:
    """Migrations not applied to the database (an app running on an old schema stores webhooks it can't process)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def _check_migrations() -> str:
    global _migrations_applied  # noqa: PLW0603 - once applied, they stay applied for this process
    if _migrations_applied:
        return "ok"
    pending = pending_migrations()
    if pending:
        raise CheckFailed(f"{len(pending)} unapplied migrations")
    _migrations_applied = True
    return "ok"


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "eager"
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    healthy = True
    for name, check in (("database", _check_database), ("migrations", _check_migrations), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except CheckFailed as exc:
            checks[name] = f"error: {exc}"
            healthy = False
        except Exception as exc:
            # /healthz is public: the exception's text (hosts, ports, credentials in a URL) goes to the log only
            logger.warning("health check failed", extra={"data": {"check": name, "error": str(exc)[:500]}})
            checks[name] = f"error: {type(exc).__name__}"
            healthy = False
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; with METRICS_TOKEN set, only for a scraper that sends it as a bearer token."""
    expected = settings.METRICS_TOKEN
    if expected:
        given = request.META.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return HttpResponse("metrics need the METRICS_TOKEN bearer token\n", status=401, content_type="text/plain")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
