"""Routing and assignment of tickets (issue 3, item 6): who gets a ticket without anyone deciding.

The rules are pure and live in `posdesk.routing.assignment` (skills pick the team, presence and
capacity pick the people, the team's strategy picks one); this module loads the facts, takes the
locks, and writes the outcome like `services.ticket_assign` does — the ticket, an ASSIGNED timeline
event (`data.rule` says which rule gave it) and an audit entry, in one transaction.

Every path that gives out tickets goes through one routine, `_give_out`, which places the tickets
it is handed *together with the team queues' waiting tickets*, most urgent first (next deadline,
then priority, then age). So a ticket that had to wait is always taken before a newer, less urgent
one when someone has room — whoever triggered the round:

- `ticket_route` — one new or changed ticket (call it after the ticket is committed);
- `tickets_assign_waiting` — someone freed up (came online, got more capacity, closed a ticket);
- `tickets_route_burst` — many tickets at once (after an incident; the benchmark), in bulk writes.

`ticket_take_next` is the agent's own button: the most urgent waiting ticket of their teams,
claimed with a conditional UPDATE so two agents pressing it together never get the same ticket.

Race freedom. Automatic assignment never gives anyone more than their capacity, however many
workers route at once: each round first locks the status rows of the agents it may give work to
(user-id order, so rounds never wait on each other crosswise), then counts their open tickets under
that lock, then locks the tickets it writes (id order) and keeps only those still waiting as read.
The lock order is always agent status → ticket, in every path here, so none of them can deadlock
another; `ticket_assign` and the other ticket services take one ticket lock only. On SQLite the
write transaction (BEGIN IMMEDIATE) already runs one at a time; the same code is then simply safe.
A manual assignment (`ticket_assign`) is an override and is not held to capacity.

Triggers. `agent_presence_change` / `agent_capacity_change` wrap the routing services and, after
the commit, give the agent's teams their waiting tickets; `ticket_route_later` and
`tickets_assign_waiting_later` schedule a round for after the surrounding commit (for the ticket
services: a ticket opened, a ticket of an agent resolved). Those rounds run right after the commit
in the same process (`on_commit(robust=True)`: a failure is logged, never undoes the commit); a
round gives out at most the free places of the agents involved, so it is short. To move them onto the
worker, wrap `ticket_route` / `tickets_assign_waiting` in thin tasks and `.delay` them from the two
`*_later` functions — nothing else changes. Never run a round inside a transaction that already
holds a ticket's row lock (e.g. inside `ticket_transition`): that would take ticket → agent status,
the reverse of the order above. The `*_later` functions exist for exactly that case.

Tickets carry no language yet; `ticket_language` answers the site language for every ticket, and
is the one place to change when they do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import Team, User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.errors import Conflict, PermissionDenied
from posdesk.core.jobs import CoalescedJob
from posdesk.core.taxonomy import OPEN_STATUSES, Status
from posdesk.routing.assignment import AgentLoad, Distribution, TicketFacts, choose_team, distribute, speaks
from posdesk.routing.models import AgentStatus
from posdesk.routing.selectors import (
    ROUTABLE_ROLES,
    agent_open_load,
    agents_available_for_team,
    agents_available_for_teams,
    team_profiles,
)
from posdesk.routing.services import agent_capacity_set, agent_presence_set, agent_status_lock
from posdesk.tickets.models import Ticket, TicketEvent

# exactly the condition of the partial index `ticket_unassigned_due_idx`
_OPEN = sorted(OPEN_STATUSES)
# A ticket a mass-outage incident holds (linked, not released) waits on the incident (C7): the
# outage is worked once, not by every agent who gets one of its reports; its reporter has been told
# the incident's status. Resolving the incident resolves or releases the ticket (`released_at`),
# dismissing it releases it, and a released ticket is routed like any other. (The link is the
# incidents app's row, above this layer: named here by its relation only, never imported.)
_NOT_HELD = Q(incident_link__isnull=True) | Q(incident_link__released_at__isnull=False)
URGENCY_ORDER = (F("sla_due_at").asc(nulls_last=True), "priority", "created_at", "id")

RULE_AUTO = "auto"
RULE_TAKE_NEXT = "take_next"

_CHUNK = 1000  # ids per IN (…) list
_NO_DEADLINE = datetime.min.replace(tzinfo=UTC)
_TAKE_NEXT_CANDIDATES = 10  # waiting tickets tried per read before reading again
_TAKE_NEXT_ROUNDS = 5


def ticket_language(ticket: Ticket | None = None) -> str:
    """The language a ticket is served in. Tickets do not record one yet: the site language."""
    return settings.LANGUAGE_CODE


def waiting_tickets(team_ids: Iterable[int] | QuerySet) -> QuerySet[Ticket]:
    """The team queues: open unassigned tickets of these teams that no incident holds, most urgent
    first (read from the partial index `ticket_unassigned_due_idx`)."""
    teams = team_ids if isinstance(team_ids, QuerySet) else list(team_ids)
    return Ticket.objects.filter(
        _NOT_HELD, team_id__in=teams, assignee__isnull=True, status__in=_OPEN
    ).order_by(*URGENCY_ORDER)


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- one round: read, lock, decide, write -------------------------------------------------


@dataclass(slots=True)
class _Waiting:
    """A ticket that may be given out, as read before the round's locks."""

    pk: int
    number: str
    team_id: int | None
    facts: TicketFacts
    urgency: tuple


