"""A migration that adds an index to a table SQLite has analysed analyses the new index too
(`core.schema.sqlite_index_analysed`): without statistics the planner takes it for a near-unique
index and sorts whole districts. Each test runs the operation the migration itself holds."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection, migrations

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps statistics per index"),
]

# (migration, the index it adds and analyses)
MIGRATIONS = [
    ("0005_district_index_carries_priority", "ticket_district_idx"),
    ("0009_assignee_open_index", "ticket_assignee_open_idx"),
]


class _Editor:
    connection = connection


def _analyse_as(migration_name: str) -> None:
    migration = importlib.import_module(f"posdesk.tickets.migrations.{migration_name}").Migration
    [operation] = [op for op in migration.operations if isinstance(op, migrations.RunPython)]
    operation.code(None, _Editor())


def _statistics_rows(index: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE idx = %s", [index])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("migration_name", "index"), MIGRATIONS)
def test_the_new_index_is_analysed_where_the_table_was(world, open_ticket, migration_name, index):
    from posdesk.tickets.services import ticket_assign

    # an assigned open ticket, so the partial index of 0009 has a row to count
    ticket_assign(ticket=open_ticket(), actor=world.agent, assignee=world.agent2, team=world.team)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE idx = %s", [index])
    assert _statistics_rows(index) == 0

    _analyse_as(migration_name)

    assert _statistics_rows(index) == 1


@pytest.mark.parametrize(("migration_name", "index"), MIGRATIONS)
def test_a_table_never_analysed_is_left_so(open_ticket, migration_name, index):
    open_ticket()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE merchants_district")  # the statistics table exists, without the tickets
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets_ticket'")

    _analyse_as(migration_name)

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tickets_ticket'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'merchants_district'")
        assert cursor.fetchone()[0] > 0
