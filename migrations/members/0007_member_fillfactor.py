"""Members' pages keep room for their rows' updates (issue #10): see ``saleor_loyalty.core.migration_operations``."""

from django.db import migrations

from saleor_loyalty.core.migration_operations import fillfactor


class Migration(migrations.Migration):

    dependencies = [
        ('members', '0006_fk_indexes_covered'),
    ]

    operations = [fillfactor("members_member", 85)]
