"""A create writes fewer indexes: the team and assignee indexes hold only the tickets that have one
(a new ticket has neither), and created-by and SLA policy lose their own indexes (nothing reads
tickets by them). Only `DROP INDEX` / `CREATE INDEX` run: no table rebuild (posdesk.core.schema)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from posdesk.core.schema import foreign_key_index_drop


def _partial(fields: list[str], name: str, column: str) -> migrations.AddIndex:
    return migrations.AddIndex(
        model_name="ticket",
        index=models.Index(condition=models.Q((f"{column}__isnull", False)), fields=fields, name=name),
    )


class Migration(migrations.Migration):

    dependencies = [
        ("slas", "0001_initial"),
        ("tickets", "0006_foreign_key_indexes_dropped"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="ticket", name="ticket_team_idx"),
        migrations.RemoveIndex(model_name="ticket", name="ticket_assignee_idx"),
        migrations.RemoveIndex(model_name="ticket", name="ticket_assignee_created_idx"),
        _partial(["team", "status", "-created_at"], "ticket_team_idx", "team"),
        _partial(["assignee", "status", "-created_at"], "ticket_assignee_idx", "assignee"),
        _partial(["assignee", "-created_at", "-id"], "ticket_assignee_created_idx", "assignee"),
        foreign_key_index_drop("tickets", "ticket", "created_by", models.ForeignKey(
            to=settings.AUTH_USER_MODEL, blank=True, null=True, db_index=False,
            on_delete=django.db.models.deletion.SET_NULL, related_name="+")),
        foreign_key_index_drop("tickets", "ticket", "sla_policy", models.ForeignKey(
            to="slas.slapolicy", blank=True, null=True, db_index=False,
            on_delete=django.db.models.deletion.SET_NULL, related_name="+", verbose_name="SLA policy")),
    ]