_ROW_FIELDS = (
    "pk",
    "number",
    "team_id",
    "category",
    "district_id",
    "terminal__model_id",
    "sla_due_at",
    "priority",
    "created_at",
)


def _waiting_rows(queryset: QuerySet[Ticket]) -> list[_Waiting]:
    rows = []
    for (
        pk,
        number,
        team_id,
        category,
        district_id,
        model_id,
        due,
        priority,
        created_at,
    ) in queryset.values_list(*_ROW_FIELDS):
        rows.append(
            _Waiting(
                pk=pk,
                number=number,
                team_id=team_id,
                facts=TicketFacts(
                    category=category,
                    terminal_model_id=model_id,
                    district_id=district_id,
                    language=ticket_language(),
                ),
                # the order of URGENCY_ORDER, for sorting rows read by different queries together
                urgency=(due is None, due or _NO_DEADLINE, priority, created_at, pk),
            )
        )
    return rows


def _lock_available_agents(team_ids: Iterable[int]) -> dict[int, list[AgentLoad]]:
    """Lock the status rows of the agents online in these teams, in user-id order, then count their
    open tickets: nobody else can give them work until this transaction ends, so the counts hold."""
    team_ids = sorted(set(team_ids))
    if not team_ids:
        return {}
    members = Team.members.through.objects.filter(team_id__in=team_ids).values("user_id")
    list(
        AgentStatus.objects.select_for_update()
        .filter(user_id__in=members, presence=AgentStatus.Presence.ONLINE)
        .order_by("user_id")
        .values_list("pk", flat=True)
    )
    return agents_available_for_teams(team_ids)


@dataclass(frozen=True, slots=True)
class RoutingOutcome:
    assigned: int  # tickets given to a person
    waiting: int  # tickets left in a team queue (of those handed in, and of the queues read)
    unrouted: int  # tickets handed in that no team's skills fit: nobody's queue, for people to assign

    def as_dict(self) -> dict[str, int]:
        return {"assigned": self.assigned, "waiting": self.waiting, "unrouted": self.unrouted}


