"""`row_insert` writes exactly the row `save()` would; `PreparedRead` and `PreparedModelRead`
answer exactly what the queryset would, with its SQL compiled once."""

from __future__ import annotations

import uuid
import warnings
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Count, ForeignKey, IntegerChoices, IntegerField, JSONField, TextChoices, signals
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext_lazy

from posdesk.accounts.models import ApiToken, User
from posdesk.audit.models import AuditEntry
from posdesk.core import rows
from posdesk.core.models import IdempotencyRecord
from posdesk.core.rows import PreparedModelRead, PreparedRead, row_insert
from posdesk.outbox.models import OutboxMessage
from posdesk.terminals.models import Terminal
from posdesk.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

AT = datetime(2026, 10, 1, 9, 30, 15, 123456, tzinfo=UTC)


def _stored(model, pk) -> dict:
    row = model_to_dict(model.objects.get(pk=pk))
    row.pop("id")
    return row


def _written_both_ways(make):
    """The same unsaved object written once by save() and once by row_insert: both rows, re-read."""
    saved, inserted = make(), make()
    saved.save(force_insert=True)
    row_insert(inserted)
    assert inserted.pk is not None and inserted.pk != saved.pk
    assert inserted._state.adding is False and inserted._state.db == "default"
    return _stored(type(saved), saved.pk), _stored(type(inserted), inserted.pk)


def test_a_ticket_row_is_the_same_as_save_writes(world):
    counter = iter(range(1, 3))

    def make():
        return Ticket(number=f"T2610010000{next(counter)}", merchant=world.merchant, terminal=world.terminal,
                      channel="api", category="hardware", priority="P2", status="new", subject="打印机不出纸",
                      description="打印机不出纸，换了纸卷也不行", district_id=world.merchant.district_id,
                      created_by=world.agent, created_at=AT, updated_at=AT, resolution_due_at=AT)

    saved, inserted = _written_both_ways(make)
    saved.pop("number"), inserted.pop("number")
    assert inserted == saved
    assert inserted["resolution_due_at"] == AT  # an aware datetime round-trips on both databases


def test_json_booleans_and_foreign_keys_are_written_as_save_writes(world):
    ticket = Ticket.objects.create(number="T261001000009", merchant=world.merchant, channel="api",
                                   category="hardware", priority="P3", status="new", created_by=world.agent,
                                   created_at=AT, updated_at=AT)
    saved, inserted = _written_both_ways(lambda: TicketEvent(
        ticket=ticket, kind="created", actor=world.agent, created_at=AT, is_public=False, body="正文",
        to_status="new", data={"channel": "wechat", "nested": {"n": [1, 2.5, None, "中文"]}},
    ))
    assert inserted == saved
    assert inserted["data"] == {"channel": "wechat", "nested": {"n": [1, 2.5, None, "中文"]}}
    assert inserted["is_public"] is False


def test_auto_now_add_and_defaults_are_filled_as_save_fills_them(world):
    entry = row_insert(AuditEntry(actor=world.agent, action="create", object_type="tickets.ticket",
                                  object_id="1", summary="T1", changes={"a": 1}))
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.created_at is not None and stored.created_at == entry.created_at
    message = row_insert(OutboxMessage(channel="sms", purpose="service_reply", recipient="13800000000", body="x"))
    stored_message = OutboxMessage.objects.get(pk=message.pk)
    assert stored_message.status == OutboxMessage.Status.PENDING and stored_message.attempts == 0
    record = row_insert(IdempotencyRecord(principal="user:1", scope="s", key="k", request_fingerprint="f",
                                          response_status=201, response_body={"id": 7, "文字": "好"}))
    assert IdempotencyRecord.objects.get(pk=record.pk).response_body == {"id": 7, "文字": "好"}


@pytest.mark.parametrize("model", [Ticket, TicketEvent, AuditEntry, OutboxMessage, IdempotencyRecord])
def test_no_signal_listens_to_the_models_written_without_save(model):
    # row_insert skips model signals; a receiver added later would silently miss these rows
    for signal in (signals.pre_save, signals.post_save, signals.pre_init, signals.post_init):
        assert not signal.has_listeners(model), f"{signal} has a receiver for {model.__name__}"


