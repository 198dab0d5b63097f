"""The rebate period's own ``install_id``, ``program_id`` and ``member_id`` indexes dropped (``rebate_period_by_period``,
``rebate_period_unique`` and ``rebate_period_member`` start with them), and the rebate order's ``install_id``
(``rebate_order_unique``): every accrual and every settled period updates its period, and an update that cannot stay
on its page writes every index (issue #11's settlement at scale): see ``saleor_loyalty.core.migration_operations``."""

import django.db.models.deletion
from django.db import migrations, models

from saleor_loyalty.core.migration_operations import covered_fk_indexes_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('installs', '0002_subscription_audit'),
        ('members', '0007_member_fillfactor'),
        ('rebates', '0005_payout_leaner_indexes'),
    ]

    operations = [
        covered_fk_indexes_dropped(
            'rebates_order',
            ['install_id'],
            [
                migrations.AlterField(
                    model_name='rebateorder',
                    name='install',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='installs.install'),
                ),
            ],
        ),
        covered_fk_indexes_dropped(
            'rebates_period',
            ['install_id', 'program_id', 'member_id'],
            [
                migrations.AlterField(
                    model_name='rebateperiod',
                    name='install',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='installs.install'),
                ),
                migrations.AlterField(
                    model_name='rebateperiod',
                    name='member',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='rebate_periods', to='members.member'),
                ),
                migrations.AlterField(
                    model_name='rebateperiod',
                    name='program',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='periods', to='rebates.rebateprogram'),
                ),
            ],
        ),
    ]
