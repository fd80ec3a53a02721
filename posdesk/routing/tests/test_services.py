"""Routing data: presence, capacity and languages of agents, skills of teams — who may change them,
what is refused, what is audited — and the selectors that read them for routing."""

from __future__ import annotations

import pytest

from posdesk.accounts.models import Role
from posdesk.audit.models import AuditEntry
from posdesk.core.errors import PermissionDenied, ValidationFailed
from posdesk.core.taxonomy import Status
from posdesk.routing.assignment import ROUND_ROBIN, TeamProfile
from posdesk.routing.models import AgentStatus, TeamSkills
from posdesk.routing.selectors import (
    agent_status_for,
    agents_available_for_team,
    agents_available_for_teams,
    team_profiles,
)
from posdesk.routing.services import (
    agent_capacity_set,
    agent_languages_set,
    agent_presence_set,
    team_skills_set,
)
from tests import factories as f

ONLINE, AWAY, OFFLINE = AgentStatus.Presence.ONLINE, AgentStatus.Presence.AWAY, AgentStatus.Presence.OFFLINE


def _audit_for(status: AgentStatus | TeamSkills) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type=status._meta.label_lower, object_id=str(status.pk)).order_by(
            "pk"
        )
    )


# --- presence -----------------------------------------------------------------------------


def test_an_agent_goes_online_and_it_is_audited(world):
    # when the agent sets their own presence
    status = agent_presence_set(user=world.agent, presence=ONLINE, actor=world.agent)

    # then the row exists with the defaults and the change is in the audit log
    status.refresh_from_db()
    assert (status.presence, status.capacity, status.languages) == (ONLINE, 10, ["zh-hans"])
    [entry] = _audit_for(status)
    assert entry.actor == world.agent
    assert entry.changes == {"presence": [OFFLINE, ONLINE]}


def test_setting_the_same_presence_again_records_nothing(world):
    agent_presence_set(user=world.agent, presence=AWAY, actor=world.agent)
    status = agent_presence_set(user=world.agent, presence=AWAY, actor=world.agent)
    assert len(_audit_for(status)) == 1


def test_a_supervisor_may_set_someone_elses_presence(world):
    status = agent_presence_set(user=world.agent, presence=OFFLINE, actor=world.supervisor)
    assert status.presence == OFFLINE


def test_an_agent_cannot_set_another_agents_presence(world):
    with pytest.raises(PermissionDenied) as caught:
        agent_presence_set(user=world.agent2, presence=ONLINE, actor=world.agent)
    assert caught.value.code == "presence_not_allowed"
    assert not AgentStatus.objects.exists()


def test_an_unknown_presence_is_refused(world):
    with pytest.raises(ValidationFailed) as caught:
        agent_presence_set(user=world.agent, presence="busy", actor=world.agent)
    assert (caught.value.code, caught.value.detail) == ("invalid_presence", {"field": "presence"})


@pytest.mark.parametrize("role", ["technician", "vendor", "merchant"])
def test_only_desk_agents_and_supervisors_take_routed_work(world, role):
    with pytest.raises(ValidationFailed) as caught:
        agent_presence_set(user=world.users[role], presence=ONLINE, actor=world.admin)
    assert caught.value.code == "not_an_agent"


# --- capacity and languages ---------------------------------------------------------------


def test_a_supervisor_sets_capacity_and_it_is_audited(world):
    status = agent_capacity_set(user=world.agent, capacity=25, actor=world.supervisor)
    status.refresh_from_db()
    assert status.capacity == 25
    assert _audit_for(status)[-1].changes == {"capacity": [10, 25]}


@pytest.mark.parametrize("capacity", [0, -1, 201, 1000, "5", 2.5, True, None])
def test_capacity_outside_1_to_200_is_refused(world, capacity):
    with pytest.raises(ValidationFailed) as caught:
        agent_capacity_set(user=world.agent, capacity=capacity, actor=world.supervisor)
    assert (caught.value.code, caught.value.detail) == ("invalid_capacity", {"field": "capacity"})


@pytest.mark.parametrize("capacity", [1, 200])
def test_capacity_at_the_bounds_is_accepted(world, capacity):
    assert agent_capacity_set(user=world.agent, capacity=capacity, actor=world.admin).capacity == capacity


def test_an_agent_cannot_raise_their_own_capacity(world):
    with pytest.raises(PermissionDenied) as caught:
        agent_capacity_set(user=world.agent, capacity=50, actor=world.agent)
    assert caught.value.code == "capacity_not_allowed"


def test_languages_are_checked_against_the_sites_languages(world):
    status = agent_languages_set(user=world.agent, languages=["en", "zh-hans", "en"], actor=world.agent)
    assert status.languages == ["en", "zh-hans"]
    with pytest.raises(ValidationFailed) as caught:
        agent_languages_set(user=world.agent, languages=["fr"], actor=world.agent)
    assert (caught.value.code, caught.value.detail) == (
        "invalid_language",
        {"field": "languages", "values": ["fr"]},
    )


# --- team skills --------------------------------------------------------------------------


