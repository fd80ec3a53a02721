"""Many rows at once: the writes and reads of a broadcast (thousands of merchants contacted in one
go, contact.services.contact_request_many) without Django's per-value work.

`rows_insert_many(objs)` writes unsaved objects as `bulk_create` does — the same columns, the same
`pre_save` (`auto_now_add`; defaults are already on the instances), the same conversion of each
value for the database — but with the statement text built once per model, database and size,
and as few statements as the database takes: Django 5.2 assumes SQLite takes 999 parameters
(≈ 50 outbox rows a statement) where SQLite 3.32+ takes 32,766 and says so. With `returning=True`
the primary keys are read back (`RETURNING`, in the order of the VALUES, as `bulk_create` relies
on too). Model signals are not sent, as `bulk_create` does not send them.

`IdList(ids)` is a list of integer ids for an `__in` lookup, handed to the database as they are:
Django prepares each value of a plain list through the field, which for a broadcast's thousand
merchants costs more than the query. `Model.objects.filter(merchant_id__in=IdList(ids))`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connections, models, router
from django.db.models import Expression, IntegerField

M = TypeVar("M", bound=models.Model)

POSTGRESQL_MAX_PARAMETERS = 65_535
MAX_ROWS_PER_STATEMENT = 2000  # past this, a longer statement saves nothing measurable

# values whose conversion depends on nothing but the value (and the field and the database)
_PLAIN = frozenset({str, int, bool, type(None), datetime})
_STATEMENTS: dict[tuple[str, type[models.Model], int, bool], str] = {}


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields
            if not (f.primary_key and isinstance(f, models.AutoField)) and not f.generated]


def _max_parameters(alias: str) -> int:
    connection = connections[alias]
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if connection.vendor == "postgresql":
        return POSTGRESQL_MAX_PARAMETERS
    return connection.features.max_query_params or 999


def _statement(alias: str, model: type[models.Model], fields: list[models.Field], rows: int,
               returning: bool) -> str:
    key = (alias, model, rows, returning)
    sql = _STATEMENTS.get(key)
    if sql is None:
        meta = model._meta
        quote = connections[alias].ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = "INSERT INTO {} ({}) VALUES {}".format(  # noqa: S608 - names from the model, quoted
            quote(meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join([row] * rows))
        if returning:
            sql += f" RETURNING {quote(meta.pk.column)}"
        _STATEMENTS[key] = sql
    return sql


def rows_insert_many(objs: Sequence[M], *, returning: bool = False, using: str | None = None) -> Sequence[M]:
    """INSERT every object of `objs` (all of one model) as `bulk_create(objs)` would; with
    `returning`, set their primary keys."""
    if not objs:
        return objs
    model = type(objs[0])
    alias = using or router.db_for_write(model)
    connection = connections[alias]
    fields = _fields(model)
    per_statement = max(1, min(MAX_ROWS_PER_STATEMENT, _max_parameters(alias) // len(fields)))
    pk_attname = model._meta.pk.attname
    # a broadcast repeats most values (its moment, channel, purpose, actor): each distinct plain
    # value of a column is converted once
    converted: list[dict[tuple[type, Any], Any]] = [{} for _ in fields]
    for start in range(0, len(objs), per_statement):
        chunk = objs[start:start + per_statement]
        params: list[Any] = []
        for obj in chunk:
            for field, seen in zip(fields, converted, strict=True):
                value = field.pre_save(obj, True)
                if type(value) not in _PLAIN:
                    params.append(field.get_db_prep_save(value, connection))
                    continue
                key = (type(value), value)
                try:
                    params.append(seen[key])
                except KeyError:
                    params.append(seen.setdefault(key, field.get_db_prep_save(value, connection)))
        with connection.cursor() as cursor:
            cursor.execute(_statement(alias, model, fields, len(chunk), returning), params)
            if returning:
                for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                    setattr(obj, pk_attname, pk)
        for obj in chunk:
            obj._state.adding = False
            obj._state.db = alias
    return objs


class IdList(Expression):
    """Integer ids as one parenthesised list of parameters, for `__in` (an empty list matches
    nothing)."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(output_field=IntegerField())
        self.ids = [int(i) for i in ids]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[int]]:
        if not self.ids:
            return "(NULL)", []
        return "(" + ", ".join(["%s"] * len(self.ids)) + ")", self.ids
