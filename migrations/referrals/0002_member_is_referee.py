"""Backfill ``Member.is_referee`` (issue #10): every referee, and every member a referee guest was merged into."""

from django.db import migrations


def flag_referees(apps, schema_editor):
    Member = apps.get_model("members", "Member")
    Referral = apps.get_model("referrals", "Referral")
    referee_ids = list(Referral.objects.values_list("referee_id", flat=True))
    Member.objects.filter(pk__in=referee_ids).update(is_referee=True)
    merged_into = Member.objects.filter(pk__in=referee_ids, merged_into__isnull=False).values_list("merged_into_id")
    Member.objects.filter(pk__in=list(merged_into)).update(is_referee=True)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0005_settlement_flags"),
        ("referrals", "0001_initial"),
    ]

    operations = [migrations.RunPython(flag_referees, migrations.RunPython.noop)]
