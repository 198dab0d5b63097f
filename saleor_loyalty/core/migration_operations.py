"""Operations the migrations share.

``covered_fk_indexes_dropped``: a foreign key's own index (``ForeignKey(db_index=True)``, Django's default) is
dropped where another index starts with the same column, so every insert and every non-HOT update of the hot rows
(an order's award, a member, their accounts, an order's fingerprints) writes one index fewer and lookups by the
column still have an index. By name, ``CONCURRENTLY`` on PostgreSQL (writers are never blocked, however big the
table; the migration is then not atomic), ``IF EXISTS`` so a database where it is already gone migrates too.
``AlterField(db_index=False)`` is applied to the migration state only: on the database it would look the index
up by its columns and could drop another single-column index too.
"""

from collections.abc import Sequence
from typing import Any

from django.db import migrations


def covered_fk_indexes_dropped(
    table: str, columns: Sequence[str], state_operations: Sequence[migrations.AlterField]
) -> migrations.SeparateDatabaseAndState:
    """Drop the own indexes of ``table``'s foreign key ``columns``; ``state_operations``: their ``AlterField``s."""

    def names(schema_editor: Any) -> list[str]:
        return [schema_editor.quote_name(schema_editor._create_index_name(table, [c], suffix="")) for c in columns]

    def concurrently(schema_editor: Any) -> str:
        return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""

    def drop(apps: Any, schema_editor: Any) -> None:
        for name in names(schema_editor):
            schema_editor.execute(f"DROP INDEX{concurrently(schema_editor)} IF EXISTS {name}")

    def create(apps: Any, schema_editor: Any) -> None:
        quoted_table = schema_editor.quote_name(table)
        for name, column in zip(names(schema_editor), columns, strict=True):
            on = f"{quoted_table} ({schema_editor.quote_name(column)})"
            schema_editor.execute(f"CREATE INDEX{concurrently(schema_editor)} IF NOT EXISTS {name} ON {on}")

    return migrations.SeparateDatabaseAndState(
        state_operations=list(state_operations),
        database_operations=[migrations.RunPython(drop, create)],
    )


def fillfactor(table: str, percent: int) -> migrations.RunPython:
    """Leave ``100 - percent`` % of each new page of ``table`` free (PostgreSQL; nothing elsewhere), so an update of a
    row that changes no indexed column can stay on its page (HOT: no index entry written). For rows every order
    updates soon after they were inserted: a member's totals, an account's balances. Pages written before keep their
    layout until rewritten (``VACUUM FULL`` or ``pg_repack``)."""

    def set_to(value: int | None) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            quoted = schema_editor.quote_name(table)
            option = f"SET (fillfactor = {value})" if value else "RESET (fillfactor)"
            schema_editor.execute(f"ALTER TABLE {quoted} {option}")

        return run

    return migrations.RunPython(set_to(percent), set_to(None))
