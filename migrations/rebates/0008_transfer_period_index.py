"""An index of the ledger's rebate transfers by program and period (their memo), for the audit and the dashboard's
totals: they read one period's transfers instead of every transfer of the store (a scan that grew with the whole
ledger: seconds at a million shoppers). Partial — only transfers whose memo names a rebate period — so the points
ledger's postings write nothing more. Owned by the rebates app (the ledger does not know rebates' memos);
PostgreSQL only, ``CONCURRENTLY`` (writers are never blocked; the migration is then not atomic)."""

from typing import Any

from django.db import migrations

NAME = "rebate_transfer_period"
CREATE = (
    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} ON ledger_transfer "
    "(install_id, (memo -> 'program'), (memo -> 'period')) WHERE memo ? 'rebate_period'"
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("rebates", "0007_program_time_zone"),
        ("ledger", "0010_lot_movement_fk_index_covered"),
    ]

    operations = [migrations.RunPython(create, drop)]
