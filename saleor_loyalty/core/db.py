"""The app's hottest statements as server-side prepared statements on PostgreSQL.

Django sends every query through psycopg's client-side binding, so PostgreSQL parses and plans each one afresh.
For a statement run thousands of times a minute with the same text — storing a webhook delivery, posting a ledger
transfer (a data-modifying CTE) — planning costs more than executing (docs/benchmarks.md). ``fetchone`` runs such
a statement through a server-side-binding cursor on Django's own connection (so inside the caller's
``transaction.atomic``), which psycopg prepares on the connection's fifth use: persistent connections gain, a
connection per request never pays the extra PREPARE round trip. ``DATABASE_PREPARED_STATEMENTS=false`` turns it
off behind a pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).

``fetch_together`` sends several reads in one round trip, for a caller that knows what it will need before it
sees the first answer (an order's award, its shopper's row and the shopper's accounts).

The same goes for the few fixed-shape reads a page runs on every view (the customer widget, ``myTier``): building
and compiling an ORM query costs ~0.5 ms of CPU per statement, several times what PostgreSQL spends answering it.
``fetchall`` runs such a read; ``Row`` turns its columns back into model instances exactly as the ORM would (the
column list comes from the model, and the backend's and field's converters are applied, so SQLite's strings become
datetimes and decimals). Write such SQL in portable form (``CAST``, no ``::``): the embedded default is SQLite.

``update_fields`` is ``save(update_fields=...)`` the same way, for the rows every event writes back (its inbox row,
its order's award). ``insert_new`` is ``create`` for a row a unique constraint may already hold (PostgreSQL): one
statement that inserts it, or tells that it exists, instead of an INSERT that ignores the conflict and a SELECT to
read the row back.

``writes_behind`` sends the writes whose answer nobody waits for — ``execute_later`` and ``update_fields_later``: an
event's award, its member's totals, its order's fingerprints — together with the next statement that needs an
answer, in one round trip (psycopg's pipeline mode), instead of one round trip each. The database sees the same
statements in the same order (anything else sent on the connection first sends what is queued), only their errors
come later: with that statement, or when the block ends. So defer only a write that nothing in the block expects to
fail on its own.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, TypeVar

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


Params = Sequence[Any] | Mapping[str, Any]
_QUEUE = "_loyalty_writes_behind"  # the connection's queue of deferred writes, while ``writes_behind`` runs


def _observed(conn: BaseDatabaseWrapper) -> bool:
    """Statements are being recorded or wrapped (DEBUG, assertNumQueries, ``execute_wrapper``), other than by
    ``writes_behind`` itself: they go through Django's own cursor, which records them and calls the wrappers."""
    return bool(conn.queries_logged or any(wrapper is not _send_queued_first for wrapper in conn.execute_wrappers))


def _direct(conn: BaseDatabaseWrapper) -> bool:
    """Statements go to psycopg directly, prepared (PostgreSQL, not turned off, nobody watching)."""
    return conn.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS and not _observed(conn)


def _cursor(conn: BaseDatabaseWrapper) -> Any:
    if _direct(conn):
        conn.ensure_connection()
        conn.validate_no_broken_transaction()  # as Django's own cursors do inside a failed atomic block
        return psycopg.Cursor(conn.connection)
    return conn.cursor()


# Each statement looks the connection up once: every attribute read through ``django.db.connection`` (a proxy)
# looks it up again in a thread- and task-local store, which cost more CPU than the statement's own Python.
def _connection() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]


def _run(cursor: Any, conn: BaseDatabaseWrapper, sql: str, params: Params) -> None:
    """Execute ``sql`` on ``cursor``, after the writes queued on ``conn`` and in the same round trip."""
    if not getattr(conn, _QUEUE, None):
        cursor.execute(sql, params)
        return
    with conn.connection.pipeline():
        _send(conn)
        cursor.execute(sql, params)
    # leaving the pipeline waited for every answer: the queued writes' errors are raised here, before ``cursor``'s


