"""The routing rules alone: skills pick the team, capacity and language pick who may take it, the
strategy picks one — and a burst spread in memory follows the same rules, ticket by ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posdesk.routing.assignment import (
    LEAST_LOADED,
    ROUND_ROBIN,
    AgentLoad,
    Placement,
    TeamProfile,
    TicketFacts,
    choose_agent,
    choose_team,
    distribute,
    team_fits,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
HARDWARE = TicketFacts(category="hardware", terminal_model_id=7, district_id=3, language="zh-hans")


def _agent(
    user_id: int,
    load: int = 0,
    capacity: int = 10,
    last: datetime | None = None,
    languages: tuple[str, ...] = ("zh-hans",),
) -> AgentLoad:
    return AgentLoad(
        user_id=user_id, load=load, capacity=capacity, last_assigned_at=last, languages=frozenset(languages)
    )


# --- which team ---------------------------------------------------------------------------


def test_a_team_without_restrictions_fits_every_ticket():
    assert team_fits(TeamProfile(team_id=1), HARDWARE)
    assert team_fits(TeamProfile(team_id=1), TicketFacts("fees", None, None, "en"))


def test_every_restricted_skill_must_contain_the_tickets_value():
    team = TeamProfile(team_id=1, categories=frozenset({"hardware"}), district_ids=frozenset({3, 4}))
    assert team_fits(team, HARDWARE)
    assert not team_fits(team, TicketFacts("software", 7, 3, "zh-hans"))  # wrong category
    assert not team_fits(team, TicketFacts("hardware", 7, 9, "zh-hans"))  # wrong district
    assert not team_fits(TeamProfile(team_id=2, terminal_model_ids=frozenset({8})), HARDWARE)
    assert not team_fits(TeamProfile(team_id=3, languages=frozenset({"en"})), HARDWARE)


def test_an_unknown_value_fits_only_a_team_that_takes_any():
    # given a ticket whose terminal and district are not known yet
    unknown = TicketFacts(category="hardware", terminal_model_id=None, district_id=None, language="zh-hans")
    # then a district specialist does not take it, a team for any district does
    assert not team_fits(TeamProfile(team_id=1, district_ids=frozenset({3})), unknown)
    assert not team_fits(TeamProfile(team_id=1, terminal_model_ids=frozenset({7})), unknown)
    assert team_fits(TeamProfile(team_id=2, categories=frozenset({"hardware"})), unknown)


def test_the_most_specific_fitting_team_wins():
    general = TeamProfile(team_id=1)
    hardware = TeamProfile(team_id=5, categories=frozenset({"hardware"}))
    hardware_xihu = TeamProfile(team_id=9, categories=frozenset({"hardware"}), district_ids=frozenset({3}))
    other_district = TeamProfile(
        team_id=2,
        categories=frozenset({"hardware"}),
        district_ids=frozenset({4}),
        languages=frozenset({"zh-hans"}),
    )
    assert choose_team([general, hardware, hardware_xihu, other_district], HARDWARE) == 9
    assert choose_team([general, hardware], HARDWARE) == 5
    assert choose_team([general], HARDWARE) == 1


def test_equally_specific_teams_go_to_the_lowest_team_id():
    assert (
        choose_team(
            [
                TeamProfile(team_id=8, categories=frozenset({"hardware"})),
                TeamProfile(team_id=3, district_ids=frozenset({3})),
            ],
            HARDWARE,
        )
        == 3
    )


def test_no_fitting_team_means_no_team():
    assert choose_team([TeamProfile(team_id=1, categories=frozenset({"fees"}))], HARDWARE) is None
    assert choose_team([], HARDWARE) is None


# --- which agent --------------------------------------------------------------------------


def test_least_loaded_picks_the_lowest_utilisation_not_the_lowest_count():
    # given one agent at 5 of 20 (25 %) and one at 3 of 10 (30 %)
    agents = [_agent(1, load=3, capacity=10), _agent(2, load=5, capacity=20)]
    assert choose_agent(agents, LEAST_LOADED, "zh-hans") == 2


def test_least_loaded_ties_go_to_who_waited_longest_then_the_lowest_id():
    earlier, later = NOW - timedelta(hours=1), NOW
    assert choose_agent([_agent(1, 2, last=later), _agent(2, 2, last=earlier)], LEAST_LOADED, "zh-hans") == 2
    assert choose_agent([_agent(1, 2, last=earlier), _agent(2, 2, last=None)], LEAST_LOADED, "zh-hans") == 2
    assert choose_agent([_agent(4, 2, last=NOW), _agent(3, 2, last=NOW)], LEAST_LOADED, "zh-hans") == 3


def test_round_robin_picks_who_was_given_work_longest_ago_whatever_their_load():
    agents = [
        _agent(1, load=0, last=NOW),
        _agent(2, load=8, last=NOW - timedelta(minutes=5)),
        _agent(3, load=1, last=NOW - timedelta(minutes=1)),
    ]
    assert choose_agent(agents, ROUND_ROBIN, "zh-hans") == 2
    assert choose_agent([*agents, _agent(9, load=5, last=None)], ROUND_ROBIN, "zh-hans") == 9


def test_nobody_is_given_work_beyond_capacity():
    full = [_agent(1, load=10, capacity=10), _agent(2, load=12, capacity=10)]
    assert choose_agent(full, LEAST_LOADED, "zh-hans") is None
    assert choose_agent(full, ROUND_ROBIN, "zh-hans") is None
    assert choose_agent([*full, _agent(3, load=9, capacity=10)], ROUND_ROBIN, "zh-hans") == 3


def test_an_agent_who_does_not_speak_the_language_is_passed_over():
    agents = [_agent(1, load=0, languages=("zh-hans",)), _agent(2, load=4, languages=("zh-hans", "en"))]
    assert choose_agent(agents, LEAST_LOADED, "en") == 2
    assert choose_agent([_agent(1, languages=("zh-hans",))], LEAST_LOADED, "en") is None
    assert choose_agent([_agent(5, languages=())], LEAST_LOADED, "en") == 5  # empty: any language


def test_an_unknown_strategy_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown strategy"):
        choose_agent([_agent(1)], "random", "zh-hans")


# --- a burst ------------------------------------------------------------------------------


def _burst(count: int, facts: TicketFacts = HARDWARE, team_id: int | None = None):
    return [(n, facts, team_id) for n in range(count)]


def test_a_burst_of_1000_tickets_is_spread_evenly_over_20_agents():
    # given 20 agents with room for 60 each, some already carrying work
    team = TeamProfile(team_id=1)
    agents = [_agent(user_id, load=user_id % 3, capacity=60) for user_id in range(1, 21)]

    # when 1,000 tickets arrive at once
    result = distribute(_burst(1000), [team], {1: agents}, now=NOW)

    # then all are given out and the final loads differ by at most one
    assert (result.assigned, result.waiting) == (1000, 0)
    loads = {a.user_id: a.load for a in agents}
    for placement in result.placements.values():
        loads[placement.user_id] += 1
    assert max(loads.values()) - min(loads.values()) <= 1
    assert max(loads.values()) / min(loads.values()) <= 51 / 50


def test_round_robin_turns_through_the_agents_in_order_within_a_burst():
    team = TeamProfile(team_id=1, strategy=ROUND_ROBIN)
    agents = [
        _agent(1, last=NOW - timedelta(minutes=1)),
        _agent(2, last=None),
        _agent(3, last=NOW - timedelta(minutes=2)),
    ]
    result = distribute(_burst(6), [team], {1: agents}, now=NOW)
    assert [result.placements[n].user_id for n in range(6)] == [2, 3, 1, 2, 3, 1]
    # the stamps grow, so the next round carries on where this one stopped
    assert result.last_assigned_at[1] > result.last_assigned_at[3] > result.last_assigned_at[2]


def test_a_burst_beyond_the_teams_room_leaves_the_rest_waiting_in_the_team():
    team = TeamProfile(team_id=4)
    result = distribute(
        _burst(10), [team], {4: [_agent(1, load=1, capacity=3), _agent(2, load=0, capacity=2)]}, now=NOW
    )
    assert result.assigned == 4
    assert [result.placements[n] for n in range(4, 10)] == [Placement(4, None)] * 6


def test_a_ticket_that_no_team_fits_gets_neither_team_nor_agent():
    team = TeamProfile(team_id=1, categories=frozenset({"fees"}))
    result = distribute(_burst(2), [team], {1: [_agent(1)]}, now=NOW)
    assert set(result.placements.values()) == {Placement(None, None)}


def test_a_ticket_that_already_has_a_team_stays_in_it():
    # given a ticket put in team 2 by hand, though team 1 fits it better
    specific = TeamProfile(team_id=1, categories=frozenset({"hardware"}))
    result = distribute(_burst(1, team_id=2), [specific], {1: [_agent(1)], 2: [_agent(2)]}, now=NOW)
    assert result.placements[0] == Placement(2, 2, NOW)


def test_an_agent_in_two_teams_is_never_filled_past_capacity_by_both():
    # given agent 1 in both teams with room for 3, and agent 2 only in team 20
    shared = _agent(1, capacity=3)
    teams = [
        TeamProfile(team_id=10, categories=frozenset({"hardware"})),
        TeamProfile(team_id=20, categories=frozenset({"software"})),
    ]
    software = TicketFacts("software", None, None, "zh-hans")
    tickets = [(n, HARDWARE if n % 2 else software, None) for n in range(10)]

    result = distribute(tickets, teams, {10: [shared], 20: [shared, _agent(2, capacity=2)]}, now=NOW)

    per_agent = [p.user_id for p in result.placements.values() if p.user_id is not None]
    assert per_agent.count(1) == 3
    assert per_agent.count(2) == 2


def test_the_burst_does_not_change_the_loads_it_was_given():
    agents = [_agent(1, load=2)]
    distribute(_burst(3), [TeamProfile(team_id=1)], {1: agents}, now=NOW)
    assert agents[0].load == 2


agent_lists = st.lists(
    st.builds(
        _agent,
        user_id=st.integers(1, 10**6),
        load=st.integers(0, 12),
        capacity=st.integers(1, 12),
        last=st.one_of(st.none(), st.integers(0, 600).map(lambda s: NOW - timedelta(seconds=s))),
        languages=st.sampled_from([("zh-hans",), ("en",), ("zh-hans", "en"), ()]),
    ),
    max_size=8,
    unique_by=lambda a: a.user_id,
)


@settings(max_examples=200, deadline=None)
@given(
    agents=agent_lists,
    strategy=st.sampled_from([LEAST_LOADED, ROUND_ROBIN]),
    languages=st.lists(st.sampled_from(["zh-hans", "en"]), max_size=40),
)
def test_a_burst_decides_exactly_as_one_ticket_at_a_time(agents, strategy, languages):
    # given tickets in several languages, placed one by one with `choose_agent` and the agent's
    # load and stamp updated after each, as single routing would do
    team = TeamProfile(team_id=1, strategy=strategy)
    current = {a.user_id: a for a in agents}
    expected = []
    for language in languages:
        chosen = choose_agent(current.values(), strategy, language)
        expected.append(chosen)
        if chosen is not None:
            a = current[chosen]
            stamp = NOW + timedelta(microseconds=sum(1 for e in expected if e is not None) - 1)
            current[chosen] = AgentLoad(a.user_id, a.load + 1, a.capacity, stamp, a.languages)

    # when the same tickets come as one burst
    tickets = [
        (n, TicketFacts("hardware", None, None, language), None) for n, language in enumerate(languages)
    ]
    result = distribute(tickets, [team], {1: agents}, now=NOW)

    # then every ticket goes to the same person, and no one ends above capacity
    assert [result.placements[n].user_id for n in range(len(languages))] == expected
    for a in agents:
        given_now = sum(1 for p in result.placements.values() if p.user_id == a.user_id)
        assert given_now == 0 or a.load + given_now <= a.capacity
