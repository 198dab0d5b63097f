"""The foreign keys' own indexes dropped where another index starts with the column (issue #10: fewer index
writes per order): see ``saleor_loyalty.core.migration_operations``."""

import django.db.models.deletion
from django.db import migrations, models

from saleor_loyalty.core.migration_operations import covered_fk_indexes_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('installs', '0002_subscription_audit'),
        ('members', '0006_fk_indexes_covered'),
        ('program', '0011_first_order_bonus_flag'),
    ]

    operations = [
        covered_fk_indexes_dropped(
            'program_order_award',
            ['install_id', 'member_id'],
            [
                migrations.AlterField(
                    model_name='orderaward',
                    name='install',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='installs.install'),
                ),
                migrations.AlterField(
                    model_name='orderaward',
                    name='member',
                    field=models.ForeignKey(db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='order_awards', to='members.member'),
                ),
            ],
        ),
    ]
