"""A migration that replaces an index on a table SQLite has analysed analyses the new index too:
without statistics the planner takes it for a near-unique index and sorts whole districts."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps statistics per index"),
]

migration = importlib.import_module("posdesk.tickets.migrations.0005_district_index_carries_priority")


class _Editor:
    connection = connection


def _statistics_rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE idx = 'ticket_district_idx'")
        return cursor.fetchone()[0]


def test_the_new_index_is_analysed_where_the_table_was(open_ticket):
    open_ticket()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE idx = 'ticket_district_idx'")
    assert _statistics_rows() == 0

    migration.analyze_the_new_index(None, _Editor())

    assert _statistics_rows() == 1


def test_a_table_never_analysed_is_left_so(open_ticket):
    open_ticket()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE merchants_district")  # the statistics table exists, without the tickets
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets_ticket'")

    migration.analyze_the_new_index(None, _Editor())

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'tickets_ticket'")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'merchants_district'")
        assert cursor.fetchone()[0] > 0


def test_the_assignee_open_index_of_migration_0009_is_analysed_where_the_table_was(world, open_ticket):
    """`core.schema.sqlite_index_analysed`, as tickets 0009 runs it for its partial index."""
    from posdesk.core.schema import sqlite_index_analysed
    from posdesk.tickets.services import ticket_assign

    ticket_assign(ticket=open_ticket(), actor=world.agent, assignee=world.agent2, team=world.team)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE idx = 'ticket_assignee_open_idx'")

    sqlite_index_analysed("tickets_ticket", "ticket_assignee_open_idx").code(None, _Editor())

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE idx = 'ticket_assignee_open_idx'")
        assert cursor.fetchone()[0] == 1
