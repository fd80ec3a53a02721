"""The PostgreSQL backend's health check: a kept connection is checked without a round trip, and
one the server has ended is found unusable, closed and replaced — against the real server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connection, connections

from posdesk.core.postgresql.base import DatabaseWrapper

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def kept() -> Iterator[DatabaseWrapper]:
    """A second connection to the test database, as a worker keeps one between requests."""
    wrapper = connection.copy()
    wrapper.ensure_connection()
    wrapper.health_check_enabled = True  # as CONN_HEALTH_CHECKS (config/settings.py) sets it
    yield wrapper
    wrapper.close()


def _last_statement_of(pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def test_the_product_runs_on_this_backend():
    assert isinstance(connections["default"], DatabaseWrapper)


def test_a_healthy_kept_connection_is_usable_without_a_statement(kept):
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() AS before_the_check")
        pid = cursor.fetchone()[0]
    assert kept.is_usable()
    assert _last_statement_of(pid) == "SELECT pg_backend_pid() AS before_the_check"  # no SELECT 1 ran


def test_a_connection_the_server_ended_is_closed_and_replaced(kept):
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    deadline = time.monotonic() + 5
    while kept.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)  # the server's goodbye reaches the socket
    assert not kept.is_usable()
    # what Django does before a request's first statement: the dead connection is closed ...
    kept.health_check_done = False
    kept.close_if_health_check_failed()
    assert kept.connection is None
    # ... and the request's statement runs on a new one
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_closed_connection_is_not_usable(kept):
    kept.connection.close()
    assert not kept.is_usable()


def test_a_create_s_rows_written_together_are_converted_once():
    # the statement of a ticket create's rows (core.rows.rows_together) has more parameters than
    # psycopg remembers conversions for by default; posdesk's backend raises that limit above it
    from psycopg import _queries
    from psycopg.adapt import Transformer

    from posdesk.core import rows
    from posdesk.core.models import IdempotencyRecord
    from posdesk.core.postgresql import base
    from posdesk.tickets.services import TICKET_OPEN_ROWS

    parameters = sum(len(rows._statement("default", model, with_key=True)[1])
                     for model in (*TICKET_OPEN_ROWS, IdempotencyRecord))
    assert 50 < parameters <= base.CONVERTED_PARAMS_REMEMBERED == _queries.MAX_CACHED_STATEMENT_PARAMS
    connection.ensure_connection()
    texts = [rows._statement("default", model, with_key=True)[0] for model in (*TICKET_OPEN_ROWS, IdempotencyRecord)]
    sql = "WITH " + ", ".join(f"w{n} AS ({t})" for n, t in enumerate(texts[:-1])) + " " + texts[-1]
    before = _queries._query2pg.cache_info()
    for _ in range(2):  # as a cursor converts a statement before it sends it
        _queries.PostgresQuery(Transformer(connection.connection)).convert(sql, [None] * parameters)
    assert _queries._query2pg.cache_info().hits == before.hits + 1  # converted once, then remembered
