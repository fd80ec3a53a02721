"""Who gets a ticket: the routing rules as plain functions over plain facts (no database), so they
are tested and benchmarked alone. The services in `tickets/routing.py` load the facts, lock what
must not change underneath, and write what these functions decide.

Rules, in order:

1. **Skills pick the team.** A team's skill sets (categories, terminal models, districts,
   languages) each either name the values it handles or are empty, meaning "any". A team fits a
   ticket when every non-empty set contains the ticket's value. A ticket value that is unknown
   (no terminal, no district) fits only an empty set: a specialist team for Xihu takes only tickets
   known to come from Xihu, and what is not known goes to a team that takes anything. Among
   fitting teams the most specific wins (most non-empty sets); equal ones go to the lowest team id,
   so the choice is stable.
2. **Presence and capacity pick the people.** Only agents present (the caller passes only those)
   whose open-ticket load is below their capacity and who speak the ticket's language (an empty
   language list means any) are considered; nobody is ever given work beyond capacity.
3. **The team's strategy picks one of them.**
   - least_loaded: the lowest utilisation `load / capacity` (so an agent with capacity 20 carries
     twice the tickets of one with capacity 10 before they are "equally busy"); ties go to the one
     given work longest ago (never-assigned first), then the lowest user id.
   - round_robin: the one given work longest ago (never-assigned first), then the lowest user id.
4. **Nobody fits → the ticket waits** in its team's queue; `distribute` leaves its user empty.

`distribute` applies the same rules to a whole burst in urgency order, keeping the loads and the
"last given work" stamps in memory (one heap per team, shared agents seen by every team they belong
to), so 10,000 tickets for 200 agents cost milliseconds, not 10,000 × 200 comparisons.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

LEAST_LOADED = "least_loaded"
ROUND_ROBIN = "round_robin"
STRATEGIES = frozenset({LEAST_LOADED, ROUND_ROBIN})

K = TypeVar("K", bound=Hashable)

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What routing looks at on a ticket."""

    category: str
    terminal_model_id: int | None
    district_id: int | None
    language: str


@dataclass(frozen=True, slots=True)
class TeamProfile:
    """A team's skills; an empty set means "any"."""

    team_id: int
    categories: frozenset[str] = frozenset()
    terminal_model_ids: frozenset[int] = frozenset()
    district_ids: frozenset[int] = frozenset()
    languages: frozenset[str] = frozenset()
    strategy: str = LEAST_LOADED

    @property
    def specificity(self) -> int:
        """How many skill sets are restricted: the more, the better the team fits what it fits."""
        return sum(
            1
            for skill in (self.categories, self.terminal_model_ids, self.district_ids, self.languages)
            if skill
        )


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """One present agent: open tickets now, the most they may hold, when they were last given work."""

    user_id: int
    load: int
    capacity: int
    last_assigned_at: datetime | None = None
    languages: frozenset[str] = frozenset()

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


@dataclass(frozen=True, slots=True)
class Placement:
    """Where `distribute` put one ticket: a team (None: no team fits) and a person (None: waits)."""

    team_id: int | None
    user_id: int | None
    assigned_at: datetime | None = None


@dataclass(slots=True)
class Distribution(Generic[K]):
    placements: dict[K, Placement] = field(default_factory=dict)
    # when each agent given work in this burst was given their last ticket (for round-robin)
    last_assigned_at: dict[int, datetime] = field(default_factory=dict)

    @property
    def assigned(self) -> int:
        return sum(1 for placement in self.placements.values() if placement.user_id is not None)

    @property
    def waiting(self) -> int:
        return len(self.placements) - self.assigned


# --- one ticket ---------------------------------------------------------------------------


def _fits(skill: frozenset, value: object) -> bool:
    if not skill:
        return True
    return value is not None and value in skill


def team_fits(team: TeamProfile, facts: TicketFacts) -> bool:
    """Every restricted skill set contains the ticket's value; an unknown value fits only "any"."""
    return (
        _fits(team.categories, facts.category)
        and _fits(team.terminal_model_ids, facts.terminal_model_id)
        and _fits(team.district_ids, facts.district_id)
        and _fits(team.languages, facts.language)
    )


def choose_team(teams: Iterable[TeamProfile], facts: TicketFacts) -> int | None:
    """The fitting team with the most restricted skill sets; ties go to the lowest team id."""
    fitting = [team for team in teams if team_fits(team, facts)]
    if not fitting:
        return None
    return min(fitting, key=lambda team: (-team.specificity, team.team_id)).team_id


def speaks(languages: frozenset[str], language: str) -> bool:
    return not languages or language in languages


def _stamp(last_assigned_at: datetime | None) -> datetime:
    return _NEVER if last_assigned_at is None else last_assigned_at


