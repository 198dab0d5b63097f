"""The foreign keys' own indexes dropped where another index starts with the column (issue #10: fewer index
writes per order): see ``saleor_loyalty.core.migration_operations``."""

import django.db.models.deletion
from django.db import migrations, models

from saleor_loyalty.core.migration_operations import covered_fk_indexes_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('installs', '0002_subscription_audit'),
        ('ledger', '0007_partial_transfer_indexes'),
    ]

    operations = [
        covered_fk_indexes_dropped(
            'ledger_account',
            ['install_id'],
            [
                migrations.AlterField(
                    model_name='account',
                    name='install',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='accounts', to='installs.install'),
                ),
            ],
        ),
    ]
