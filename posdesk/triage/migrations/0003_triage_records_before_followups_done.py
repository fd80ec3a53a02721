from django.db import migrations
from django.db.models import F


def mark_existing_done(apps, schema_editor):
    # records written before the follow-ups were tracked had theirs run (or lost) long ago: the
    # sweep must not send old tickets a self-service answer now
    TriageRecord = apps.get_model("triage", "TriageRecord")
    TriageRecord.objects.filter(followups_done_at__isnull=True).update(followups_done_at=F("triaged_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("triage", "0002_triage_record_followups_done"),
    ]

    operations = [
        migrations.RunPython(mark_existing_done, migrations.RunPython.noop),
    ]
