"""The actor's own index goes: audit_actor_idx leads with the same column (one index fewer written
by every audited change). Only `DROP INDEX` runs (posdesk.core.schema)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from posdesk.core.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        foreign_key_index_drop("audit", "auditentry", "actor", models.ForeignKey(
            to=settings.AUTH_USER_MODEL, blank=True, null=True, db_index=False,
            on_delete=django.db.models.deletion.SET_NULL, related_name="+")),
    ]
