"""Routing places a new ticket after triage has classified it (the skills and the queue order read
the category and priority triage sets), not before with the intake defaults — unless triage has
left it untouched for ROUTING_TRIAGE_GRACE_SECONDS, when it is placed by those defaults."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from posdesk.core.taxonomy import Category, Status
from posdesk.routing.models import TeamSkills
from posdesk.routing.services import agent_presence_set
from posdesk.tickets import services as ticket_services
from posdesk.tickets.routing import tickets_route_new
from posdesk.triage.pipeline import tickets_triage
from tests import factories as f

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def desks(world: Any, time_machine: Any, monkeypatch: Any) -> Any:
    """A consultation desk (world.agent) and a hardware desk (world.agent2), both online; new tickets
    open without the commit-started triage job, as when the job has not run yet."""
    time_machine.move_to(MONDAY_MORNING, tick=False)
    world.team.members.remove(world.agent2)
    TeamSkills.objects.create(team=world.team, categories=[Category.CONSULTATION])
    hardware = f.TeamFactory(code="hardware-desk", name="硬件组")
    hardware.members.add(world.agent2)
    TeamSkills.objects.create(team=hardware, categories=[Category.HARDWARE])
    for agent in (world.agent, world.agent2):
        agent_presence_set(user=agent, presence="online", actor=agent)
    monkeypatch.setattr(ticket_services, "intake_kick", lambda: None)
    world.hardware = hardware
    return time_machine


def test_the_routing_sweep_leaves_an_untriaged_ticket_to_triage(
    world: Any, desks: Any, open_ticket: Any
) -> None:
    # given a printer fault opened a moment ago, not triaged yet (consultation / P3 by default)
    ticket = open_ticket(text="打印机不出纸了", actor=world.merchant_user, channel="portal")
    assert (ticket.status, ticket.category) == (Status.NEW, Category.CONSULTATION)

    # when the routing sweep runs before triage
    routed = tickets_route_new()

    # then it leaves the ticket alone
    ticket.refresh_from_db()
    assert routed == {"assigned": 0, "waiting": 0, "unrouted": 0}
    assert ticket.team_id is None and ticket.assignee_id is None

    # and once triage has classified it, routing gives it to the hardware desk
    tickets_triage(ticket_ids=[ticket.pk])  # routing runs after it (eager in tests)
    ticket.refresh_from_db()
    assert ticket.category == Category.HARDWARE
    assert (ticket.team_id, ticket.assignee_id) == (world.hardware.pk, world.agent2.pk)


def test_a_ticket_triage_never_reached_is_routed_by_its_defaults_after_the_grace_period(
    world: Any, desks: Any, open_ticket: Any, settings: Any
) -> None:
    # given a ticket triage has not reached for longer than the grace period (triage is down)
    ticket = open_ticket(text="打印机不出纸了", actor=world.merchant_user, channel="portal")
    desks.shift(timedelta(seconds=settings.ROUTING_TRIAGE_GRACE_SECONDS - 1))
    assert tickets_route_new()["assigned"] == 0
    desks.shift(timedelta(seconds=2))

    # when the routing sweep runs
    routed = tickets_route_new()

    # then the ticket is placed by its intake defaults rather than not at all
    ticket.refresh_from_db()
    assert routed["assigned"] == 1
    assert ticket.status == Status.NEW and ticket.category == Category.CONSULTATION
    assert (ticket.team_id, ticket.assignee_id) == (world.team.pk, world.agent.pk)


def test_the_routing_sweep_waits_for_the_follow_ups_of_a_triaged_ticket(
    world: Any, desks: Any, open_ticket: Any, monkeypatch: Any
) -> None:
    # given a printer fault triaged, whose follow-ups (the incident detector among them) have not run:
    # the worker stopped between the triage commit and the follow-ups
    from posdesk.triage import pipeline
    from posdesk.triage.models import TriageRecord

    ticket = open_ticket(text="打印机不出纸了", actor=world.merchant_user, channel="portal")
    monkeypatch.setattr(pipeline, "_followups_done", lambda ticket_ids: None)
    monkeypatch.setattr(pipeline, "routing_kick", lambda: None)
    tickets_triage(ticket_ids=[ticket.pk])
    ticket.refresh_from_db()
    assert ticket.status == Status.TRIAGED
    assert TriageRecord.objects.get(ticket=ticket).followups_done_at is None

    # when the routing sweep runs in that moment
    routed = tickets_route_new()

    # then it leaves the ticket to the follow-ups (an outage may hold it)
    ticket.refresh_from_db()
    assert routed == {"assigned": 0, "waiting": 0, "unrouted": 0}
    assert ticket.assignee_id is None

    # and once the follow-ups are done, the sweep places it with the hardware desk
    TriageRecord.objects.filter(ticket=ticket).update(followups_done_at=ticket.created_at)
    assert tickets_route_new()["assigned"] == 1
    ticket.refresh_from_db()
    assert (ticket.team_id, ticket.assignee_id) == (world.hardware.pk, world.agent2.pk)
