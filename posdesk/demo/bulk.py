"""Fast inserts for demo and benchmark data: rows straight into the tables, bypassing model
instances. SQLite gets `executemany`, PostgreSQL gets `COPY`. Columns come from the model, so a
field added later with a default is filled with that default."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models

from posdesk.tickets.models import TicketNumberSequence


def ticket_number(day: str, value: int) -> str:
    """The readable number, as `posdesk.tickets.services.ticket_number_next` writes it."""
    return f"T{day}{value:04d}"


def ticket_numbers_reserve(*, day: str, count: int) -> int:
    """Take `count` numbers of `day` (YYMMDD) in one atomic upsert, so tickets opened later by the
    services continue after them. Returns the first value of the block."""
    table = connection.ops.quote_name(TicketNumberSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last_value) VALUES (%s, %s) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (day) DO UPDATE SET last_value = {table}.last_value + %s RETURNING last_value",
            [day, count, count],
        )
        last = cursor.fetchone()[0]
    return last - count + 1


class BulkTable:
    """Rows for one model's table as lists in column order; `row()` starts from the defaults."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.position = {f.attname: i for i, f in enumerate(self.fields)}
        self.vendor = connection.vendor
        self._template = [self._default(f) for f in self.fields]

    def _default(self, field: models.Field) -> Any:
        if isinstance(field, models.AutoField | models.BigAutoField):
            return None
        value = field.get_default()  # "" for text columns without a default, as the ORM does
        if isinstance(field, models.JSONField):
            return json.dumps(value if value is not None else {})
        if value is None:
            return None
        return self.value(value)

    def value(self, value: Any) -> Any:
        """A Python value in the form the raw insert takes (SQLite keeps datetimes as UTC text)."""
        if isinstance(value, datetime) and self.vendor == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value

    def row(self) -> list[Any]:
        return list(self._template)

    def ids(self, count: int) -> list[int]:
        """Primary keys for `count` new rows, taken so that later ordinary inserts do not collide."""
        pk = connection.ops.quote_name(self.model._meta.pk.column)
        table = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [self.table, self.model._meta.pk.column])
                sequence = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, count])
                return [r[0] for r in cursor.fetchall()]
            # SQLite: one writer at a time, and the caller holds the write transaction
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {table}")  # noqa: S608 - our names
            start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))

    def insert(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(self.table)
        connection.ensure_connection()
        raw = connection.connection
        if self.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif self.vendor == "sqlite":
            marks = ", ".join("?" * len(self.columns))
            raw.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)  # noqa: S608
        else:  # any other backend: the portable, slower path
            marks = ", ".join(["%s"] * len(self.columns))
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)  # noqa: S608