def _give_out(
    ticket_ids: Sequence[int],
    *,
    queue_team_ids: Iterable[int] = (),
    actor: User | None,
    limit: int | None = None,
) -> RoutingOutcome:
    """One round, in the caller's transaction: the open unassigned tickets among `ticket_ids` (but
    those an incident holds) get a team by skills (if they have none); then they and the waiting
    tickets of those teams and of `queue_team_ids` (most urgent first, as many as there are free
    places, at most `limit`) are given to the available agents by the teams' strategies."""
    at = timezone.now()
    fresh: list[_Waiting] = []
    for chunk in _chunks(sorted(set(ticket_ids))):
        fresh += _waiting_rows(
            Ticket.objects.filter(_NOT_HELD, pk__in=chunk, assignee__isnull=True, status__in=_OPEN)
        )
    teams = team_profiles()
    chosen_team = {
        row.pk: row.team_id if row.team_id is not None else choose_team(teams, row.facts) for row in fresh
    }
    team_ids = {team_id for team_id in chosen_team.values() if team_id is not None} | set(queue_team_ids)

    agents_by_team = _lock_available_agents(team_ids)
    if fresh:
        # the lock may have waited for another round or a take-next: drop what they took meanwhile
        still = set()
        for chunk in _chunks([row.pk for row in fresh]):
            still.update(
                Ticket.objects.filter(pk__in=chunk, assignee__isnull=True, status__in=_OPEN).values_list(
                    "pk", flat=True
                )
            )
        fresh = [row for row in fresh if row.pk in still]
    room = sum(
        agent.capacity - agent.load
        for agent in {agent.user_id: agent for agents in agents_by_team.values() for agent in agents}.values()
        if agent.load < agent.capacity
    )
    queued: list[_Waiting] = []
    queue_limit = room if limit is None else min(room, limit)
    if queue_limit > 0 and agents_by_team:
        fresh_ids = {row.pk for row in fresh}
        # fresh tickets that already had a team may be in the queue too: read past them
        overlap = sum(1 for row in fresh if row.team_id is not None)
        queue = waiting_tickets(list(agents_by_team))[: queue_limit + overlap]
        queued = [row for row in _waiting_rows(queue) if row.pk not in fresh_ids][:queue_limit]
        chosen_team.update({row.pk: row.team_id for row in queued})

    rows = sorted([*fresh, *queued], key=lambda row: row.urgency)
    distribution = distribute(
        ((row.pk, row.facts, chosen_team[row.pk]) for row in rows), teams, agents_by_team, now=at
    )
    written = _write_placements({row.pk: row for row in rows}, distribution, actor=actor, at=at)
    unrouted = sum(1 for row in fresh if chosen_team[row.pk] is None)
    return RoutingOutcome(assigned=written, waiting=len(rows) - written - unrouted, unrouted=unrouted)


def _display_names(user_ids: Iterable[int], team_ids: Iterable[int]) -> tuple[dict[int, str], dict[int, str]]:
    users = {
        user.pk: str(user)
        for user in User.objects.filter(pk__in=set(user_ids)).only("username", "display_name")
    }
    teams = {team.pk: str(team) for team in Team.objects.filter(pk__in=set(team_ids)).only("name")}
    return users, teams


