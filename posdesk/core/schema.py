"""Schema changes that Django's own operations would make too expensively.

`AlterField(db_index=False)` on SQLite rebuilds the whole table (copy every row, recreate every
index): minutes at 1,000,000 tickets for what is one `DROP INDEX`. `foreign_key_index_drop` says the
same thing to Django's migration state and does only the `DROP INDEX` in the database (the index
found by introspection, so its generated name is never written down); going back creates it again."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.migrations.operations.base import Operation


def _single_column_indexes(schema_editor: Any, table: str, column: str) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name for name, info in constraints.items()
        if info["index"] and info["columns"] == [column] and not info["unique"] and not info["primary_key"]
        and not info.get("foreign_key")  # PostgreSQL lists the FK constraint itself separately
    ]


def foreign_key_index_drop(app_label: str, model_name: str, field_name: str, field: Any) -> Operation:
    """Migration operation: the foreign key `model_name.field_name` loses its own index (`field` is
    the new field, with `db_index=False`): a composite index already leads with its column, or no
    query reads by it."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        column = model._meta.get_field(field_name).column
        for name in _single_column_indexes(schema_editor, model._meta.db_table, column):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")

    def backwards(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model(app_label, model_name)
        old_field = model._meta.get_field(field_name)
        if _single_column_indexes(schema_editor, model._meta.db_table, old_field.column):
            return
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[old_field]))

    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model_name, name=field_name, field=field)],
        database_operations=[migrations.RunPython(forwards, backwards, elidable=False)],
    )


def sqlite_index_analysed(table: str, index: str) -> Operation:
    """Migration operation, after the one that creates `index`: where SQLite has statistics for
    `table` (sqlite_stat1, left by ANALYZE), give the new index its own. Without them the planner
    takes a new index for a near-unique one (at 1,000,000 tickets `district=…` sorted 170,000 rows:
    540 ms, tickets 0005). PostgreSQL keeps statistics per column: nothing to do there."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        connection = schema_editor.connection
        if connection.vendor != "sqlite":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return
            cursor.execute("SELECT 1 FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
            if cursor.fetchone() is not None:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(index)}")

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)
