"""PostgreSQL triggers that make transfers and lot movements append-only.

Corrections are new transfers, never edits: UPDATE and DELETE on these tables raise. (SQLite, the embedded
first-run database, gets no trigger; the code never updates these rows either.)
"""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION ledger_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transfer_immutable BEFORE UPDATE OR DELETE ON ledger_transfer
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER ledger_lot_movement_immutable BEFORE UPDATE OR DELETE ON ledger_lot_movement
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS ledger_transfer_immutable ON ledger_transfer;
DROP TRIGGER IF EXISTS ledger_lot_movement_immutable ON ledger_lot_movement;
DROP FUNCTION IF EXISTS ledger_forbid_change();
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORBID, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ALLOW, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