def _write_placements(
    rows: dict[int, _Waiting], distribution: Distribution[int], *, actor: User | None, at: datetime
) -> int:
    """Write what `distribute` decided: lock the tickets in id order, keep those still waiting as
    they were read (open, unassigned, same team), update them grouped by (team, agent), and add
    their timeline events and audit entries in bulk. Returns how many got an agent."""
    todo = {
        pk: placement
        for pk, placement in distribution.placements.items()
        if placement.team_id is not None
        and (placement.user_id is not None or rows[pk].team_id != placement.team_id)
    }
    if not todo:
        return 0
    still_waiting: set[int] = set()
    for chunk in _chunks(sorted(todo)):
        locked = (
            Ticket.objects.select_for_update()
            .filter(pk__in=chunk, assignee__isnull=True, status__in=_OPEN)
            .order_by("pk")
            .values_list("pk", "team_id")
        )
        still_waiting.update(pk for pk, team_id in locked if team_id == rows[pk].team_id)
    groups: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
    for pk in sorted(still_waiting):
        groups[(todo[pk].team_id, todo[pk].user_id)].append(pk)
    for (team_id, user_id), ids in groups.items():
        for chunk in _chunks(ids):
            Ticket.objects.filter(pk__in=chunk).update(team_id=team_id, assignee_id=user_id, updated_at=at)

    user_names, team_names = _display_names(
        (user_id for _team, user_id in groups if user_id is not None),
        (team_id for team_id, _user in groups if team_id is not None),
    )
    events, entries = [], []
    last_assigned: dict[int, datetime] = {}
    for pk in sorted(still_waiting):
        placement, before = todo[pk], rows[pk]
        changes: dict[str, list] = {}
        if placement.user_id is not None:
            changes["assignee"] = [None, placement.user_id]
            stamp = placement.assigned_at or at
            last_assigned[placement.user_id] = max(stamp, last_assigned.get(placement.user_id, stamp))
        if placement.team_id != before.team_id:
            changes["team"] = [before.team_id, placement.team_id]
        events.append(
            TicketEvent(
                ticket_id=pk,
                kind=TicketEvent.Kind.ASSIGNED,
                actor=actor,
                created_at=at,
                is_public=False,
                data={
                    "changes": changes,
                    "assignee": user_names.get(placement.user_id or 0),
                    "team": team_names.get(placement.team_id or 0),
                    "rule": RULE_AUTO,
                },
            )
        )
        entries.append(
            AuditEntry(
                actor=actor if getattr(actor, "pk", None) else None,
                action=AuditEntry.Action.UPDATE,
                object_type=Ticket._meta.label_lower,
                object_id=str(pk),
                summary=before.number,
                changes={**changes, "rule": RULE_AUTO},
            )
        )
    TicketEvent.objects.bulk_create(events, batch_size=500)
    AuditEntry.objects.bulk_create(entries, batch_size=500)
    if last_assigned:
        statuses = list(AgentStatus.objects.filter(user_id__in=last_assigned).only("pk", "user_id"))
        for status in statuses:
            status.last_assigned_at = last_assigned[status.user_id]
        AgentStatus.objects.bulk_update(statuses, ["last_assigned_at"])
    return sum(1 for pk in still_waiting if todo[pk].user_id is not None)


# --- the public services ------------------------------------------------------------------


def ticket_route(*, ticket_id: int, actor: User | None = None) -> Ticket:
    """Route one ticket: keep its team or choose one by skills, then give it to an available agent
    of that team — unless more urgent tickets wait in that queue, which are given out first.
    A ticket that is closed or already has an assignee is left alone; one that finds nobody keeps
    (or gets) its team and waits in that queue. Returns the ticket as it is afterwards."""
    with transaction.atomic():
        _give_out([ticket_id], actor=actor)
    return Ticket.objects.select_related("team", "assignee").get(pk=ticket_id)


def tickets_assign_waiting(
    *, team_id: int | None = None, agent_id: int | None = None, limit: int = 500
) -> int:
    """Someone freed up: give the waiting tickets (most urgent first) to the available agents of
    the agent's teams (`agent_id`), of one team (`team_id`), or of every team with a queue (neither).
    Returns how many tickets got an agent."""
    if agent_id is not None:
        team_ids = list(
            Team.members.through.objects.filter(user_id=agent_id).values_list("team_id", flat=True)
        )
    elif team_id is not None:
        team_ids = [team_id]
    else:
        team_ids = list(
            Ticket.objects.filter(team__isnull=False, assignee__isnull=True, status__in=_OPEN)
            .order_by()
            .values_list("team_id", flat=True)
            .distinct()
        )
    if not team_ids:
        return 0
    with transaction.atomic():
        return _give_out([], queue_team_ids=team_ids, actor=None, limit=limit).assigned