def _send(conn: BaseDatabaseWrapper) -> None:
    """Send the writes queued on ``conn`` (none: nothing), inside the pipeline the caller opened."""
    queued: list[tuple[str, Params]] | None = getattr(conn, _QUEUE, None)
    if not queued:
        return
    with psycopg.Cursor(conn.connection) as writer:
        for sql, params in queued:
            writer.execute(sql, params)
    queued.clear()


def _flush(conn: BaseDatabaseWrapper) -> None:
    """The writes queued on ``conn``, sent now in one round trip (none: nothing)."""
    if getattr(conn, _QUEUE, None):
        with conn.wrap_database_errors, conn.connection.pipeline():
            _send(conn)


def fetchone(sql: str, params: Params) -> tuple[Any, ...] | None:
    """Execute ``sql`` (``%s`` or ``%(name)s`` placeholders) and return its first row, or None."""
    conn = _connection()
    with conn.wrap_database_errors, _cursor(conn) as cursor:
        _run(cursor, conn, sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row


def execute(sql: str, params: Params) -> int:
    """Execute a statement that returns no rows (an UPDATE); the number of rows it touched."""
    conn = _connection()
    with conn.wrap_database_errors, _cursor(conn) as cursor:
        _run(cursor, conn, sql, params)
        return int(cursor.rowcount)


def fetchall(sql: str, params: Params) -> list[tuple[Any, ...]]:
    """Execute ``sql`` and return every row."""
    conn = _connection()
    with conn.wrap_database_errors, _cursor(conn) as cursor:
        _run(cursor, conn, sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


@dataclass
class Query:
    """A read for ``fetch_together``: its statement, and its rows once run."""

    sql: str
    params: Params
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def fetch_together(*queries: Query) -> None:
    """Run ``queries`` in order, in one round trip on PostgreSQL (with the queued writes before them), and fill in
    each one's ``rows``; one at a time elsewhere. They run as they would one after another: a later one sees what an
    earlier one wrote, and waits for the same locks."""
    conn = _connection()
    if not _direct(conn) or len(queries) < 2:
        for query in queries:
            query.rows = fetchall(query.sql, query.params)
        return
    with conn.wrap_database_errors:
        cursors = [_cursor(conn) for _ in queries]
        try:
            with conn.connection.pipeline():
                _send(conn)
                for cursor, query in zip(cursors, queries, strict=True):
                    cursor.execute(query.sql, query.params)
            for cursor, query in zip(cursors, queries, strict=True):
                query.rows = cursor.fetchall()
        finally:
            for cursor in cursors:
                cursor.close()


def execute_later(sql: str, params: Params) -> None:
    """Execute a write whose answer nobody needs (see ``writes_behind``): queued while a ``writes_behind`` block
    runs on PostgreSQL, executed now anywhere else."""
    conn = _connection()
    queued: list[tuple[str, Params]] | None = getattr(conn, _QUEUE, None)
    if queued is None or not _direct(conn):
        execute(sql, params)
        return
    queued.append((sql, params))


def _send_queued_first(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    """A Django cursor's statement (the ORM's, a savepoint's) goes after the writes queued before it."""
    _flush(context["connection"])
    return execute(sql, params, many, context)


@contextmanager
def writes_behind() -> Iterator[None]:
    """Within the block, ``execute_later`` and ``update_fields_later`` queue their writes, sent with the next
    statement on the connection; what is left is sent when the block ends. Use it inside the transaction of the
    writes (``transaction.atomic``), around the whole of it: an error leaves the block with the queue dropped, as
    the transaction's rollback would drop those writes. Nested blocks share the outer one's queue."""
    conn = _connection()
    if conn.vendor != "postgresql" or getattr(conn, _QUEUE, None) is not None:
        yield
        return
    setattr(conn, _QUEUE, [])
    try:
        with conn.execute_wrapper(_send_queued_first):
            yield
            if conn.connection is not None:
                _flush(conn)
    finally:
        setattr(conn, _QUEUE, None)


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
    _, sql = _insert_sql(type(obj))
    row = fetchone(sql, insert_params(obj))
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, conn.alias
    return True


def insert_or_lock(obj: Model, conflict: Sequence[str]) -> Query:
    """A ``Query`` that inserts ``obj`` or, when a row with the same ``conflict`` columns (a unique constraint's)
    exists, locks that row as ``SELECT ... FOR UPDATE`` would (waiting for a writer that holds it): one statement,
    where ``insert_new`` needs a second to lock the row it found. Its answer: ``inserted_or_locked``. PostgreSQL."""
    conn = _connection()
    fields, sql = _insert_or_lock_sql(type(obj), tuple(conflict))
    return Query(sql, [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields])


def inserted_or_locked(model: type[M], query: Query) -> tuple[M, bool]:
    """The row of an ``insert_or_lock`` query, as the ORM would load it, and whether it was inserted."""
    row = query.rows[0]
    built = _row(model).build(row[:-1])
    assert built is not None
    return built, bool(row[-1])


@lru_cache(maxsize=64)
def _row(model: type[M]) -> "Row[M]":
    return Row(model)


@lru_cache(maxsize=64)
def _insert_or_lock_sql(model: type[Model], conflict: tuple[str, ...]) -> tuple[list["Field[Any, Any]"], str]:
    """``INSERT ... ON CONFLICT (...) DO UPDATE`` that sets a conflict column to the value it holds (the row does not
    change, but it is locked, and RETURNING returns it), with ``xmax = 0``: true for a row just inserted."""
    meta = model._meta
    fields, insert = insert_values(model)
    quote = _connection().ops.quote_name
    by_name = {f.name: f for f in meta.concrete_fields}
    columns = [quote(str(by_name[name].column)) for name in conflict]
    sql = (
        f"{insert} ON CONFLICT ({', '.join(columns)}) "
        f"DO UPDATE SET {columns[-1]} = EXCLUDED.{columns[-1]} RETURNING {_row(model).columns(quote(meta.db_table))}, "
        "(xmax = 0)"
    )
    return fields, sql


@lru_cache(maxsize=64)
def _insert_sql(model: type[Model]) -> tuple[list["Field[Any, Any]"], str]:
    """The columns ``insert_new`` writes and its statement, worked out once per model."""
    fields, insert = insert_values(model)
    return (
        fields,
        f"{insert} ON CONFLICT DO NOTHING RETURNING {_connection().ops.quote_name(str(model._meta.pk.column))}",
    )


@lru_cache(maxsize=64)
def insert_values(model: type[Model]) -> tuple[list["Field[Any, Any]"], str]:
    """``INSERT INTO table (columns) VALUES (%s, ...)`` of a new row of ``model`` (every column but its id), and the
    fields in that order: ``insert_params`` gives the values. For statements built around it."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = _connection().ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    return fields, f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608


def insert_params(obj: Model) -> list[Any]:
    """The values of ``insert_values(type(obj))`` for ``obj``, as ``save`` would write them."""
    conn = _connection()
    return [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in insert_values(type(obj))[0]]


def update_fields(obj: Model, names: Sequence[str]) -> int:
    """``obj.save(update_fields=names)`` as one prepared statement, without building an ORM query (an ``auto_now``
    field among ``names`` takes the current time, as ``save`` would). Returns the rows updated (0 or 1)."""
    sql, params = _update(obj, names)
    return execute(sql, params)


def update_fields_later(obj: Model, names: Sequence[str]) -> None:
    """``update_fields`` as a write nobody waits for (``execute_later``)."""
    sql, params = _update(obj, names)
    execute_later(sql, params)


def _update(obj: Model, names: Sequence[str]) -> tuple[str, list[Any]]:
    conn = _connection()
    fields, sql = _update_sql(type(obj), tuple(names), conn.vendor)
    return sql, [*(f.get_db_prep_save(f.pre_save(obj, False), conn) for f in fields), obj.pk]


@lru_cache(maxsize=256)
def _update_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[list["Field[Any, Any]"], str]:
    """The fields ``update_fields`` writes and its statement, worked out once per model, columns and database."""
    meta = model._meta
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in names]  # type: ignore[misc]
    quote = _connection().ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(str(meta.pk.column))} = %s"  # noqa: S608 - column names
    return fields, sql
