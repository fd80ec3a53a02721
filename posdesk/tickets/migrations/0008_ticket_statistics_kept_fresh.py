"""PostgreSQL plans the queue's filters by the statistics ANALYZE leaves, and autovacuum refreshes
them only after 10 % of a table changed: 100,000 tickets at a million. After a burst of 80,000 new
reports (an outage, a benchmark) the planner still believed a district had 550 new P1 tickets where
it had 11,000. The tickets table is re-analysed after 1 % of it changed. (Fresh statistics alone
did not make those lists fast — the queue's page query did: tickets/selectors.py `ticket_queue`.)
SQLite has no autovacuum: nothing to do there."""

from django.db import migrations

TABLE = "tickets_ticket"


def _set(apps, schema_editor, value: str | None) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    if value is None:
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (autovacuum_analyze_scale_factor)")
    else:
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (autovacuum_analyze_scale_factor = {value})")


def forwards(apps, schema_editor) -> None:
    _set(apps, schema_editor, "0.01")


def backwards(apps, schema_editor) -> None:
    _set(apps, schema_editor, None)


class Migration(migrations.Migration):

    dependencies = [("tickets", "0007_indexes_of_set_columns_only")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
