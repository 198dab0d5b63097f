"""Backfill ``Member.first_order_bonus_order_id`` (issue #10) from the first-order bonus transfers already posted
(idempotency key ``first-order:<member id>``), so the settlement no longer looks the transfer up on every order."""

from django.db import migrations


def flag_first_order_bonuses(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    Transfer = apps.get_model("ledger", "Transfer")
    given = Transfer.objects.filter(idempotency_key__regex=r"^first-order:[0-9]+$").values_list(
        "idempotency_key", "order_id"
    )
    for key, order_id in given.iterator():
        Member.objects.filter(pk=int(key.split(":")[1])).update(first_order_bonus_order_id=order_id)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_settlement_flags"),
        ("ledger", "0005_leaner_indexes"),
        ("program", "0010_config_version"),
    ]

    operations = [migrations.RunPython(flag_first_order_bonuses, migrations.RunPython.noop)]
