"""Escalation: at risk → the assignee is told; breached → the supervisor is told, the priority
rises, the ticket moves to someone free; each once, however often and wherever the sweep runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from posdesk.core.taxonomy import Category, Priority
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.outbox.models import OutboxMessage
from posdesk.slas.clocks import Stage
from posdesk.slas.models import EscalationRule
from posdesk.slas.selectors import sla_config_changed
from posdesk.tickets.escalation import sla_sweep
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.services import ticket_assign, ticket_reply

SH = timezone(timedelta(hours=8))
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)


@pytest.fixture
def only_rules(db):
    """Keep only the default rules for the given clocks (others are deactivated)."""

    def keep(*clocks: str) -> None:
        EscalationRule.objects.exclude(clock__in=clocks).update(is_active=False)
        sla_config_changed()

    return keep


def _escalations(ticket: Ticket) -> list[tuple[str, str, str]]:
    return [(e.data["clock"], e.data["trigger"], e.data["action"])
            for e in ticket.events.filter(kind=TicketEvent.Kind.ESCALATED).order_by("id")]


def test_at_risk_tells_the_assignee_once(world, open_ticket, time_machine, only_rules):
    # given a P2 assigned to an agent with an e-mail address, 30 minutes to first response
    only_rules("first_response")
    world.agent.email = "wang@posdesk.example"
    world.agent.save(update_fields=["email"])
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    ticket_assign(ticket=ticket, actor=world.supervisor, assignee=world.agent)
    # when the sweep runs before and after 75 % of the time is used
    assert sla_sweep(now=MONDAY_10 + timedelta(minutes=20))["escalations"] == 0
    counts = sla_sweep(now=MONDAY_10 + timedelta(minutes=23))
    again = sla_sweep(now=MONDAY_10 + timedelta(minutes=24))
    # then the assignee is told once, on the timeline and by e-mail
    assert counts == {"checked": 1, "escalations": 1}
    assert again["escalations"] == 0
    assert _escalations(ticket) == [("first_response", "at_risk", "notify_assignee")]
    alert = OutboxMessage.objects.get(purpose=OutboxMessage.Purpose.STAFF_ALERT)
    assert alert.recipient == "wang@posdesk.example" and ticket.number in alert.body
    ticket.refresh_from_db()
    assert ticket.sla_stages == Stage.FIRST_RESPONSE_AT_RISK
    assert ticket.sla_next_check_at == ticket.first_response_due_at


def test_a_breach_tells_the_supervisor_and_raises_the_priority(world, open_ticket, time_machine, only_rules):
    # given a P3 answered in time, whose resolution (3 business days) runs out on Thursday 10:00
    only_rules("resolution")
    world.team.supervisor = world.supervisor
    world.team.save(update_fields=["supervisor"])
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = open_ticket(priority=Priority.P3, category=Category.HARDWARE)
    ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team, assignee=world.agent)
    ticket_reply(ticket=ticket, actor=world.agent, body="已收到，正在处理。")
    # when the sweep first runs after the deadline
    sla_sweep(now=datetime(2026, 11, 26, 10, 1, tzinfo=SH))
    # then the breach fires (its warning is moot) and the ticket becomes P2
    assert _escalations(ticket) == [("resolution", "breached", "notify_supervisor"),
                                    ("resolution", "breached", "raise_priority")]
    ticket.refresh_from_db()
    assert ticket.priority == Priority.P2
    assert ticket.sla_stages == Stage.RESOLUTION_AT_RISK | Stage.RESOLUTION_BREACHED
    supervisor_event = ticket.events.filter(kind=TicketEvent.Kind.ESCALATED).first()
    assert supervisor_event.data["notified"] == world.supervisor.pk
    assert not supervisor_event.is_public  # merchants never see escalations


def test_the_sweep_reads_only_due_tickets(world, open_ticket, time_machine, django_assert_max_num_queries):
    time_machine.move_to(MONDAY_10, tick=False)
    for _ in range(5):
        open_ticket(priority=Priority.P3, category=Category.HARDWARE)
    with django_assert_max_num_queries(1):
        assert sla_sweep(now=MONDAY_10 + timedelta(minutes=10)) == {"checked": 0, "escalations": 0}


def test_a_paused_ticket_is_not_escalated(world, open_ticket, time_machine, only_rules):
    from posdesk.core.taxonomy import Status
    from posdesk.tickets.services import ticket_transition

    only_rules("resolution")
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    ticket_reply(ticket=ticket, actor=world.agent, body="请提供照片。")
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.WAITING_MERCHANT)
    assert sla_sweep(now=MONDAY_10 + timedelta(days=10)) == {"checked": 0, "escalations": 0}


@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_escalate_each_ticket_once(world, open_ticket, time_machine, tmp_path):
    # given ten P2 tickets whose first response is overdue
    EscalationRule.objects.exclude(clock="first_response", action="notify_assignee").update(is_active=False)
    sla_config_changed()
    time_machine.move_to(MONDAY_10, tick=False)
    tickets = [open_ticket(priority=Priority.P2, category=Category.HARDWARE) for _ in range(10)]
    for ticket in tickets:
        ticket_assign(ticket=ticket, actor=world.supervisor, assignee=world.agent)
    later = MONDAY_10 + timedelta(minutes=25)  # at risk, not yet breached
    # when two workers run the sweep at the same moment
    with racing_database(tmp_path):
        results = run_together(lambda: sla_sweep(now=later), lambda: sla_sweep(now=later))
        events = list(TicketEvent.objects.filter(kind=TicketEvent.Kind.ESCALATED).values_list("ticket_id", flat=True))
    # then every ticket got exactly one escalation, whichever worker sent it
    assert sorted(events) == sorted(t.pk for t in tickets)
    assert sum(r["escalations"] for r in results) == 10


def _online(*users) -> None:
    from posdesk.routing.models import AgentStatus

    for user in users:
        AgentStatus.objects.update_or_create(user=user, defaults={"presence": AgentStatus.Presence.ONLINE})


def test_a_breached_first_response_moves_the_ticket_to_another_available_agent(world, open_ticket, time_machine,
                                                                                only_rules):
    # given a P2 of the team held by an agent, and a colleague online with room
    only_rules("first_response")
    _online(world.agent, world.agent2)
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team, assignee=world.agent)
    # when its 30 minutes pass without an answer
    sla_sweep(now=MONDAY_10 + timedelta(minutes=31))
    # then the colleague has it, and the timeline says so
    ticket.refresh_from_db()
    assert ticket.assignee == world.agent2
    reassigned = ticket.events.get(kind=TicketEvent.Kind.ESCALATED, data__action="reassign")
    assert reassigned.data["assignee"] == world.agent2.pk


def test_with_nobody_free_a_breached_ticket_goes_back_to_the_team_queue(world, open_ticket, time_machine,
                                                                          only_rules):
    only_rules("first_response")
    time_machine.move_to(MONDAY_10, tick=False)
    ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team, assignee=world.agent)
    sla_sweep(now=MONDAY_10 + timedelta(minutes=31))
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.team == world.team


def test_a_new_ticket_is_routed_by_skills_after_its_commit(world, open_ticket, django_capture_on_commit_callbacks):
    from posdesk.routing.models import TeamSkills

    TeamSkills.objects.create(team=world.team, categories=[Category.HARDWARE])
    _online(world.agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(priority=Priority.P2, category=Category.HARDWARE)
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (world.team, world.agent)
    with django_capture_on_commit_callbacks(execute=True):
        other = open_ticket(priority=Priority.P3, category=Category.FEES)  # no team handles fees
    other.refresh_from_db()
    assert other.team is None and other.assignee is None
