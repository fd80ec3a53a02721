"""The foreign keys whose column already leads a composite index carry no index of their own (every
index is written by every create), and the migration that dropped them goes back and forth on both
databases without rebuilding the table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

DROPPED = [
    ("tickets_ticket", "merchant_id"), ("tickets_ticket", "terminal_id"), ("tickets_ticket", "district_id"),
    ("tickets_ticket", "team_id"), ("tickets_ticket", "assignee_id"), ("tickets_ticket", "vendor_id"),
    ("tickets_ticket", "merged_into_id"), ("tickets_ticketevent", "ticket_id"), ("audit_auditentry", "actor_id"),
    ("contact_contactdecision", "merchant_id"),
]


def _full_single_column_indexes(table: str, column: str) -> list[str]:
    """Indexes on exactly this column that cover every row (a partial index is not counted)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
        names = [n for n, c in constraints.items()
                 if c["index"] and c["columns"] == [column] and not c["unique"] and not c["primary_key"]]
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%%WHERE%%'")
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%% WHERE %%'")
        partial = {row[0] for row in cursor.fetchall()}
    return [n for n in names if n not in partial]


def _leading(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [n for n, c in constraints.items() if c["index"] and c["columns"] and c["columns"][0] == column]


@pytest.mark.django_db
@pytest.mark.parametrize(("table", "column"), DROPPED)
def test_a_foreign_key_led_by_a_composite_index_has_no_index_of_its_own(table: str, column: str) -> None:
    assert _full_single_column_indexes(table, column) == []
    assert _leading(table, column), "something must still lead with the column"


@pytest.mark.django_db(transaction=True)
def test_the_index_migrations_go_back_and_forth() -> None:
    # given the schema as migrated
    targets = [("tickets", "0005_district_index_carries_priority"), ("audit", "0001_initial"),
               ("contact", "0002_default_rules")]
    executor = MigrationExecutor(connection)
    latest = [key for key in executor.loader.graph.leaf_nodes() if key[0] in {"tickets", "audit", "contact"}]
    try:
        # when the three migrations are unapplied
        executor.migrate(targets)
        # then each foreign key has its own index again
        for table, column in DROPPED:
            assert _full_single_column_indexes(table, column), (table, column)
        # and when they are applied again, the indexes are gone again
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        for table, column in DROPPED:
            assert _full_single_column_indexes(table, column) == [], (table, column)
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
