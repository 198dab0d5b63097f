"""The lot movement's own ``transfer_id`` index dropped: ``lot_movement_unique`` (transfer, lot) starts with it (one
index write fewer per movement a redemption, clawback or expiry writes): see
``saleor_loyalty.core.migration_operations``."""

import django.db.models.deletion
from django.db import migrations, models

from saleor_loyalty.core.migration_operations import covered_fk_indexes_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('ledger', '0009_account_fillfactor'),
    ]

    operations = [
        covered_fk_indexes_dropped(
            'ledger_lot_movement',
            ['transfer_id'],
            [
                migrations.AlterField(
                    model_name='lotmovement',
                    name='transfer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='lot_movements', to='ledger.transfer'),
                ),
            ],
        ),
    ]