def tickets_route_burst(*, ticket_ids: Sequence[int], actor: User | None = None) -> dict[str, int]:
    """Route many tickets at once in bulk — agents loaded and locked once, the burst distributed
    in memory, the tickets written in grouped updates with their events and audit entries in bulk.
    Waiting tickets of the teams involved come first, as in every round.
    Returns {"assigned", "waiting", "unrouted"}."""
    with transaction.atomic():
        return _give_out(list(ticket_ids), actor=actor).as_dict()


def tickets_route_new(
    *, now: datetime | None = None, within: timedelta = timedelta(days=1)
) -> dict[str, int]:
    """Route the new tickets nobody has routed yet (no team, no assignee) from the last day, in one
    burst; run after commits (`routing_kick`) and every minute. Tickets no team's skills fit stay
    in the general queue for the desk, and drop out of this round after a day."""
    now = now or timezone.now()
    ids = list(
        Ticket.objects.filter(
            team__isnull=True, assignee__isnull=True, status__in=_OPEN, created_at__gte=now - within
        )
        .filter(_triage_settled(now))
        .filter(_NOT_HELD)
        .order_by("id")
        .values_list("id", flat=True)[:5000]
    )
    if not ids:
        return {"assigned": 0, "waiting": 0, "unrouted": 0}
    return tickets_route_burst(ticket_ids=ids)


def _triage_settled(now: datetime) -> Q:
    """Tickets routing may place: triaged (no longer `new`: triage sets the category and priority
    the skills and the order read) with the pipeline's follow-ups done when it triaged them (the
    incident detector may link the ticket to an outage, which then holds it instead of an agent),
    or new for longer than ROUTING_TRIAGE_GRACE_SECONDS — triage is down, and the ticket is placed
    by its intake defaults rather than not at all. (The relation is named, not imported: triage
    sits above tickets.)"""
    followed_up = Q(triage_record__isnull=True) | Q(triage_record__followups_done_at__isnull=False)
    return (~Q(status=Status.NEW) & followed_up) | Q(
        created_at__lt=now - timedelta(seconds=settings.ROUTING_TRIAGE_GRACE_SECONDS)
    )


# new tickets are routed after their commit, in one burst per window (core/jobs.py)
routing_kick = CoalescedJob("posdesk.tickets.tasks.tickets_route_new_task")


def ticket_take_next(*, agent: User) -> Ticket | None:
    """Give `agent` the most urgent waiting ticket of their teams (next deadline first, then
    priority, then age), or None if none waits. Refused when they are not a desk agent or
    supervisor, or already hold as many open tickets as their capacity.

    The agent's status row is locked first (so their own two tabs cannot both take the last free
    place), then a candidate is claimed with `UPDATE … WHERE assignee IS NULL`: of two agents
    claiming one ticket, exactly one update matches, and the other tries the next candidate."""
    if agent.role not in ROUTABLE_ROLES or not agent.is_active:
        raise PermissionDenied(
            _("Only agents and supervisors take tickets from the queue."), code="take_next_not_allowed"
        )
    with transaction.atomic():
        status = agent_status_lock(user=agent)
        load = agent_open_load(agent)
        if load >= status.capacity:
            raise Conflict(
                _("You already hold %(load)d open tickets, as many as your capacity of %(capacity)d.")
                % {"load": load, "capacity": status.capacity},
                code="agent_at_capacity",
                detail={"load": load, "capacity": status.capacity},
            )
        if not speaks(frozenset(status.languages or ()), ticket_language()):
            return None
        queue = waiting_tickets(agent.teams.values_list("pk", flat=True))
        for _round in range(_TAKE_NEXT_ROUNDS):
            candidates = list(queue.values_list("pk", flat=True)[:_TAKE_NEXT_CANDIDATES])
            if not candidates:
                return None
            for pk in candidates:
                now = timezone.now()
                claimed = Ticket.objects.filter(pk=pk, assignee__isnull=True, status__in=_OPEN).update(
                    assignee=agent, updated_at=now
                )
                if claimed:
                    return _record_take_next(pk, agent=agent, status=status, at=now)
        return None


