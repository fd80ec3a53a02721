"""Hot-path reads and single-row inserts, without re-building their SQL on every call.

`Model.save()` compiles its INSERT anew on every call: for a ticket's five or six small rows that
is most of the Python time of a create (bench/RESULTS.md). `row_insert` writes the same row —
same columns, same `pre_save` (`auto_now_add`, file names), same conversion of each value for the
database — with the statement text built once per model and database, then executed directly.
The model stays the one description of the table.

What it leaves out, on purpose: model signals (posdesk connects none to the models written this
way; a test keeps it so) and multi-table inheritance (posdesk has none). Both databases we run on
answer `RETURNING`.

`PreparedRead` does the same for a read run on every request (the API token, the idempotency
record): the queryset is built and compiled once per database with stand-in arguments, and later
calls run that SQL with the real ones, converting the columns as the ORM would.
`PreparedModelRead` is the same for a read of model instances (with their `select_related`
objects), built from rows exactly as the ORM's own iterator builds them.

`rows_together(*models)` makes a change's small inserts one statement on PostgreSQL, where every
statement is a round trip with its own protocol and driver work (bench/RESULTS.md): the primary
keys are taken from the tables' sequences up front, in one statement, so every row has its real
key at once; `row_insert` then holds the INSERT instead of running it, and the held rows are
written together as one statement (`WITH a AS (INSERT …), b AS (INSERT …) INSERT …`) when the
block ends — or, so that order and visibility are what they would have been, before any other
statement runs on the connection. On SQLite a statement is a function call, not a round trip:
there the block changes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.fields import AutoFieldMixin, Field
from django.db.models.query import ModelIterable, QuerySet, get_related_populators

M = TypeVar("M", bound=models.Model)

# How a column's value reaches the database (`_column_plan`). Django converts every value through
# four or five method calls (`pre_save`, `get_db_prep_save`, `get_db_prep_value`, `get_prep_value`,
# `to_python`); for the plain values most columns hold, Django's own fields hand them on unchanged
# — or, for an aware datetime, through the backend's adapter alone. A field whose class changes
# any of those methods, and any other value, takes Django's whole way.
SLOW, TEXT, INTEGER, BOOLEAN, DATETIME = range(5)

_ColumnPlan = tuple[Callable[[models.Model], Any], int, models.Field]
_STATEMENTS: dict[tuple[str, type[models.Model], bool], tuple[str, list[_ColumnPlan]]] = {}


def _methods_are(cls: type, **expected: Callable[..., Any]) -> bool:
    return all(getattr(cls, name) is method for name, method in expected.items())


def _value_kind(field: models.Field, ops: BaseDatabaseOperations) -> int:
    cls = type(field)
    if not _methods_are(cls, get_db_prep_save=Field.get_db_prep_save) and not isinstance(field, models.ForeignKey):
        return SLOW
    if isinstance(field, models.ForeignKey):
        target = field.target_field
        return INTEGER if (
            _methods_are(cls, get_db_prep_save=models.ForeignKey.get_db_prep_save)
            and isinstance(target, AutoFieldMixin)
            and _methods_are(type(target), get_db_prep_save=Field.get_db_prep_save,
                             get_db_prep_value=AutoFieldMixin.get_db_prep_value,
                             get_prep_value=models.IntegerField.get_prep_value)
            and _methods_are(type(ops), validate_autopk_value=BaseDatabaseOperations.validate_autopk_value)
        ) else SLOW
    for kind, base in ((TEXT, models.CharField), (TEXT, models.TextField)):
        if _methods_are(cls, get_db_prep_value=Field.get_db_prep_value, get_prep_value=base.get_prep_value,
                        to_python=base.to_python):
            return kind
    if _methods_are(cls, get_db_prep_value=models.IntegerField.get_db_prep_value,
                    get_prep_value=models.IntegerField.get_prep_value) and _methods_are(
            type(ops), adapt_integerfield_value=BaseDatabaseOperations.adapt_integerfield_value):
        return INTEGER
    if _methods_are(cls, get_db_prep_value=Field.get_db_prep_value, get_prep_value=models.BooleanField.get_prep_value,
                    to_python=models.BooleanField.to_python):
        return BOOLEAN
    if _methods_are(cls, get_db_prep_value=models.DateTimeField.get_db_prep_value,
                    get_prep_value=models.DateTimeField.get_prep_value, to_python=models.DateTimeField.to_python):
        return DATETIME
    return SLOW


def _column_plan(field: models.Field, ops: BaseDatabaseOperations) -> _ColumnPlan:
    plain_read = type(field).pre_save is Field.pre_save or (
        type(field).pre_save is models.DateTimeField.pre_save and not (field.auto_now or field.auto_now_add))
    read = attrgetter(field.attname) if plain_read else (lambda obj, f=field: f.pre_save(obj, True))
    return read, _value_kind(field, ops), field


def _statement(alias: str, model: type[models.Model], *, with_key: bool = False) -> tuple[str, list[_ColumnPlan]]:
    """The model's INSERT and how each column's value is read: the key made by the database and
    read back (`RETURNING`), or, `with_key`, given in the statement like any other column."""
    key = (alias, model, with_key)
    found = _STATEMENTS.get(key)
    if found is None:
        meta = model._meta
        connection = connections[alias]
        quote = connection.ops.quote_name
        if with_key:
            fields, returning = [meta.pk, *(f for f in meta.concrete_fields if not f.primary_key)], ""
        else:
            fields = [f for f in meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
            returning = f" RETURNING {quote(meta.pk.column)}"
        sql = "INSERT INTO {} ({}) VALUES ({}){}".format(  # noqa: S608 - names from the model, quoted
            quote(meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields)),
            returning,
        )
        found = _STATEMENTS[key] = (sql, [_column_plan(f, connection.ops) for f in fields])
    return found


def db_values(plans: list[_ColumnPlan], obj: models.Model, connection: Any) -> list[Any]:
    """The values `save()` would send for `obj`'s columns, each exactly as Django converts it."""
    values = []
    for read, kind, field in plans:
        value = read(obj)
        if value is None and kind != SLOW and kind != DATETIME:
            values.append(None)
        elif (kind == TEXT and isinstance(value, str)) or (kind == INTEGER and type(value) is int) \
                or (kind == BOOLEAN and type(value) is bool):
            values.append(value)
        elif kind == DATETIME and type(value) is datetime and value.tzinfo is not None:
            values.append(connection.ops.adapt_datetimefield_value(value))
        else:
            values.append(field.get_db_prep_save(value, connection))
    return values


