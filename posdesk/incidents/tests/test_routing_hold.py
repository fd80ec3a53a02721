"""Tickets an incident holds wait on the incident instead of being routed one by one — the flood of
duplicate work a mass outage would otherwise make. Resolving the incident resolves or releases
them; dismissing it releases them; a released ticket is routed like any other."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from posdesk.core.taxonomy import Status
from posdesk.incidents.models import Incident
from posdesk.incidents.services import incident_resolve, incident_set_status
from posdesk.incidents.tests.builders import incident_linking, merchants_in, tickets_at
from posdesk.routing.models import AgentStatus
from posdesk.routing.services import team_skills_set
from posdesk.tickets.models import Ticket
from posdesk.tickets.routing import (
    ticket_route,
    ticket_take_next,
    tickets_assign_waiting,
    tickets_route_burst,
    tickets_route_new,
)


@pytest.fixture
def desk(world):
    """The frontline team takes any ticket; both its agents are online with room for 50 each."""
    team_skills_set(
        team=world.team,
        categories=[],
        terminal_models=[],
        districts=[],
        languages=[],
        strategy="least_loaded",
        actor=world.admin,
    )
    for user in (world.agent, world.agent2):
        AgentStatus.objects.update_or_create(
            user=user, defaults={"presence": "online", "capacity": 50, "languages": ["zh-hans"]}
        )
    return world.team


@pytest.fixture
def held(world, desk):
    """30 reports held by an open incident, 2 unrelated ones; all triaged ten minutes ago."""
    created = timezone.now() - timedelta(minutes=10)
    outage = tickets_at(merchants_in("xihu", 10), [created] * 30)
    others = tickets_at(merchants_in("binjiang", 2), [created] * 2, text="打印机不出纸", category="hardware")
    Ticket.objects.filter(pk__in=[t.pk for t in [*outage, *others]]).update(status=Status.TRIAGED)
    incident = incident_linking(outage)
    return incident, [t.pk for t in outage], [t.pk for t in others]


def assigned(ids) -> set[int]:
    return set(Ticket.objects.filter(pk__in=ids, assignee__isnull=False).values_list("pk", flat=True))


@pytest.mark.django_db
def test_routing_leaves_the_tickets_an_incident_holds_to_the_incident(world, held):
    incident, outage, others = held
    # when every routing path runs: the minute round, a burst of all of them, one ticket, the queues
    tickets_route_new()
    tickets_route_burst(ticket_ids=[*outage, *others])
    ticket_route(ticket_id=outage[0])
    tickets_assign_waiting()
    # then the unrelated tickets are assigned, and none of the incident's
    assert assigned(others) == set(others)
    assert assigned(outage) == set()


@pytest.mark.django_db
def test_take_next_skips_the_tickets_an_incident_holds(world, held):
    incident, outage, others = held
    Ticket.objects.filter(pk__in=[*outage, *others]).update(team=world.team)  # all in the team's queue
    taken = [ticket_take_next(agent=world.agent) for _ in range(3)]
    assert {t.pk for t in taken if t is not None} == set(others) and taken[2] is None


@pytest.mark.django_db
def test_an_incident_resolved_with_release_gives_its_tickets_to_the_agents(
    world, held, django_capture_on_commit_callbacks
):
    incident, outage, others = held
    tickets_route_new()
    assert assigned(outage) == set()
    # when the supervisor resolves the incident, releasing its tickets to the queue
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=world.supervisor, resolution=Incident.Resolution.RELEASE)
    # then they are released, and routed like any other ticket
    assert not incident.links.filter(released_at__isnull=True).exists()
    assert assigned(outage) == set(outage)
    assert Ticket.objects.filter(pk__in=outage, assignee=world.agent).count() == 15  # least loaded: evenly


@pytest.mark.django_db
def test_an_incident_resolved_with_resolve_closes_its_tickets_and_gives_nobody_work(
    world, held, django_capture_on_commit_callbacks
):
    incident, outage, _others = held
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=world.supervisor, resolution=Incident.Resolution.RESOLVE)
    assert set(Ticket.objects.filter(pk__in=outage).values_list("status", flat=True)) == {Status.RESOLVED}
    assert assigned(outage) == set()


@pytest.mark.django_db
def test_a_dismissed_proposal_sends_its_tickets_to_the_queues(
    world, held, django_capture_on_commit_callbacks
):
    incident, outage, _others = held
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.PROPOSED)
    incident.refresh_from_db()
    tickets_route_new()
    assert assigned(outage) == set()
    with django_capture_on_commit_callbacks(execute=True):
        incident_set_status(incident=incident, actor=world.supervisor, to_status="dismissed")
    assert assigned(outage) == set(outage)


@pytest.mark.django_db
def test_a_resolved_incident_whose_settling_never_ran_is_settled_by_the_upkeep(world, held):
    from posdesk.incidents.services import detector_upkeep

    incident, outage, _others = held
    # given an incident resolved long ago with nothing left to settle
    earlier = incident_linking([], status=Incident.Status.RESOLVED)
    Incident.objects.filter(pk=earlier.pk).update(
        resolved_at=timezone.now() - timedelta(days=3), resolution="release"
    )
    # and an incident resolved (releasing its tickets) whose settling job was lost
    incident_resolve(incident=incident, actor=world.supervisor, resolution=Incident.Resolution.RELEASE)
    assert incident.links.filter(released_at__isnull=True).count() == 30 and assigned(outage) == set()
    # when the hourly upkeep runs
    with time_machine.travel(timezone.now() + timedelta(minutes=30), tick=False):
        result = detector_upkeep()
    # then the tickets are released and routed
    assert result["incidents_settled"] == 1
    assert not incident.links.filter(released_at__isnull=True).exists()
    assert assigned(outage) == set(outage)


@pytest.mark.django_db
def test_the_team_queue_with_held_tickets_still_costs_a_fixed_number_of_queries(
    world, held, django_assert_max_num_queries
):
    incident, outage, others = held
    Ticket.objects.filter(pk__in=[*outage, *others]).update(team=world.team)
    with django_assert_max_num_queries(20):
        assert tickets_assign_waiting() == 2
