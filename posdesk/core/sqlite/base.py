"""Django's SQLite backend, with the one step it repeats on every statement done once per text.

Django's SQLite cursor rewrites every statement from the "format" style (`%s`) to sqlite3's
"qmark" style (`?`) with a look-behind regular expression, on every execute. posdesk sends the
same few hundred statement texts again and again: a callgrind profile of a ticket creation put
9 % of all its instructions in that rewrite (bench/RESULTS.md). The rewrite depends on the text
alone, so it is remembered — for texts up to a few kilobytes, in a bounded LRU cache; long texts
(bulk inserts with many values) are rewritten each time, as before."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3 import base

MAX_REMEMBERED_LENGTH = 4096


@lru_cache(maxsize=2048)
def _remembered_qmark(query: str) -> str:
    return qmark(query)


def qmark(query: str) -> str:
    """`%s` → `?` and `%%` → `%`, exactly as Django's SQLite cursor does."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is None and len(query) <= MAX_REMEMBERED_LENGTH:
            return _remembered_qmark(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name: str | None = None) -> Any:
        return self.connection.cursor(factory=SQLiteCursorWrapper)