def _record_take_next(ticket_id: int, *, agent: User, status: AgentStatus, at: datetime) -> Ticket:
    ticket = Ticket.objects.select_related("team", "vendor").get(pk=ticket_id)
    ticket.assignee = agent
    changes = {"assignee": [None, agent.pk]}
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED,
        actor=agent,
        created_at=at,
        is_public=False,
        data={
            "changes": changes,
            "assignee": str(agent),
            "team": str(ticket.team) if ticket.team else None,
            "vendor": str(ticket.vendor) if ticket.vendor else None,
            "rule": RULE_TAKE_NEXT,
        },
    )
    audit_record(
        actor=agent,
        action=AuditEntry.Action.UPDATE,
        target=ticket,
        summary=ticket.number,
        changes={**changes, "rule": RULE_TAKE_NEXT},
    )
    status.last_assigned_at = at
    status.save(update_fields=["last_assigned_at"])
    return ticket


# --- triggers -----------------------------------------------------------------------------


def ticket_route_later(*, ticket_id: int) -> None:
    """Route the ticket once the surrounding transaction has committed (e.g. from `ticket_open`)."""
    transaction.on_commit(partial(ticket_route, ticket_id=ticket_id), robust=True)


def tickets_assign_waiting_later(*, team_id: int | None = None, agent_id: int | None = None) -> None:
    """Give out waiting tickets once the surrounding transaction has committed — when an agent's
    ticket is resolved or closed (`agent_id`), or a ticket leaves a team (`team_id`)."""
    transaction.on_commit(partial(tickets_assign_waiting, team_id=team_id, agent_id=agent_id), robust=True)


@transaction.atomic
def agent_presence_change(*, user: User, presence: str, actor: User) -> AgentStatus:
    """Set presence (see `routing.services.agent_presence_set`); coming online takes the waiting
    tickets of the agent's teams after the commit."""
    status = agent_presence_set(user=user, presence=presence, actor=actor)
    if status.presence == AgentStatus.Presence.ONLINE:
        tickets_assign_waiting_later(agent_id=user.pk)
    return status


@transaction.atomic
def agent_capacity_change(*, user: User, capacity: int, actor: User) -> AgentStatus:
    """Set capacity (see `routing.services.agent_capacity_set`); room gained is filled from the
    waiting tickets of the agent's teams after the commit."""
    status = agent_capacity_set(user=user, capacity=capacity, actor=actor)
    if status.presence == AgentStatus.Presence.ONLINE:
        tickets_assign_waiting_later(agent_id=user.pk)
    return status


def agent_for_reassignment(*, ticket: Ticket, exclude_user_id: int | None) -> int | None:
    """Another available agent of the ticket's team for an escalation's reassignment (skills are
    the team's; presence, language and capacity checked, the chosen agent's status row locked and
    the load counted again under the lock), or None: the ticket goes back to its team queue.
    Called under the ticket's row lock; it locks one agent row after it, which no path that locks
    agents first ever waits on (they lock unassigned tickets only)."""
    from posdesk.routing.assignment import LEAST_LOADED, choose_agent
    from posdesk.routing.models import TeamSkills

    if ticket.team_id is None:
        return None
    strategy = (
        TeamSkills.objects.filter(team_id=ticket.team_id).values_list("strategy", flat=True).first()
        or LEAST_LOADED
    )
    candidates = [a for a in agents_available_for_team(ticket.team_id) if a.user_id != exclude_user_id]
    while candidates:
        chosen = choose_agent(candidates, strategy, ticket_language(ticket))
        if chosen is None:
            return None
        user = User.objects.get(pk=chosen)
        status = agent_status_lock(user=user)
        if agent_open_load(user) < status.capacity:
            status.last_assigned_at = timezone.now()
            status.save(update_fields=["last_assigned_at"])
            return chosen
        candidates = [a for a in candidates if a.user_id != chosen]
    return None
