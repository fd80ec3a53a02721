"""`rows_insert_many` writes exactly the rows `bulk_create` writes, in fewer statements;
`IdList` selects what a plain `__in` list selects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from posdesk.contact.models import ContactDecision
from posdesk.core.bulk import IdList, rows_insert_many
from posdesk.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

AT = datetime(2026, 10, 1, 9, 30, 15, 123456, tzinfo=UTC)
SHANGHAI = timezone(timedelta(hours=8))


def _messages(count):
    return [OutboxMessage(channel="sms", purpose="marketing", recipient=f"139{n:08d}", body=f"【posdesk】第{n}条",
                          merchant_id=None, ticket_id=n if n % 2 else None,
                          next_attempt_at=AT + timedelta(minutes=n) if n % 3 == 0 else None,
                          gate_recheck=n % 3 == 0, headers={"n": [n, "中文"]} if n % 4 == 0 else {})
            for n in range(count)]


def _stored(model, pks, *, drop=("id",)):
    rows = []
    for obj in model.objects.filter(pk__in=pks).order_by("pk"):
        row = model_to_dict(obj)
        for name in drop:
            row.pop(name, None)
        rows.append(row)
    return rows


def test_outbox_rows_are_the_rows_bulk_create_writes_with_their_keys_set(world):
    by_django, by_us = _messages(30), _messages(30)
    OutboxMessage.objects.bulk_create(by_django)
    written = rows_insert_many(by_us, returning=True)
    assert [m.pk for m in written] == sorted(m.pk for m in written) and None not in [m.pk for m in written]
    assert all(m._state.adding is False for m in written)
    for message in written:  # each key belongs to its own row
        assert OutboxMessage.objects.get(pk=message.pk).recipient == message.recipient
    drop = ("id", "idempotency_key", "created_at")
    assert _stored(OutboxMessage, [m.pk for m in by_us], drop=drop) == _stored(
        OutboxMessage, [m.pk for m in by_django], drop=drop)
    assert all(m.created_at is not None for m in by_us)


def test_decision_rows_round_trip_times_given_in_any_zone(world):
    rows = [ContactDecision(merchant=world.merchant, channel="sms", purpose="survey", outcome="defer",
                            reason="quiet_hours", until=(AT + timedelta(hours=n)).astimezone(SHANGHAI),
                            contacted=False, actor_id=world.agent.pk, decided_at=AT) for n in range(5)]
    rows_insert_many(rows)
    stored = list(ContactDecision.objects.order_by("pk").values_list("until", "decided_at", "actor_id", "merchant_id"))
    assert stored == [(AT + timedelta(hours=n), AT, world.agent.pk, world.merchant.pk) for n in range(5)]


def test_a_thousand_rows_go_in_one_statement(world):
    with CaptureQueriesContext(connection) as captured:
        rows_insert_many(_messages(1000), returning=True)
    assert len(captured.captured_queries) == 1
    assert OutboxMessage.objects.count() == 1000


def test_an_id_list_selects_what_a_plain_list_selects(world):
    ids = [world.merchant.pk, world.other_merchant.pk, 10**9]
    from posdesk.merchants.models import Merchant

    assert list(Merchant.objects.filter(pk__in=IdList(ids)).order_by("pk").values_list("pk", flat=True)) == sorted(
        [world.merchant.pk, world.other_merchant.pk])
    assert not Merchant.objects.filter(pk__in=IdList([])).exists()
