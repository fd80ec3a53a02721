"""Install the default calendars, SLA policies and escalation rules (posdesk/slas/defaults.py)."""

from django.db import migrations

from posdesk.slas.defaults import CALENDARS, install_defaults


def create_defaults(apps, schema_editor):
    install_defaults(apps.get_model("slas", "BusinessCalendar"), apps.get_model("slas", "SlaPolicy"),
                     apps.get_model("slas", "EscalationRule"))


def remove_defaults(apps, schema_editor):
    apps.get_model("slas", "EscalationRule").objects.all().delete()
    apps.get_model("slas", "SlaPolicy").objects.all().delete()
    apps.get_model("slas", "BusinessCalendar").objects.filter(code__in=[c[0] for c in CALENDARS]).delete()


class Migration(migrations.Migration):
    dependencies = [("slas", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