def _sort_key(
    strategy: str, load: int, capacity: int, last_assigned_at: datetime | None, user_id: int
) -> tuple:
    # load / capacity as a float orders exactly: both are small integers, and IEEE division is
    # correctly rounded, so equal ratios give equal floats and different ones different floats.
    if strategy == ROUND_ROBIN:
        return (_stamp(last_assigned_at), user_id)
    return (load / capacity, _stamp(last_assigned_at), user_id)


def choose_agent(agents: Iterable[AgentLoad], strategy: str, language: str) -> int | None:
    """The agent the strategy picks among those with room who speak `language`; None if nobody."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    eligible = [a for a in agents if a.has_room and speaks(a.languages, language)]
    if not eligible:
        return None
    best = min(eligible, key=lambda a: _sort_key(strategy, a.load, a.capacity, a.last_assigned_at, a.user_id))
    return best.user_id


# --- a burst ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Agent:
    user_id: int
    load: int
    capacity: int
    last_assigned_at: datetime | None
    languages: frozenset[str]
    version: int = 0


class _TeamPool:
    """A heap of one team's agents. An agent shared by several teams is one `_Agent`; when another
    team gives them work, this heap's entry goes stale (its version is old) and is refreshed when
    it surfaces — keys only grow, so a stale entry is never ranked too low."""

    def __init__(self, strategy: str, agents: Iterable[_Agent]) -> None:
        self.strategy = strategy
        self.heap: list[tuple[tuple, int, int]] = []
        self.agents: dict[int, _Agent] = {}
        for agent in agents:
            if agent.user_id not in self.agents:
                self.agents[agent.user_id] = agent
                self._push(agent)

    def _push(self, agent: _Agent) -> None:
        key = _sort_key(self.strategy, agent.load, agent.capacity, agent.last_assigned_at, agent.user_id)
        heapq.heappush(self.heap, (key, agent.version, agent.user_id))

    def take(self, language: str) -> _Agent | None:
        """Pop the agent the strategy picks for `language` (the caller gives them the ticket and
        hands them back with `give_back`); None when nobody here can take it."""
        set_aside: list[tuple[tuple, int, int]] = []
        chosen = None
        while self.heap:
            entry = heapq.heappop(self.heap)
            agent = self.agents[entry[2]]
            if entry[1] != agent.version:
                if agent.load < agent.capacity:
                    self._push(agent)  # refreshed; full agents simply leave the heap
                continue
            if agent.load >= agent.capacity:
                continue
            if not speaks(agent.languages, language):
                set_aside.append(entry)
                continue
            chosen = agent
            break
        for entry in set_aside:
            heapq.heappush(self.heap, entry)
        return chosen

    def give_back(self, agent: _Agent) -> None:
        if agent.load < agent.capacity:
            self._push(agent)


def distribute(
    tickets: Iterable[tuple[K, TicketFacts, int | None]],
    teams: Sequence[TeamProfile],
    agents_by_team: Mapping[int, Sequence[AgentLoad]],
    *,
    now: datetime,
) -> Distribution[K]:
    """Place a burst of tickets, given most urgent first as (key, facts, team already set or None).

    A ticket with a team keeps it (its strategy is the team's, least_loaded if the team has no
    profile); one without gets the team `choose_team` picks. Each placement updates the agent's
    load and stamps them `now` plus one microsecond per placement, so round-robin keeps turning
    inside the burst and the stamps can be stored as the agents' `last_assigned_at`."""
    profiles = {team.team_id: team for team in teams}
    agents: dict[int, _Agent] = {}
    pools: dict[int, _TeamPool] = {}

    def pool_for(team_id: int) -> _TeamPool:
        if team_id not in pools:
            members = []
            for load in agents_by_team.get(team_id, ()):
                agent = agents.get(load.user_id)
                if agent is None:
                    agent = agents[load.user_id] = _Agent(
                        load.user_id, load.load, load.capacity, load.last_assigned_at, load.languages
                    )
                members.append(agent)
            profile = profiles.get(team_id)
            pools[team_id] = _TeamPool(profile.strategy if profile else LEAST_LOADED, members)
        return pools[team_id]

    result: Distribution[K] = Distribution()
    sequence = 0
    for key, facts, team_id in tickets:
        if team_id is None:
            team_id = choose_team(teams, facts)
        if team_id is None:
            result.placements[key] = Placement(None, None)
            continue
        pool = pool_for(team_id)
        agent = pool.take(facts.language)
        if agent is None:
            result.placements[key] = Placement(team_id, None)
            continue
        stamp = now + timedelta(microseconds=sequence)
        sequence += 1
        agent.load += 1
        agent.last_assigned_at = stamp
        agent.version += 1
        pool.give_back(agent)
        result.placements[key] = Placement(team_id, agent.user_id, stamp)
        result.last_assigned_at[agent.user_id] = stamp
    return result
