"""Routing and assignment (issue 3, item 6): skills choose the team, presence and capacity choose
the people, the team's strategy chooses one; what finds nobody waits in the team queue and is
taken first when someone frees up; "take next" gives the most urgent ticket — and none of it
breaks when several agents and workers do it at the same moment (real threads, SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from posdesk.accounts.models import Role
from posdesk.audit.models import AuditEntry
from posdesk.core.errors import Conflict, PermissionDenied
from posdesk.core.taxonomy import Category, Channel, Priority, Status
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.routing.assignment import ROUND_ROBIN
from posdesk.routing.models import AgentStatus
from posdesk.routing.services import team_skills_set
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.routing import (
    agent_capacity_change,
    agent_presence_change,
    ticket_route,
    ticket_take_next,
    tickets_assign_waiting,
    tickets_assign_waiting_later,
    tickets_route_burst,
)
from posdesk.tickets.services import ticket_assign, ticket_transition
from tests import factories as f

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ONLINE, AWAY, OFFLINE = AgentStatus.Presence.ONLINE, AgentStatus.Presence.AWAY, AgentStatus.Presence.OFFLINE


def _present(*users, presence: str = ONLINE, capacity: int = 10, languages: tuple[str, ...] = ("zh-hans",)):
    for user in users:
        AgentStatus.objects.update_or_create(
            user=user, defaults={"presence": presence, "capacity": capacity, "languages": list(languages)}
        )


def _skills(world, team, *, categories=(), districts=(), terminal_models=(), strategy="least_loaded"):
    return team_skills_set(
        team=team,
        categories=list(categories),
        terminal_models=list(terminal_models),
        districts=list(districts),
        languages=[],
        strategy=strategy,
        actor=world.admin,
    )


def _ticket(world, **fields) -> Ticket:
    fields.setdefault("merchant", world.merchant)
    fields.setdefault("created_at", timezone.now())
    return f.TicketFactory(**fields)


def _load(user) -> int:
    return Ticket.objects.filter(
        assignee=user,
        status__in=[s for s in Status if s not in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)],
    ).count()


@pytest.fixture
def frontline(world):
    """The frontline team (agent, agent2) takes any ticket; both agents online, capacity 10."""
    _skills(world, world.team)
    _present(world.agent, world.agent2)
    return world.team


# --- skills first -------------------------------------------------------------------------


def test_skills_choose_the_team_before_anyone_is_chosen(world, frontline):
    # given a hardware team for Xihu whose one agent is the busiest person online
    specialist = f.UserFactory(username="hw", role=Role.AGENT)
    hardware = f.TeamFactory(code="hardware-xihu")
    hardware.members.add(specialist)
    _skills(world, hardware, categories=[Category.HARDWARE], districts=[f.district("xihu")])
    _present(specialist)
    for _ in range(3):
        _ticket(world, assignee=specialist, team=hardware)

    # when a hardware ticket from Xihu and a software one arrive
    printer = ticket_route(ticket_id=_ticket(world, category=Category.HARDWARE).pk)
    software = ticket_route(ticket_id=_ticket(world, category=Category.SOFTWARE).pk)

    # then the hardware one goes to the specialist team, the other to frontline
    assert (printer.team, printer.assignee) == (hardware, specialist)
    assert software.team == frontline
    assert software.assignee in (world.agent, world.agent2)


def test_a_ticket_from_another_district_does_not_go_to_the_district_team(world, frontline):
    hardware = f.TeamFactory(code="hardware-xihu")
    _skills(world, hardware, categories=[Category.HARDWARE], districts=[f.district("xihu")])
    ticket = _ticket(world, merchant=world.other_merchant, category=Category.HARDWARE)  # Binjiang
    assert ticket_route(ticket_id=ticket.pk).team == frontline


def test_a_terminal_model_team_takes_tickets_of_its_models(world, frontline):
    smart = f.TerminalModelFactory(code="pax-a920", manufacturer="百富", name="A920")
    smart_team = f.TeamFactory(code="smart-pos")
    _skills(world, smart_team, terminal_models=[smart])
    smart_terminal = f.TerminalFactory(merchant=world.merchant, model=smart)
    assert ticket_route(ticket_id=_ticket(world, terminal=smart_terminal).pk).team == smart_team
    assert ticket_route(ticket_id=_ticket(world, terminal=world.terminal).pk).team == frontline


def test_a_ticket_no_team_fits_is_left_for_people_to_assign(world):
    _skills(world, world.team, categories=[Category.FEES])
    _present(world.agent)
    ticket = ticket_route(ticket_id=_ticket(world, category=Category.HARDWARE).pk)
    assert (ticket.team, ticket.assignee) == (None, None)
    assert not ticket.events.exists()


# --- the strategies -----------------------------------------------------------------------


def test_least_loaded_gives_the_ticket_to_the_least_busy_agent(world, frontline):
    for _ in range(2):
        _ticket(world, assignee=world.agent, team=frontline)
    _ticket(world, assignee=world.agent2, team=frontline)
    assert ticket_route(ticket_id=_ticket(world).pk).assignee == world.agent2


def test_round_robin_takes_turns_whatever_the_load(world, frontline, time_machine):
    time_machine.move_to(NOW, tick=False)
    _skills(world, frontline, strategy=ROUND_ROBIN)
    AgentStatus.objects.filter(user=world.agent).update(last_assigned_at=NOW - timedelta(hours=1))
    AgentStatus.objects.filter(user=world.agent2).update(last_assigned_at=NOW - timedelta(minutes=1))
    for _ in range(3):
        _ticket(world, assignee=world.agent, team=frontline)  # agent is the busier one

    given = []
    for _ in range(4):
        time_machine.shift(timedelta(seconds=1))
        given.append(ticket_route(ticket_id=_ticket(world).pk).assignee)
    assert given == [world.agent, world.agent2, world.agent, world.agent2]


def test_an_automatic_assignment_is_written_like_a_manual_one(world, frontline, time_machine):
    time_machine.move_to(NOW, tick=False)
    ticket = ticket_route(ticket_id=_ticket(world).pk)
    event = ticket.events.get()
    assert (event.kind, event.actor, event.is_public) == (TicketEvent.Kind.ASSIGNED, None, False)
    assert event.data == {
        "changes": {"assignee": [None, ticket.assignee_id], "team": [None, frontline.pk]},
        "assignee": str(ticket.assignee),
        "team": str(frontline),
        "rule": "auto",
    }
    entry = AuditEntry.objects.get(object_type="tickets.ticket", object_id=str(ticket.pk))
    assert entry.changes["rule"] == "auto"
    assert ticket.updated_at == NOW
    assert AgentStatus.objects.get(user=ticket.assignee).last_assigned_at == NOW


# --- capacity and presence ----------------------------------------------------------------


def test_nobody_is_given_more_than_their_capacity_and_the_rest_waits_in_the_team_queue(world, frontline):
    _present(world.agent, world.agent2, capacity=2)
    routed = [ticket_route(ticket_id=_ticket(world).pk) for _ in range(6)]
    assert _load(world.agent) == 2
    assert _load(world.agent2) == 2
    waiting = [t for t in routed if t.assignee is None]
    assert len(waiting) == 2
    assert all(t.team == frontline for t in waiting)
    assert [e.data["changes"] for e in waiting[0].events.all()] == [{"team": [None, frontline.pk]}]


@pytest.mark.parametrize("presence", [AWAY, OFFLINE])
def test_away_and_offline_agents_get_nothing(world, frontline, presence):
    _present(world.agent, world.agent2, presence=presence)
    ticket = ticket_route(ticket_id=_ticket(world).pk)
    assert (ticket.team, ticket.assignee) == (frontline, None)


def test_an_agent_who_does_not_speak_the_language_gets_nothing(world, frontline):
    _present(world.agent, world.agent2, languages=("en",))
    assert ticket_route(ticket_id=_ticket(world).pk).assignee is None


def test_a_closed_or_assigned_ticket_is_left_alone(world, frontline):
    closed = _ticket(world, status=Status.CLOSED)
    mine = _ticket(world, assignee=world.agent2)
    assert ticket_route(ticket_id=closed.pk).assignee is None
    assert ticket_route(ticket_id=mine.pk).assignee == world.agent2
    assert not TicketEvent.objects.exists()


# --- waiting tickets are taken first ------------------------------------------------------


def test_a_waiting_ticket_is_given_as_soon_as_an_agent_comes_online(
    world, frontline, django_capture_on_commit_callbacks
):
    # given everyone offline and a ticket waiting in the team queue
    _present(world.agent, world.agent2, presence=OFFLINE)
    waiting = ticket_route(ticket_id=_ticket(world).pk)
    assert waiting.assignee is None

    # when agent2 comes online
    with django_capture_on_commit_callbacks(execute=True):
        agent_presence_change(user=world.agent2, presence=ONLINE, actor=world.agent2)

    # then the waiting ticket is theirs
    waiting.refresh_from_db()
    assert waiting.assignee == world.agent2


def test_waiting_tickets_are_taken_before_a_newer_one_most_urgent_first(world, frontline):
    # given one agent, full, and three tickets waiting with different deadlines
    _present(world.agent2, presence=OFFLINE)
    _present(world.agent, capacity=1)
    held = _ticket(world, team=frontline, assignee=world.agent)
    late = _ticket(world, team=frontline, sla_due_at=NOW + timedelta(hours=5))
    soon = _ticket(world, team=frontline, sla_due_at=NOW + timedelta(hours=1))
    no_clock = _ticket(world, team=frontline)

    # when the agent resolves their ticket and a new one arrives before anything else runs
    Ticket.objects.filter(pk=held.pk).update(status=Status.RESOLVED)
    new = ticket_route(ticket_id=_ticket(world, sla_due_at=NOW + timedelta(hours=3)).pk)

    # then the most urgent waiting ticket got the free place, the new one waits
    assert new.assignee is None
    assert [Ticket.objects.get(pk=t.pk).assignee for t in (soon, late, no_clock)] == [world.agent, None, None]


def test_resolving_a_ticket_frees_a_place_that_the_queue_fills(
    world, frontline, django_capture_on_commit_callbacks
):
    # given agent (capacity 1) holding an in-progress ticket and another waiting
    _present(world.agent2, presence=OFFLINE)
    _present(world.agent, capacity=1)
    held = _ticket(world, team=frontline, assignee=world.agent, status=Status.IN_PROGRESS)
    waiting = ticket_route(ticket_id=_ticket(world).pk)
    assert waiting.assignee is None

    # when the ticket is resolved and the service asks for the queue to move (as the lead wires it)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(ticket=held, actor=world.agent, to_status=Status.RESOLVED)
        tickets_assign_waiting_later(agent_id=world.agent.pk)

    waiting.refresh_from_db()
    assert waiting.assignee == world.agent


def test_raising_capacity_fills_the_new_room_from_the_queue(
    world, frontline, django_capture_on_commit_callbacks
):
    _present(world.agent2, presence=OFFLINE)
    _present(world.agent, capacity=1)
    routed = [ticket_route(ticket_id=_ticket(world).pk) for _ in range(4)]
    assert [t.assignee for t in routed].count(None) == 3

    with django_capture_on_commit_callbacks(execute=True):
        agent_capacity_change(user=world.agent, capacity=3, actor=world.supervisor)

    assert _load(world.agent) == 3


def test_the_periodic_round_serves_every_team_queue(world, frontline):
    _present(world.agent, world.agent2, presence=OFFLINE)
    for _ in range(3):
        ticket_route(ticket_id=_ticket(world).pk)
    AgentStatus.objects.update(presence=ONLINE)  # e.g. set in the admin: no trigger ran
    assert tickets_assign_waiting() == 3
    assert (_load(world.agent), _load(world.agent2)) in ((1, 2), (2, 1))


# --- manual assignment still works --------------------------------------------------------


def test_a_supervisor_may_still_assign_by_hand_even_beyond_capacity(world, frontline):
    _present(world.agent, capacity=1)
    _ticket(world, team=frontline, assignee=world.agent)
    ticket = _ticket(world, team=frontline)
    event = ticket_assign(ticket=ticket, actor=world.supervisor, assignee=world.agent)
    ticket.refresh_from_db()
    assert ticket.assignee == world.agent
    assert "rule" not in event.data
    assert ticket_route(ticket_id=ticket.pk).assignee == world.agent  # routing leaves it be


# --- take next ----------------------------------------------------------------------------


def test_take_next_gives_the_most_urgent_ticket_of_the_agents_teams(
    world, frontline, django_assert_max_num_queries
):
    # given waiting tickets: by deadline, then priority, then age; one of another team; one assigned
    other_team = f.TeamFactory(code="settlement")
    _ticket(world, team=other_team, sla_due_at=NOW - timedelta(hours=9))
    _ticket(world, team=frontline, assignee=world.agent2, sla_due_at=NOW - timedelta(hours=9))
    no_clock_p1 = _ticket(world, team=frontline, priority=Priority.P1)
    later = _ticket(world, team=frontline, sla_due_at=NOW + timedelta(hours=2))
    sooner_p3 = _ticket(world, team=frontline, priority=Priority.P3, sla_due_at=NOW + timedelta(hours=1))
    sooner_p2_newer = _ticket(
        world, team=frontline, priority=Priority.P2, sla_due_at=NOW + timedelta(hours=1), created_at=NOW
    )
    sooner_p2_older = _ticket(
        world,
        team=frontline,
        priority=Priority.P2,
        sla_due_at=NOW + timedelta(hours=1),
        created_at=NOW - timedelta(hours=1),
    )

    # when the agent presses take next again and again
    with django_assert_max_num_queries(10):
        first = ticket_take_next(agent=world.agent)
    taken = [first] + [ticket_take_next(agent=world.agent) for _ in range(5)]

    # then they get the tickets most urgent first, and nothing of another team
    assert taken == [sooner_p2_older, sooner_p2_newer, sooner_p3, later, no_clock_p1, None]
    event = first.events.get()
    assert (event.actor, event.data["rule"], event.data["changes"]) == (
        world.agent,
        "take_next",
        {"assignee": [None, world.agent.pk]},
    )
    assert AgentStatus.objects.get(user=world.agent).last_assigned_at is not None


def test_take_next_at_capacity_is_refused(world, frontline):
    _present(world.agent, capacity=1)
    _ticket(world, team=frontline, assignee=world.agent)
    waiting = _ticket(world, team=frontline)
    with pytest.raises(Conflict) as caught:
        ticket_take_next(agent=world.agent)
    assert (caught.value.code, caught.value.detail) == ("agent_at_capacity", {"load": 1, "capacity": 1})
    waiting.refresh_from_db()
    assert waiting.assignee is None


@pytest.mark.parametrize("role", ["technician", "vendor", "merchant", "admin"])
def test_only_agents_and_supervisors_take_next(world, role):
    with pytest.raises(PermissionDenied) as caught:
        ticket_take_next(agent=world.users[role])
    assert caught.value.code == "take_next_not_allowed"


def test_take_next_works_for_someone_offline_without_a_status_row(world):
    # the button is an explicit request: presence does not matter, the defaults apply
    ticket = _ticket(world, team=world.team)
    assert ticket_take_next(agent=world.agent) == ticket
    assert AgentStatus.objects.get(user=world.agent).capacity == 10


# --- bursts -------------------------------------------------------------------------------


def _bulk_tickets(world, count: int, **fields) -> list[int]:
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            Ticket(
                number=f"B{n:07d}",
                merchant=world.merchant,
                channel=Channel.PORTAL,
                category=Category.HARDWARE,
                priority=Priority.P2,
                status=Status.NEW,
                subject="刷卡没反应",
                description="刷卡没反应",
                district=world.merchant.district,
                created_at=now,
                updated_at=now,
                **fields,
            )
            for n in range(count)
        ],
        batch_size=500,
    )
    return list(Ticket.objects.filter(number__startswith="B").values_list("pk", flat=True))


def test_a_burst_of_1000_tickets_is_spread_evenly_over_20_agents(world, frontline):
    # given 20 online agents in the team with room for 60 each
    agents = [f.UserFactory(username=f"burst{n}", role=Role.AGENT) for n in range(20)]
    frontline.members.set(agents)
    _present(*agents, capacity=60)
    ids = _bulk_tickets(world, 1000)

    # when the burst is routed
    outcome = tickets_route_burst(ticket_ids=ids)

    # then everything is given out, evenly, each with its timeline event and audit entry
    assert outcome == {"assigned": 1000, "waiting": 0, "unrouted": 0}
    loads = [_load(agent) for agent in agents]
    assert sum(loads) == 1000
    assert max(loads) / min(loads) == 1.0
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 1000
    assert AuditEntry.objects.filter(object_type="tickets.ticket").count() == 1000
    assert AgentStatus.objects.filter(user__in=agents, last_assigned_at__isnull=False).count() == 20


def test_a_burst_beyond_capacity_leaves_the_rest_in_the_queue(world, frontline):
    _present(world.agent, world.agent2, capacity=3)
    ids = _bulk_tickets(world, 10)
    assert tickets_route_burst(ticket_ids=ids) == {"assigned": 6, "waiting": 4, "unrouted": 0}
    assert Ticket.objects.filter(pk__in=ids, team=frontline, assignee__isnull=True).count() == 4


# --- races (real threads) -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_agents_pressing_take_next_together_never_get_the_same_ticket(world, tmp_path):
    # given four waiting tickets and a third agent, all in one team
    agent3 = f.UserFactory(username="agent3", role=Role.AGENT)
    world.team.members.add(agent3)
    agents = [world.agent, world.agent2, agent3]
    tickets = [_ticket(world, team=world.team, sla_due_at=NOW + timedelta(minutes=n)) for n in range(4)]

    with racing_database(tmp_path):
        # when the three press take next at the same moment, twice
        first = run_together(*[lambda a=a: ticket_take_next(agent=a) for a in agents])
        second = run_together(*[lambda a=a: ticket_take_next(agent=a) for a in agents])

        # then the four tickets went to four presses, each ticket once, and one press found nothing
        results = first + second
        assert not [r for r in results if isinstance(r, Exception)], results
        taken = [r.pk for r in results if r is not None]
        assert sorted(taken) == sorted(t.pk for t in tickets)
        assert results.count(None) == 2
        assert TicketEvent.objects.filter(kind=TicketEvent.Kind.ASSIGNED).count() == 4
        for ticket in Ticket.objects.filter(pk__in=taken):
            assert ticket.assignee_id == next(
                r.assignee_id for r in results if r is not None and r.pk == ticket.pk
            )


@pytest.mark.django_db(transaction=True)
def test_one_agent_pressing_take_next_in_two_tabs_stays_within_capacity(world, tmp_path):
    _present(world.agent, capacity=1)
    for n in range(2):
        _ticket(world, team=world.team, sla_due_at=NOW + timedelta(minutes=n))

    with racing_database(tmp_path):
        results = run_together(
            lambda: ticket_take_next(agent=world.agent), lambda: ticket_take_next(agent=world.agent)
        )
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "Ticket"], results
        assert _load(world.agent) == 1


@pytest.mark.django_db(transaction=True)
def test_workers_routing_at_the_same_moment_never_exceed_capacity(world, tmp_path):
    # given two online agents with room for one ticket each and four new tickets
    _skills(world, world.team)
    _present(world.agent, world.agent2, capacity=1)
    tickets = [_ticket(world) for _ in range(4)]

    with racing_database(tmp_path):
        # when four workers route them at the same moment
        results = run_together(*[lambda t=t: ticket_route(ticket_id=t.pk) for t in tickets])

        # then each agent got exactly one; the other two wait in the team queue
        assert not [r for r in results if isinstance(r, Exception)], results
        assert (_load(world.agent), _load(world.agent2)) == (1, 1)
        assert Ticket.objects.filter(team=world.team, assignee__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_burst_and_take_next_racing_never_exceed_capacity_or_share_a_ticket(world, tmp_path):
    # given two agents with room for three each and eight tickets waiting in their team's queue
    _skills(world, world.team)
    _present(world.agent, world.agent2, capacity=3)
    ids = _bulk_tickets(world, 8, team=world.team)

    with racing_database(tmp_path):
        # when a worker routes the burst while both agents press take next
        results = run_together(
            lambda: tickets_route_burst(ticket_ids=ids),
            lambda: ticket_take_next(agent=world.agent),
            lambda: ticket_take_next(agent=world.agent2),
        )

        # then whichever came first, each agent holds three, and every ticket has one event saying so
        problems = [
            r for r in results if isinstance(r, Exception) and getattr(r, "code", "") != "agent_at_capacity"
        ]
        assert not problems, results
        assert (_load(world.agent), _load(world.agent2)) == (3, 3)
        assert (
            TicketEvent.objects.filter(
                kind=TicketEvent.Kind.ASSIGNED, data__changes__has_key="assignee"
            ).count()
            == 6
        )
        assert Ticket.objects.filter(pk__in=ids, assignee__isnull=True).count() == 2


# --- query counts -------------------------------------------------------------------------


def test_routing_one_ticket_costs_a_fixed_number_of_queries(world, frontline, django_assert_max_num_queries):
    for _ in range(5):
        _ticket(world, team=frontline)  # waiting tickets are served in the same round
    ticket = _ticket(world)
    with django_assert_max_num_queries(20):
        ticket_route(ticket_id=ticket.pk)
    assert Ticket.objects.filter(assignee__isnull=False).count() == 6


def test_a_burst_costs_queries_per_agent_and_per_thousand_tickets_not_per_ticket(
    world, frontline, django_assert_max_num_queries
):
    _present(world.agent, world.agent2, capacity=200)
    ids = _bulk_tickets(world, 300)
    with django_assert_max_num_queries(40):
        assert tickets_route_burst(ticket_ids=ids)["assigned"] == 300
