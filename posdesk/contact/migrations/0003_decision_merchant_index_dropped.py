"""The decision's merchant index goes: contact_decision_merchant_idx leads with the same column (one
index fewer written by every contact decision). Only `DROP INDEX` runs (posdesk.core.schema)."""

import django.db.models.deletion
from django.db import migrations, models

from posdesk.core.schema import foreign_key_index_drop


class Migration(migrations.Migration):

    dependencies = [
        ("contact", "0002_default_rules"),
        ("merchants", "0002_seed_hangzhou_districts"),
    ]

    operations = [
        foreign_key_index_drop("contact", "contactdecision", "merchant", models.ForeignKey(
            to="merchants.merchant", blank=True, null=True, db_index=False,
            on_delete=django.db.models.deletion.SET_NULL, related_name="+")),
    ]
