"""Reads for routing: team skills as `TeamProfile`s and the present agents with their open load as
`AgentLoad`s, ready for the rules in `assignment.py`.

The load is counted through the relation name `assigned_tickets` (tickets sit above routing and
are never imported here)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, FilteredRelation, Q

from posdesk.accounts.models import Role, Team, User
from posdesk.core.taxonomy import OPEN_STATUSES
from posdesk.routing.assignment import AgentLoad, TeamProfile
from posdesk.routing.models import AgentStatus, TeamSkills

# who routing gives tickets to; technicians and vendors get field work through work orders
ROUTABLE_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})

_OPEN = sorted(OPEN_STATUSES)


def team_profiles() -> list[TeamProfile]:
    """Every team that takes routed tickets (an active skills row), lowest team id first."""
    skills = list(
        TeamSkills.objects.filter(is_active=True)
        .order_by("team_id")
        .values_list("pk", "team_id", "categories", "languages", "strategy")
    )
    if not skills:
        return []
    ids = [row[0] for row in skills]
    models_of: dict[int, set[int]] = defaultdict(set)
    for skills_id, model_id in TeamSkills.terminal_models.through.objects.filter(
        teamskills_id__in=ids
    ).values_list("teamskills_id", "terminalmodel_id"):
        models_of[skills_id].add(model_id)
    districts_of: dict[int, set[int]] = defaultdict(set)
    for skills_id, district_id in TeamSkills.districts.through.objects.filter(
        teamskills_id__in=ids
    ).values_list("teamskills_id", "district_id"):
        districts_of[skills_id].add(district_id)
    return [
        TeamProfile(
            team_id=team_id,
            categories=frozenset(categories or ()),
            terminal_model_ids=frozenset(models_of[pk]),
            district_ids=frozenset(districts_of[pk]),
            languages=frozenset(languages or ()),
            strategy=strategy,
        )
        for pk, team_id, categories, languages, strategy in skills
    ]


def agents_available_for_teams(team_ids: Iterable[int]) -> dict[int, list[AgentLoad]]:
    """{team id: its members who may take routed work now} — active agents and supervisors whose
    presence is online, each with their open-ticket load — in one query. Teams with nobody
    available are missing from the answer. A member of two teams appears under both."""
    team_ids = sorted(set(team_ids))
    if not team_ids:
        return {}
    membership = Team.members.through.objects.filter(
        team_id__in=team_ids,
        user__is_active=True,
        user__role__in=sorted(ROUTABLE_ROLES),
        user__agent_status__presence=AgentStatus.Presence.ONLINE,
    )
    rows = (
        membership
        # the join condition carries the status filter, so the count reads only open tickets
        # from the (assignee, status, …) index, not an agent's whole history
        .annotate(
            open_tickets=FilteredRelation(
                "user__assigned_tickets", condition=Q(user__assigned_tickets__status__in=_OPEN)
            )
        )
        .values_list(
            "team_id",
            "user_id",
            "user__agent_status__capacity",
            "user__agent_status__last_assigned_at",
            "user__agent_status__languages",
        )
        .annotate(load=Count("open_tickets"))
        .order_by("team_id", "user_id")
    )
    available: dict[int, list[AgentLoad]] = defaultdict(list)
    for team_id, user_id, capacity, last_assigned_at, languages, load in rows:
        available[team_id].append(
            AgentLoad(
                user_id=user_id,
                load=load,
                capacity=capacity,
                last_assigned_at=last_assigned_at,
                languages=frozenset(languages or ()),
            )
        )
    return dict(available)


def agents_available_for_team(team_id: int) -> list[AgentLoad]:
    """The members of one team who may take routed work now, with their open load (one query)."""
    return agents_available_for_teams([team_id]).get(team_id, [])


def agent_open_load(user: User) -> int:
    """How many open tickets `user` holds now."""
    return user.assigned_tickets.filter(status__in=_OPEN).count()


def agent_status_for(user: User) -> AgentStatus:
    """The agent's status row, or an unsaved default one (offline, capacity 10) if none exists."""
    status = AgentStatus.objects.filter(user=user).first()
    return status if status is not None else AgentStatus(user=user)
