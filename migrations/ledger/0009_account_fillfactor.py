"""Accounts' pages keep room for their balance updates (issue #10): see
``saleor_loyalty.core.migration_operations``."""

from django.db import migrations

from saleor_loyalty.core.migration_operations import fillfactor


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0008_fk_indexes_covered'),
    ]

    operations = [fillfactor("ledger_account", 80)]
