"""Install the default contact rules: quiet hours 21:00–08:00, a one-hour reply window and the caps of
contact/decision.py (marketing ≤ 2 / 30 days, survey ≤ 1 / 14 days, follow-up calls ≤ 2 per ticket per day)."""

from datetime import timedelta

from django.db import migrations

from posdesk.contact.decision import ContactRules


def create_defaults(apps, schema_editor):
    rules = ContactRules()
    RuleSet, Cap = apps.get_model("contact", "ContactRuleSet"), apps.get_model("contact", "ContactCap")
    if not RuleSet.objects.exists():
        RuleSet.objects.create(quiet_start=rules.quiet_start, quiet_end=rules.quiet_end,
                               reply_window_minutes=int(rules.reply_window / timedelta(minutes=1)))
    if not Cap.objects.exists():
        Cap.objects.bulk_create([
            Cap(purpose=cap.purpose.value, channel=cap.channel, count=cap.count,
                window_hours=int(cap.window / timedelta(hours=1)), per_ticket=cap.per_ticket)
            for cap in rules.caps
        ])


def remove_defaults(apps, schema_editor):
    apps.get_model("contact", "ContactCap").objects.all().delete()
    apps.get_model("contact", "ContactRuleSet").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("contact", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
