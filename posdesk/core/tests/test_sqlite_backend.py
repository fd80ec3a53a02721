"""The SQLite backend remembers each statement's rewrite to sqlite3's placeholders and answers
exactly what Django's own rewrite answers."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import SQLiteCursorWrapper as DjangoCursor
from hypothesis import given
from hypothesis import strategies as st

from posdesk.core.sqlite import base

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's backend")


def _django(query: str) -> str:
    return DjangoCursor.convert_query(None, query)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", [
    "SELECT 1",
    'SELECT "a" FROM "t" WHERE "b" = %s AND "c" IN (%s, %s)',
    "SELECT '100%%' || %s",
    "SELECT '%%s literal' WHERE x = %s",
    "INSERT INTO t (a) VALUES (%s) RETURNING id",
])
def test_the_rewrite_is_djangos(query):
    assert base.qmark(query) == _django(query)


@given(st.text(alphabet="%s? ab'", max_size=60))
def test_any_text_is_rewritten_as_django_rewrites_it(query):
    assert base.qmark(query) == _django(query)
    assert base._remembered_qmark(query) == _django(query)


def test_named_parameters_are_left_to_django():
    cursor = base.SQLiteCursorWrapper(sqlite3.connect(":memory:"))
    assert cursor.convert_query("SELECT %(a)s", param_names=["a"]) == "SELECT :a"


def test_long_statements_are_not_remembered():
    base._remembered_qmark.cache_clear()
    cursor = base.SQLiteCursorWrapper(sqlite3.connect(":memory:"))
    long_query = "SELECT " + ", ".join(["%s"] * 2000)
    assert cursor.convert_query(long_query) == _django(long_query)
    assert base._remembered_qmark.cache_info().currsize == 0
    cursor.convert_query("SELECT %s")
    cursor.convert_query("SELECT %s")
    assert base._remembered_qmark.cache_info().hits == 1


@pytest.mark.django_db
def test_the_embedded_default_runs_on_this_backend():
    assert type(connections["default"]).__module__ == "posdesk.core.sqlite.base"
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s || '%%'", ["50"])
        assert cursor.fetchone() == ("50%",)