def row_insert(obj: M, *, using: str | None = None) -> M:
    """INSERT `obj` as `obj.save(force_insert=True)` would, and set its primary key. Inside
    `rows_together` on PostgreSQL, a row of a model given a key there is held and written with
    the others."""
    model = type(obj)
    alias = using or router.db_for_write(model, instance=obj)
    connection = connections[alias]
    together = _together.get()
    if together is not None and together.alias == alias:
        if together.hold(obj):
            return obj
        together.flush()  # no key taken for this row: what is held goes first, in order
    sql, plans = _statement(alias, model)
    values = db_values(plans, obj, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk = cursor.fetchone()[0]
    setattr(obj, model._meta.pk.attname, pk)
    obj._state.adding = False
    obj._state.db = alias
    return obj


# --- several inserts, one statement (PostgreSQL) -----------------------------------------------

_SEQUENCES: dict[tuple[str, type[models.Model]], str] = {}
_TOGETHER_SQL: dict[tuple[str, ...], str] = {}


def _sequence(alias: str, model: type[models.Model]) -> str:
    """The sequence behind `model`'s primary key (serial or identity), as a quoted literal."""
    key = (alias, model)
    found = _SEQUENCES.get(key)
    if found is None:
        meta = model._meta
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            name = cursor.fetchone()[0]
        if name is None:
            raise TypeError(f"{meta.label}: its primary key has no sequence")
        found = _SEQUENCES[key] = "'" + name.replace("'", "''") + "'"
    return found


@dataclass
class _Together:
    alias: str
    keys: dict[type[models.Model], list[int]]
    held: list[tuple[str, list[Any]]] = dataclass_field(default_factory=list)
    flushing: bool = False

    def hold(self, obj: models.Model) -> bool:
        """Give `obj` a key taken up front and hold its INSERT; False when none is left for it."""
        model = type(obj)
        keys = self.keys.get(model)
        if not keys or obj.pk is not None:
            return False
        setattr(obj, model._meta.pk.attname, keys.pop(0))
        sql, plans = _statement(self.alias, model, with_key=True)
        self.held.append((sql, db_values(plans, obj, connections[self.alias])))
        obj._state.adding = False
        obj._state.db = self.alias
        return True

    def flush(self) -> None:
        if not self.held:
            return
        held, self.held = self.held, []
        texts = tuple(sql for sql, _ in held)
        sql = _TOGETHER_SQL.get(texts)
        if sql is None:
            *first, last = texts
            sql = _TOGETHER_SQL[texts] = (
                "WITH " + ", ".join(f"w{n} AS ({text})" for n, text in enumerate(first)) + " " + last
                if first else last
            )
        self.flushing = True
        try:
            with connections[self.alias].cursor() as cursor:
                cursor.execute(sql, [value for _, values in held for value in values])
        finally:
            self.flushing = False

    def before_statement(self, execute: Callable[..., Any], sql: str, params: Any, many: bool,
                         context: dict[str, Any]) -> Any:
        """An execute wrapper: a statement that is not the flush runs after the held rows."""
        if self.held and not self.flushing:
            self.flush()
        return execute(sql, params, many, context)


_together: ContextVar[_Together | None] = ContextVar("rows_together", default=None)


@contextmanager
def rows_together(*models_: type[models.Model], using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Inside a transaction: the inserts of `models_` (a model given twice: two of its rows) that
    `row_insert` makes in this block are written as one statement, with keys taken up front (see
    the module's notes). What is written does not change, only how: rows of other models run at
    once, after the held rows; a block left by an exception still writes what it held, unless a
    database error broke the transaction. Nothing changes on SQLite."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not models_ or _together.get() is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("rows_together() needs a transaction: the held rows are written at its end")
    wanted = Counter(models_)
    order = list(wanted)
    sequences = [_sequence(using, model) for model in order for _ in range(wanted[model])]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"nextval({name})" for name in sequences))  # noqa: S608 - quoted names
        taken = list(cursor.fetchone())
    keys: dict[type[models.Model], list[int]] = {}
    for model in order:
        keys[model], taken = taken[: wanted[model]], taken[wanted[model]:]
    together = _Together(alias=using, keys=keys)
    token = _together.set(together)
    try:
        with connection.execute_wrapper(together.before_statement):
            try:
                yield
            except DatabaseError:
                raise  # the transaction is broken: nothing held can be written any more
            except BaseException:
                if not connection.needs_rollback:  # an inner block's database error broke it
                    together.flush()  # what was inserted stays inserted, as without the block
                raise
            together.flush()
    finally:
        _together.reset(token)


_STAND_IN_INT = -(2**62)  # far from any key, so a stand-in cannot meet a real value in the SQL


class PreparedRead:
    """A `values_list()` read whose SQL is compiled once per database.

        token_row = PreparedRead(lambda digest: ApiToken.objects.filter(digest=digest).values_list("pk")[:1])
        rows = token_row(digest)       # list of tuples, as list(queryset) would give

    `build` takes the arguments (str or int only, used as plain `=` values) and returns a
    `values_list()` queryset; it must not read anything else that changes between calls (the
    clock, settings, the user). Every argument must reach the SQL as one parameter, unchanged —
    checked when the statement is compiled, so a lookup that transforms its value is refused."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        self.build = build
        self._compiled: dict[str, tuple[str, list[Any], list[int], dict]] = {}

    def _compile(self, alias: str, args: tuple[Any, ...]) -> tuple[str, list[Any], list[int], dict]:
        stand_ins: list[Any] = []
        for number, value in enumerate(args):
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise TypeError("PreparedRead takes str and int arguments only")
            stand_ins.append(f"\x00stand-in {number}\x00" if isinstance(value, str) else _STAND_IN_INT - number)
        queryset = self.build(*stand_ins)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        params = list(params)
        positions = []
        for stand_in in stand_ins:
            found = [i for i, p in enumerate(params) if type(p) is type(stand_in) and p == stand_in]
            if len(found) != 1:
                raise ValueError(f"argument {stand_in!r} must appear in the SQL once, unchanged: {sql}")
            positions.append(found[0])
        converters = compiler.get_converters([column for column, _, _ in compiler.select[: compiler.col_count]])
        self._check(queryset)
        self._prepare(compiler, alias)
        compiled = (sql, params, positions, converters)
        self._compiled[alias] = compiled
        return compiled

    def _check(self, queryset: QuerySet[Any]) -> None:
        if queryset._iterable_class is ModelIterable:
            raise TypeError("PreparedRead takes a values_list() queryset; use PreparedModelRead for instances")

    def _prepare(self, compiler: Any, alias: str) -> None:
        """Keep what turning rows into answers needs (nothing for plain rows)."""

    def _rows(self, args: tuple[Any, ...], using: str) -> list[tuple[Any, ...]]:
        compiled = self._compiled.get(using) or self._compile(using, args)
        sql, template, positions, converters = compiled
        params = list(template)
        for position, value in zip(positions, args, strict=True):
            params[position] = value
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            values = list(row)
            for position, (functions, expression) in converters.items():
                for convert in functions:
                    values[position] = convert(values[position], expression, connection)
            converted.append(tuple(values))
        return converted

    def __call__(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
        return self._rows(args, using)


class PreparedModelRead(PreparedRead):
    """A read of model instances whose SQL is compiled once per database:

        terminal_by_sn = PreparedModelRead(lambda sn: Terminal.objects.select_related("model").filter(sn=sn)[:1])
        terminals = terminal_by_sn("N7NL00000001")   # list of Terminal, `model` already attached

    The rules of `PreparedRead` apply; annotations, `prefetch_related` and `only()`/`defer()` are
    refused (the rows are turned into instances as `ModelIterable` does for a plain select)."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        super().__init__(build)
        self._builders: dict[str, tuple[type[models.Model], list[str], int, int, list[Any]]] = {}

    def _check(self, queryset: QuerySet[Any]) -> None:
        query = queryset.query
        if queryset._iterable_class is not ModelIterable or queryset._prefetch_related_lookups \
                or query.annotation_select or query.deferred_loading != (frozenset(), True):
            raise TypeError("PreparedModelRead takes a plain queryset of instances (select_related only)")

    def _prepare(self, compiler: Any, alias: str) -> None:
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        # RelatedPopulator keeps no state between rows: built once, used for every call
        self._builders[alias] = (klass_info["model"], init_list, start, end,
                                 get_related_populators(klass_info, select, alias))

    def __call__(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> list[Any]:  # type: ignore[override]
        rows = self._rows(args, using)
        model, init_list, start, end, populators = self._builders[using]
        found = []
        for row in rows:
            obj = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            found.append(obj)
        return found