def test_the_insert_is_one_statement(world):
    with CaptureQueriesContext(connection) as queries:
        row_insert(AuditEntry(actor=world.agent, action="create", object_type="x", object_id="1"))
    assert len(queries) == 1 and queries[0]["sql"].startswith('INSERT INTO "audit_auditentry"')


# --- rows_together ---------------------------------------------------------------------------

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="rows are held on PostgreSQL only")


def _audit(world, n: int) -> AuditEntry:
    return AuditEntry(actor=world.agent, action="create", object_type="x", object_id=str(n), changes={"n": n})


def _record(key: str) -> IdempotencyRecord:
    return IdempotencyRecord(principal="user:1", scope="s", key=key, request_fingerprint="f", response_status=201,
                             response_body={"id": 1})


def _written(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


@on_postgresql
def test_rows_written_together_are_one_statement_with_their_keys_known_at_once(world):
    with transaction.atomic(), rows.rows_together(AuditEntry, IdempotencyRecord):
        row_insert(_audit(world, 0))  # first use: the sequences' names are looked up once per process
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, \
            rows.rows_together(AuditEntry, AuditEntry, IdempotencyRecord):
        first, second, record = row_insert(_audit(world, 1)), row_insert(_audit(world, 2)), row_insert(_record("k"))
        keys = (first.pk, second.pk, record.pk)
        assert None not in keys and first.pk != second.pk  # real keys, before anything is written
        assert first._state.adding is False and first._state.db == "default"
        assert len(_written(queries)) == 1  # the keys were taken in one statement; nothing written yet
    statements = _written(queries)
    assert statements[0].startswith("SELECT nextval(") and statements[0].count("nextval(") == 3
    assert len(statements) == 2 and statements[1].startswith("WITH w0 AS (INSERT INTO")
    assert statements[1].count("INSERT INTO") == 3
    # the rows are exactly the ones written one by one would be
    assert AuditEntry.objects.get(pk=first.pk).changes == {"n": 1}
    assert AuditEntry.objects.get(pk=second.pk).object_id == "2"
    assert IdempotencyRecord.objects.get(pk=record.pk).response_body == {"id": 1}
    alone = row_insert(_audit(world, 1))
    assert _stored(AuditEntry, alone.pk) | {"created_at": None} == _stored(AuditEntry, first.pk) | {"created_at": None}


@on_postgresql
def test_a_statement_in_the_block_runs_after_the_held_rows(world):
    # a read sees what was inserted before it, as without the block
    with transaction.atomic(), rows.rows_together(AuditEntry):
        entry = row_insert(_audit(world, 7))
        assert AuditEntry.objects.filter(pk=entry.pk, object_id="7").exists()


@on_postgresql
def test_a_row_without_a_key_taken_goes_after_the_held_rows(world):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, rows.rows_together(AuditEntry):
        held = row_insert(_audit(world, 1))
        extra = row_insert(_audit(world, 2))  # a second entry: no key was taken for it
        other = row_insert(_record("other"))  # another model: written at once
    statements = [sql for sql in _written(queries) if sql.startswith("INSERT")]
    assert [sql.split(" (", 1)[0] for sql in statements] == [
        'INSERT INTO "audit_auditentry"', 'INSERT INTO "audit_auditentry"', 'INSERT INTO "core_idempotencyrecord"']
    assert "RETURNING" not in statements[0] and "RETURNING" in statements[1]
    assert held.pk < extra.pk and other.pk is not None


@on_postgresql
def test_a_block_left_by_an_exception_keeps_what_it_inserted(world):
    # as without the block: the caller that catches the exception inside its transaction keeps the row
    with transaction.atomic():
        with pytest.raises(ZeroDivisionError), rows.rows_together(AuditEntry):
            entry = row_insert(_audit(world, 1))
            1 / 0  # noqa: B018
        with CaptureQueriesContext(connection) as after:
            assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert not any(q["sql"].startswith(("WITH", "INSERT")) for q in after.captured_queries)  # written once


@on_postgresql
def test_a_block_left_after_a_caught_database_error_raises_its_own_exception(world):
    # the transaction is broken (an inner block's error was caught): nothing held is written, and
    # the exception that left the block is the one the caller sees
    row_insert(_record("taken"))
    with pytest.raises(ValueError), transaction.atomic(), rows.rows_together(AuditEntry):
        try:
            with transaction.atomic(savepoint=False):
                IdempotencyRecord.objects.create(principal="user:1", scope="s", key="taken",
                                                 request_fingerprint="f", response_status=201, response_body={})
        except IntegrityError:
            row_insert(_audit(world, 1))  # held: no statement runs until the block ends
            raise ValueError("given up") from None
    assert not AuditEntry.objects.filter(object_id="1").exists()


@on_postgresql
def test_a_conflict_in_held_rows_is_raised_in_the_transaction(world):
    row_insert(_record("taken"))
    with pytest.raises(IntegrityError), transaction.atomic(), rows.rows_together(AuditEntry, IdempotencyRecord):
        row_insert(_audit(world, 1))
        row_insert(_record("taken"))
    assert IdempotencyRecord.objects.filter(key="taken").count() == 1
    assert not AuditEntry.objects.filter(object_id="1").exists()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_rows_are_held_only_inside_a_transaction(world):
    with pytest.raises(RuntimeError), rows.rows_together(AuditEntry):
        pass


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps its statements")
def test_on_sqlite_the_block_changes_nothing(world):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, \
            rows.rows_together(AuditEntry, IdempotencyRecord):
        entry = row_insert(_audit(world, 1))
        assert AuditEntry.objects.filter(pk=entry.pk).exists()
        row_insert(_record("k"))
    statements = _written(queries)
    assert [sql.split(" (", 1)[0] for sql in statements if sql.startswith("INSERT")] == [
        'INSERT INTO "audit_auditentry"', 'INSERT INTO "core_idempotencyrecord"']


# --- PreparedRead ---------------------------------------------------------------------------

users_by_role_and_name = PreparedRead(
    lambda role, username: User.objects.filter(role=role, username=username, is_active=True)
    .values_list("pk", "username", "is_active", "date_joined")
)


def test_a_prepared_read_answers_what_the_queryset_answers(world):
    for user in (world.agent, world.supervisor, world.merchant_user):
        expected = list(User.objects.filter(role=user.role, username=user.username, is_active=True)
                        .values_list("pk", "username", "is_active", "date_joined"))
        assert users_by_role_and_name(user.role, user.username) == expected
        (pk, username, is_active, joined), = expected
        assert is_active is True and isinstance(joined, datetime) and joined.tzinfo is not None
    assert users_by_role_and_name("agent", "nobody") == []


def test_a_prepared_read_runs_one_statement_and_keeps_its_sql(world):
    users_by_role_and_name(world.agent.role, world.agent.username)  # compiled by now
    with CaptureQueriesContext(connection) as first:
        users_by_role_and_name(world.agent.role, world.agent.username)
    with CaptureQueriesContext(connection) as second:
        users_by_role_and_name(world.supervisor.role, world.supervisor.username)
    assert len(first) == len(second) == 1
    assert first[0]["sql"].split("WHERE")[0] == second[0]["sql"].split("WHERE")[0]


def test_an_argument_the_lookup_would_transform_is_refused_when_compiling(world):
    contains = PreparedRead(lambda name: User.objects.filter(username__contains=name).values_list("pk"))
    with pytest.raises(ValueError, match="must appear in the SQL once"):
        contains("agent")


def test_an_argument_used_twice_is_refused_when_compiling(world):
    twice = PreparedRead(lambda name: User.objects.filter(username=name, first_name=name).values_list("pk"))
    with pytest.raises(ValueError, match="must appear in the SQL once"):
        twice("agent")


@pytest.mark.parametrize("value", [None, 1.5, True, b"x"])
def test_only_text_and_whole_numbers_are_taken_as_arguments(world, value):
    read = PreparedRead(lambda pk: ApiToken.objects.filter(pk=pk).values_list("pk"))
    with pytest.raises(TypeError):
        read(value)


# --- PreparedModelRead ----------------------------------------------------------------------

terminal_with_context = PreparedModelRead(
    lambda sn: Terminal.objects.select_related("model", "merchant", "merchant__district").filter(sn=sn)[:1]
)


def test_a_prepared_model_read_builds_the_instances_the_queryset_builds(world):
    expected = Terminal.objects.select_related("model", "merchant", "merchant__district").get(sn=world.terminal.sn)
    terminal_with_context(world.other_terminal.sn)  # compiled with another terminal's number

    (found,) = terminal_with_context(world.terminal.sn)

    assert isinstance(found, Terminal) and found._state.adding is False and found._state.db == "default"
    assert model_to_dict(found) == model_to_dict(expected)
    with CaptureQueriesContext(connection) as queries:  # the related rows came with it
        assert found.model == expected.model and found.model.name == expected.model.name
        assert found.merchant.mid == world.merchant.mid
        assert found.merchant.district.code == world.merchant.district.code
    assert len(queries) == 0
    assert terminal_with_context("NOSUCHSN0000") == []


def test_a_prepared_model_read_keeps_a_missing_relation_empty(world):
    unbound = Terminal.objects.create(sn="UNBOUND000001", tid="10009999", model=world.terminal.model)
    (found,) = terminal_with_context(unbound.sn)
    with CaptureQueriesContext(connection) as queries:
        assert found.merchant is None
    assert len(queries) == 0


def test_a_prepared_model_read_runs_one_statement(world):
    terminal_with_context(world.terminal.sn)
    with CaptureQueriesContext(connection) as queries:
        terminal_with_context(world.other_terminal.sn)
    assert len(queries) == 1


@pytest.mark.parametrize("build", [
    lambda sn: Terminal.objects.filter(sn=sn).values_list("pk"),
    lambda sn: Terminal.objects.filter(sn=sn).only("sn"),
    lambda sn: Terminal.objects.filter(sn=sn).prefetch_related("tickets"),
    lambda sn: Terminal.objects.filter(sn=sn).annotate(n=Count("tickets")),
])
def test_a_prepared_model_read_takes_plain_instance_reads_only(world, build):
    with pytest.raises(TypeError):
        PreparedModelRead(build)(world.terminal.sn)


def test_a_prepared_read_of_instances_is_refused(world):
    with pytest.raises(TypeError, match="PreparedModelRead"):
        PreparedRead(lambda sn: Terminal.objects.filter(sn=sn))(world.terminal.sn)


# --- the conversion of each value ---------------------------------------------------------

class _Colour(TextChoices):
    RED = "red", "Red"


class _Size(IntegerChoices):
    BIG = 3, "Big"


_SAMPLES = [None, "", "abc", _Colour.RED, gettext_lazy("Allowed."), 0, 7, -(2**40), _Size.BIG, True, False,
            AT, AT.replace(tzinfo=timezone.get_fixed_timezone(480)), datetime(2026, 10, 1, 9, 30),
            Decimal("1.50"), 1.5, {"a": [1, "二"]}, [1, 2], uuid.UUID(int=5), b"raw"]


def _django_value(field, value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a naive datetime, on purpose
        try:
            return field.get_db_prep_save(value, connection)
        except Exception as exc:  # noqa: BLE001 - a value this field refuses: refused both ways
            return type(exc)


def test_every_columns_values_reach_the_database_exactly_as_django_sends_them():
    checked = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            _read, kind, _field = rows._column_plan(field, connection.ops)
            for sample in _SAMPLES:
                expected = _django_value(field, sample)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    try:
                        [ours] = rows.db_values([(lambda _obj, v=sample: v, kind, field)], None, connection)
                    except Exception as exc:  # noqa: BLE001
                        ours = type(exc)
                if kind == rows.SLOW:
                    continue  # Django's own way, by construction
                assert type(ours) is type(expected) and ours == expected, (model, field.name, sample)
                checked += 1
    assert checked > 5_000


def test_the_hot_rows_columns_skip_djangos_conversions():
    """The rows every create writes: only JSON columns take Django's whole way — and, where the
    backend wraps integers in typed values (psycopg's Int2/Int4/Int8), integer columns."""
    adapts_integers = type(connection.ops).adapt_integerfield_value is not \
        BaseDatabaseOperations.adapt_integerfield_value
    for model in (Ticket, TicketEvent, AuditEntry, OutboxMessage, IdempotencyRecord):
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue  # not written: the database numbers the row
            _read, kind, _field = rows._column_plan(field, connection.ops)
            whole_way = isinstance(field, JSONField) or (
                adapts_integers and isinstance(field, IntegerField) and not isinstance(field, ForeignKey))
            assert (kind == rows.SLOW) == whole_way, (model, field.name)


def test_auto_now_columns_are_still_stamped():
    message = row_insert(OutboxMessage(channel="sms", purpose="service_reply", recipient="13800000000", body="x"))
    assert message.created_at is not None
    assert OutboxMessage.objects.get(pk=message.pk).created_at == message.created_at
