"""The app's hottest statements as server-side prepared statements on PostgreSQL.

Django sends every query through psycopg's client-side binding, so PostgreSQL parses and plans each one afresh.
For a statement run thousands of times a minute with the same text — storing a webhook delivery, posting a ledger
transfer (a data-modifying CTE) — planning costs more than executing (docs/benchmarks.md). ``fetchone`` runs such
a statement through a server-side-binding cursor on Django's own connection (so inside the caller's
``transaction.atomic``), which psycopg prepares on the connection's fifth use: persistent connections gain, a
connection per request never pays the extra PREPARE round trip. ``DATABASE_PREPARED_STATEMENTS=false`` turns it
off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).

The same goes for the few fixed-shape reads a page runs on every view (the customer widget, ``myTier``): building
and compiling an ORM query costs ~0.5 ms of CPU per statement, several times what PostgreSQL spends answering it.
``fetchall`` runs such a read; ``Row`` turns its columns back into model instances exactly as the ORM would (the
column list comes from the model, and the backend's and field's converters are applied, so SQLite's strings become
datetimes and decimals). Write such SQL in portable form (``CAST``, no ``::``): the embedded default is SQLite.

``update_fields`` is ``save(update_fields=...)`` the same way, for the rows every event writes back (its inbox row,
its order's award). ``insert_new`` is ``create`` for a row a unique constraint may already hold (PostgreSQL): one
statement that inserts it, or tells that it exists, instead of an INSERT that ignores the conflict and a SELECT to
read the row back.
"""

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, Generic, TypeVar

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def _cursor(conn: BaseDatabaseWrapper) -> Any:
    # Where statements are being recorded or wrapped (DEBUG, assertNumQueries, ``execute_wrapper``), Django's own
    # cursor, which records them and calls the wrappers.
    observed = conn.queries_logged or conn.execute_wrappers
    prepared = settings.DATABASE_PREPARED_STATEMENTS and not observed
    if conn.vendor == "postgresql" and prepared:
        conn.ensure_connection()
        conn.validate_no_broken_transaction()  # as Django's own cursors do inside a failed atomic block
        return psycopg.Cursor(conn.connection)
    return conn.cursor()


# Each statement looks the connection up once: every attribute read through ``django.db.connection`` (a proxy)
# looks it up again in a thread- and task-local store, which cost more CPU than the statement's own Python.
def _connection() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]


def fetchone(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Execute ``sql`` (``%s`` or ``%(name)s`` placeholders) and return its first row, or None."""
    conn = _connection()
    with conn.wrap_database_errors, _cursor(conn) as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def execute(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> int:
    """Execute a statement that returns no rows (an UPDATE); the number of rows it touched."""
    conn = _connection()
    with conn.wrap_database_errors, _cursor(conn) as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def fetchall(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Execute ``sql`` and return every row."""
    conn = _connection()
    with conn.wrap_database_errors, _cursor(conn) as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


@lru_cache(maxsize=512)
def _conversion(field: "Field[Any, Any]", vendor: str) -> tuple[Any, tuple[Any, ...]]:
    """The column expression of ``field`` and what the ORM applies to its values read from a ``vendor`` database
    (usually nothing on PostgreSQL), worked out once per field (``convert`` runs per value on hot reads)."""
    column = field.get_col(field.model._meta.db_table)
    return column, tuple(connection.ops.get_db_converters(column) + column.get_db_converters(connection))


def convert(field: "Field[Any, Any]", value: Any) -> Any:
    """A value of (or aggregated from) ``field`` as the ORM would return it."""
    column, converters = _conversion(field, connection.vendor)
    for converter in converters:
        value = converter(value, column, connection)
    return value


class Row(Generic[M]):
    """A model's concrete columns in a hand-written SELECT: ``columns("m")`` for the select list, ``build(row, at)``
    for the instance read back from the row's values starting at index ``at`` (None when the columns are all
    NULL, as after a LEFT JOIN that found nothing)."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.width = len(self.fields)
        self._names = [field.attname for field in self.fields]
        self._converted: dict[str, list[tuple[int, Any, tuple[Any, ...]]]] = {}

    def columns(self, alias: str) -> str:
        return ", ".join(f'{alias}."{field.column}"' for field in self.fields)

    def _conversions(self) -> list[tuple[int, Any, tuple[Any, ...]]]:
        vendor = connection.vendor
        if vendor not in self._converted:
            self._converted[vendor] = [
                (i, *_conversion(field, vendor)) for i, field in enumerate(self.fields) if _conversion(field, vendor)[1]
            ]
        return self._converted[vendor]

    def build(self, row: Sequence[Any], at: int = 0) -> M | None:
        values = list(row[at : at + self.width])
        if all(value is None for value in values):
            return None
        for i, column, converters in self._conversions():
            for converter in converters:
                values[i] = converter(values[i], column, connection)
        return self.model.from_db(connection.alias, self._names, values)

    def each(self, rows: Sequence[Sequence[Any]], at: int = 0) -> Iterator[M]:
        for row in rows:
            built = self.build(row, at)
            if built is not None:
                yield built


def insert_new(obj: Model) -> bool:
    """INSERT ``obj`` unless a unique constraint holds its row already (``ON CONFLICT DO NOTHING``); True and
    ``obj`` saved, as ``create`` leaves it, when inserted. PostgreSQL only. A row this transaction inserted is its own
    until commit (a concurrent insert of the same key waits for it), so it needs no ``SELECT ... FOR UPDATE``."""
    conn = _connection()
    fields, sql = _insert_sql(type(obj))
    row = fetchone(sql, [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields])
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, conn.alias
    return True


@lru_cache(maxsize=64)
def _insert_sql(model: type[Model]) -> tuple[list["Field[Any, Any]"], str]:
    """The columns ``insert_new`` writes and its statement, worked out once per model."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = _connection().ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608 - constant names
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT DO NOTHING RETURNING {quote(str(meta.pk.column))}"
    )
    return fields, sql


def update_fields(obj: Model, names: Sequence[str]) -> int:
    """``obj.save(update_fields=names)`` as one prepared statement, without building an ORM query (an ``auto_now``
    field among ``names`` takes the current time, as ``save`` would). Returns the rows updated (0 or 1)."""
    conn = _connection()
    fields, sql = _update_sql(type(obj), tuple(names), conn.vendor)
    return execute(sql, [*(f.get_db_prep_save(f.pre_save(obj, False), conn) for f in fields), obj.pk])


@lru_cache(maxsize=256)
def _update_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[list["Field[Any, Any]"], str]:
    """The fields ``update_fields`` writes and its statement, worked out once per model, columns and database."""
    meta = model._meta
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in names]  # type: ignore[misc]
    quote = _connection().ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(str(meta.pk.column))} = %s"  # noqa: S608 - column names
    return fields, sql
