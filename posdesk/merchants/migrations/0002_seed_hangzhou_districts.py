from django.db import migrations

from posdesk.merchants.districts import HANGZHOU_DISTRICTS


def seed(apps, schema_editor):
    District = apps.get_model("merchants", "District")
    for code, name_zh, name_en, lat, lng in HANGZHOU_DISTRICTS:
        District.objects.update_or_create(
            code=code, defaults={"name_zh": name_zh, "name_en": name_en, "center_lat": lat, "center_lng": lng}
        )


def unseed(apps, schema_editor):
    District = apps.get_model("merchants", "District")
    District.objects.filter(code__in=[row[0] for row in HANGZHOU_DISTRICTS], merchants__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("merchants", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
