"""Partial indexes on ``ledger_transfer``'s pending, reverses, lot and order columns (IS NOT NULL): most transfers
have no pending or reversed transfer, and a rebate settlement's have neither lot nor order, so each such transfer
no longer pays an index entry per NULL column (issue #11's settlement benchmark).

On PostgreSQL the new indexes are built ``CONCURRENTLY`` (writers are never blocked, however big the ledger; the
migration is therefore not atomic) before the old ones are dropped, so lookups by these columns always have an
index. Elsewhere (the embedded SQLite) plain ``CREATE INDEX``."""

import django.db.models.deletion
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)


_TABLE = "ledger_transfer"
_FK_COLUMNS = ("lot_id", "pending_id", "reverses_id")


def _fk_index_name(schema_editor, column):
    """The name Django gave the foreign key's own index (``ForeignKey(db_index=True)``)."""
    return schema_editor._create_index_name(_TABLE, [column], suffix="")


def drop_fk_indexes(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for column in _FK_COLUMNS:
        name = schema_editor.quote_name(_fk_index_name(schema_editor, column))
        schema_editor.execute(f"DROP INDEX{concurrently} IF EXISTS {name}")


def create_fk_indexes(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for column in _FK_COLUMNS:
        name = schema_editor.quote_name(_fk_index_name(schema_editor, column))
        table, quoted = schema_editor.quote_name(_TABLE), schema_editor.quote_name(column)
        schema_editor.execute(f"CREATE INDEX{concurrently} IF NOT EXISTS {name} ON {table} ({quoted})")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('installs', '0002_subscription_audit'),
        ('ledger', '0006_rebate_money_accounts'),
        ('members', '0005_settlement_flags'),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='transfer',
            index=models.Index(condition=models.Q(('order_id__isnull', False)), fields=['install', 'order_id'], name='transfer_of_order'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='transfer',
            index=models.Index(condition=models.Q(('pending__isnull', False)), fields=['pending'], name='transfer_pending'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='transfer',
            index=models.Index(condition=models.Q(('reverses__isnull', False)), fields=['reverses'], name='transfer_reverses'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='transfer',
            index=models.Index(condition=models.Q(('lot__isnull', False)), fields=['lot'], name='transfer_lot'),
        ),
        migrations.RemoveIndex(
            model_name='transfer',
            name='transfer_order',
        ),
        # The FKs' own indexes are dropped by name: AlterField(db_index=False) would drop every index on the column
        # it does not know as a model index, ``transfer_pending_resolved_once`` (a constraint) included.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='transfer',
                    name='lot',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='ledger.lot'),
                ),
                migrations.AlterField(
                    model_name='transfer',
                    name='pending',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='resolutions', to='ledger.transfer'),
                ),
                migrations.AlterField(
                    model_name='transfer',
                    name='reverses',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversals', to='ledger.transfer'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_fk_indexes, create_fk_indexes)],
        ),
    ]
