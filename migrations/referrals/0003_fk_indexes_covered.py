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
        ('referrals', '0002_member_is_referee'),
    ]

    operations = [
        covered_fk_indexes_dropped(
            'referrals_fingerprint',
            ['install_id', 'member_id'],
            [
                migrations.AlterField(
                    model_name='fingerprint',
                    name='install',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='installs.install'),
                ),
                migrations.AlterField(
                    model_name='fingerprint',
                    name='member',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.member'),
                ),
            ],
        ),
    ]
