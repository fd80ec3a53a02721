"""What the intake pipeline costs per ticket, in statements, and what its timeline says: triage's
category, priority and status triaged are one change — one row lock, one SLA refresh, one
timeline event and one audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from posdesk.audit.models import AuditEntry
from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.tickets.models import TicketEvent
from posdesk.triage import pipeline
from posdesk.triage.pipeline import TRIAGE_ACTOR_USERNAME, tickets_triage

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def monday(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)


def _statements(open_ticket: Any, count: int) -> int:
    tickets = [open_ticket(text=f"打印机不出纸 第{i}台", channel="api") for i in range(count)]
    with CaptureQueriesContext(connection) as captured:
        outcome = tickets_triage(ticket_ids=[t.pk for t in tickets])
    assert len(outcome.triaged) == count
    return len(captured.captured_queries)


def test_writing_each_more_ticket_of_a_batch_costs_at_most_twelve_statements(
    world: Any, monday: None, open_ticket: Any, monkeypatch: Any
) -> None:
    pipeline.triage_actor()
    monkeypatch.setattr(
        pipeline, "routing_kick", lambda: None
    )  # routing's queries are counted by its own tests
    # the article search's statements differ per database and are the search's own (knowledge tests)
    monkeypatch.setattr(pipeline, "article_suggest", lambda **kwargs: [])
    _statements(open_ticket, 1)  # warm: the model, the SLA configuration, the response codes

    one, eleven = _statements(open_ticket, 1), _statements(open_ticket, 11)

    # per ticket: its lock and record check, the one triage change (lock, tier, update, event, audit)
    # and the record, with their savepoints — the classify + transition pair took 19
    per_ticket = (eleven - one) / 10
    assert per_ticket <= 12, per_ticket


def test_triage_writes_one_event_and_one_audit_entry_saying_what_it_set(
    world: Any, monday: None, open_ticket: Any
) -> None:
    # given a P1 message opened as the intake defaults (consultation, P3)
    ticket = open_ticket(text="机器黑屏了，完全收不了款，着急！", channel="api")

    tickets_triage(ticket_ids=[ticket.pk])

    # then one timeline event by triage says it all: status new → triaged, category and priority from → to
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.TRIAGED, Priority.P1)
    [event] = TicketEvent.objects.filter(ticket=ticket, actor__username=TRIAGE_ACTOR_USERNAME)
    assert event.kind == TicketEvent.Kind.STATUS_CHANGED
    assert (event.from_status, event.to_status, event.reason) == (Status.NEW, Status.TRIAGED, "triage")
    assert event.data["changes"]["priority"] == [Priority.P3, Priority.P1]
    assert event.data["changes"]["category"] == [Category.CONSULTATION, ticket.category]
    # and one audit entry with the same changes
    [entry] = AuditEntry.objects.filter(actor__username=TRIAGE_ACTOR_USERNAME, object_id=str(ticket.pk))
    assert entry.changes["status"] == [Status.NEW, Status.TRIAGED]
    assert entry.changes["priority"] == [Priority.P3, Priority.P1]


def test_the_agents_timeline_shows_what_triage_set_in_its_one_event(
    world: Any, monday: None, open_ticket: Any
) -> None:
    ticket = open_ticket(text="机器黑屏了，完全收不了款，着急！", channel="api")
    tickets_triage(ticket_ids=[ticket.pk])
    event = TicketEvent.objects.get(ticket=ticket, actor__username=TRIAGE_ACTOR_USERNAME)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.agent)

    page = client.get(reverse("console:ticket", args=[ticket.pk])).content.decode()

    item = page[page.index(f'id="event-{event.pk}"') :]
    item = item[: item.index("</li>")]
    assert "Triaged" in item and "Priority: P3 → P1" in " ".join(item.split())
