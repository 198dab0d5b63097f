"""The app's hottest statements as server-side prepared statements on PostgreSQL.

Django sends every query through psycopg's client-side binding, so PostgreSQL parses and plans each one afresh.
For a statement run thousands of times a minute with the same text — storing a webhook delivery, posting a ledger
transfer (a data-modifying CTE) — planning costs more than executing (docs/benchmarks.md). ``fetchone`` runs such
a statement through a server-side-binding cursor on Django's own connection (so inside the caller's
``transaction.atomic``), which psycopg prepares on the connection's fifth use: persistent connections gain, a
connection per request never pays the extra PREPARE round trip. ``DATABASE_PREPARED_STATEMENTS=false`` turns it
off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection


def fetchone(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Execute ``sql`` (``%s`` or ``%(name)s`` placeholders) and return its first row, or None."""
    if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
        connection.ensure_connection()
        connection.validate_no_broken_transaction()  # as Django's own cursors do inside a failed atomic block
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params)
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        result: tuple[Any, ...] | None = cursor.fetchone()
        return result