def test_team_skills_are_set_and_read_back_as_a_profile(world):
    # given a terminal model and a district the team specialises in
    model = f.TerminalModelFactory()
    xihu = f.district("xihu")

    # when an admin sets the team's skills
    skills = team_skills_set(
        team=world.team,
        categories=["network", "hardware", "hardware"],
        terminal_models=[model],
        districts=[xihu],
        languages=["zh-hans"],
        strategy=ROUND_ROBIN,
        actor=world.admin,
    )

    # then they are stored clean and read back for routing
    assert skills.categories == ["hardware", "network"]
    assert team_profiles() == [
        TeamProfile(
            team_id=world.team.pk,
            categories=frozenset({"hardware", "network"}),
            terminal_model_ids=frozenset({model.pk}),
            district_ids=frozenset({xihu.pk}),
            languages=frozenset({"zh-hans"}),
            strategy=ROUND_ROBIN,
        )
    ]
    [entry] = _audit_for(skills)
    assert entry.action == AuditEntry.Action.CREATE


def test_changing_team_skills_audits_only_what_changed(world):
    kwargs = {
        "team": world.team,
        "terminal_models": [],
        "districts": [],
        "languages": [],
        "actor": world.admin,
    }
    team_skills_set(categories=["hardware"], strategy="least_loaded", **kwargs)
    skills = team_skills_set(categories=["hardware", "software"], strategy="least_loaded", **kwargs)
    assert _audit_for(skills)[-1].changes == {"categories": [["hardware"], ["hardware", "software"]]}
    team_skills_set(categories=["hardware", "software"], strategy="least_loaded", **kwargs)
    assert len(_audit_for(skills)) == 2


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("categories", ["hardware", "printer"], "invalid_category"),
        ("languages", ["de"], "invalid_language"),
        ("strategy", "random", "invalid_strategy"),
    ],
)
def test_bad_team_skills_are_refused(world, field, value, code):
    kwargs = {
        "categories": [],
        "terminal_models": [],
        "districts": [],
        "languages": [],
        "strategy": "least_loaded",
    }
    with pytest.raises(ValidationFailed) as caught:
        team_skills_set(team=world.team, actor=world.admin, **{**kwargs, field: value})
    assert caught.value.code == code
    assert not TeamSkills.objects.exists()


def test_an_agent_cannot_change_team_skills(world):
    with pytest.raises(PermissionDenied):
        team_skills_set(
            team=world.team,
            categories=[],
            terminal_models=[],
            districts=[],
            languages=[],
            strategy="least_loaded",
            actor=world.agent,
        )


def test_an_inactive_skills_row_takes_the_team_out_of_routing(world):
    team_skills_set(
        team=world.team,
        categories=[],
        terminal_models=[],
        districts=[],
        languages=[],
        strategy="least_loaded",
        actor=world.admin,
        is_active=False,
    )
    assert team_profiles() == []


# --- who is available ---------------------------------------------------------------------


def test_only_online_active_agents_of_the_team_are_available_with_their_open_load(
    world, django_assert_num_queries
):
    # given the frontline team: agent online with two open tickets and one resolved,
    # agent2 away, a supervisor online, a deactivated agent online, and a technician online
    supervisor, gone = world.supervisor, f.UserFactory(username="gone", role=Role.AGENT, is_active=False)
    world.team.members.add(supervisor, gone, world.technician)
    for user, presence in [
        (world.agent, ONLINE),
        (world.agent2, AWAY),
        (supervisor, ONLINE),
        (gone, ONLINE),
        (world.technician, ONLINE),
    ]:
        AgentStatus.objects.create(user=user, presence=presence, capacity=12, languages=["zh-hans", "en"])
    for status in (Status.NEW, Status.IN_PROGRESS, Status.RESOLVED):
        f.TicketFactory(merchant=world.merchant, assignee=world.agent, status=status)

    # when routing asks who is available (one query)
    with django_assert_num_queries(1):
        available = agents_available_for_team(world.team.pk)

    # then only the online agent and supervisor, with open tickets counted
    assert [(a.user_id, a.load, a.capacity, a.languages) for a in available] == [
        (world.agent.pk, 2, 12, frozenset({"zh-hans", "en"})),
        (supervisor.pk, 0, 12, frozenset({"zh-hans", "en"})),
    ]


def test_an_agent_in_two_teams_is_available_in_both(world):
    other = f.TeamFactory(code="second-line")
    other.members.add(world.agent)
    AgentStatus.objects.create(user=world.agent, presence=ONLINE)
    available = agents_available_for_teams([world.team.pk, other.pk])
    assert {team: [a.user_id for a in agents] for team, agents in available.items()} == {
        world.team.pk: [world.agent.pk],
        other.pk: [world.agent.pk],
    }


def test_an_agent_without_a_status_row_reads_as_offline_with_the_defaults(world):
    status = agent_status_for(world.agent)
    assert (status.pk, status.presence, status.capacity, status.languages) == (None, OFFLINE, 10, ["zh-hans"])
    assert agents_available_for_team(world.team.pk) == []
