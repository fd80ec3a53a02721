"""The clocks of one ticket (pure): deadlines from targets, pauses, the at-risk moment, and which
escalations are due. `tickets.sla` feeds it the ticket's fields and stores what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntFlag

from posdesk.slas.business_time import BusinessClock

FIRST_RESPONSE, RESOLUTION, ONSITE = "first_response", "resolution", "onsite"
AT_RISK, BREACHED = "at_risk", "breached"


class Stage(IntFlag):
    """Escalations already done on a ticket, one bit per clock and trigger (Ticket.sla_stages)."""

    FIRST_RESPONSE_AT_RISK = 1
    FIRST_RESPONSE_BREACHED = 2
    RESOLUTION_AT_RISK = 4
    RESOLUTION_BREACHED = 8
    ONSITE_AT_RISK = 16
    ONSITE_BREACHED = 32

    @classmethod
    def of(cls, clock: str, trigger: str) -> Stage:
        return cls[f"{clock}_{trigger}".upper()]


@dataclass(frozen=True)
class Targets:
    first_response_minutes: int
    resolution_minutes: int
    onsite_minutes: int | None = None


@dataclass(frozen=True)
class TicketTimes:
    """What the clocks need to know about a ticket."""

    created_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    onsite_requested_at: datetime | None = None
    onsite_arrived_at: datetime | None = None
    paused_seconds: int = 0  # business time spent waiting on the merchant, already ended
    paused: bool = False  # waiting on the merchant now
    stopped: bool = False  # resolved, closed or cancelled


@dataclass(frozen=True)
class Deadlines:
    first_response_due_at: datetime
    resolution_due_at: datetime
    onsite_due_at: datetime | None

    def due(self, clock: str) -> datetime | None:
        return {FIRST_RESPONSE: self.first_response_due_at, RESOLUTION: self.resolution_due_at,
                ONSITE: self.onsite_due_at}[clock]


def deadlines(clock: BusinessClock, targets: Targets, times: TicketTimes) -> Deadlines:
    """Deadlines counted in business time from the ticket's start, with the time spent waiting on
    the merchant added back. The on-site clock starts when a visit is requested."""
    paused = timedelta(seconds=times.paused_seconds)
    onsite_due = None
    if times.onsite_requested_at is not None and targets.onsite_minutes is not None:
        onsite_due = clock.add_minutes(times.onsite_requested_at, targets.onsite_minutes)
    return Deadlines(
        first_response_due_at=clock.add(times.created_at, timedelta(minutes=targets.first_response_minutes) + paused),
        resolution_due_at=clock.add(times.created_at, timedelta(minutes=targets.resolution_minutes) + paused),
        onsite_due_at=onsite_due,
    )


def running(times: TicketTimes, due: Deadlines) -> list[str]:
    """The clocks that run now (none while paused or stopped)."""
    if times.paused or times.stopped:
        return []
    clocks = []
    if times.first_response_at is None:
        clocks.append(FIRST_RESPONSE)
    if times.resolved_at is None:
        clocks.append(RESOLUTION)
    if due.onsite_due_at is not None and times.onsite_arrived_at is None:
        clocks.append(ONSITE)
    return clocks


def target_minutes(targets: Targets, clock: str) -> int:
    return {FIRST_RESPONSE: targets.first_response_minutes, RESOLUTION: targets.resolution_minutes,
            ONSITE: targets.onsite_minutes or 0}[clock]


def risk_at(clock: BusinessClock, due: datetime, minutes: int, at_risk_share: float) -> datetime:
    """The moment `at_risk_share` of a `minutes` target is used: its last (1 - share) before `due`."""
    return clock.add(due, -timedelta(minutes=minutes * (1 - at_risk_share)))


@dataclass(frozen=True)
class Outlook:
    """What the queue shows and the sweep needs: the nearest running deadline, its at-risk moment,
    when to look at the ticket next, and the escalations due now."""

    due_at: datetime | None
    risk_at: datetime | None
    next_check_at: datetime | None
    due_now: list[tuple[str, str]]


def outlook(clock: BusinessClock, targets: Targets, times: TicketTimes, due: Deadlines, stages: int,
            now: datetime, at_risk_share: float) -> Outlook:
    nearest: tuple[datetime, datetime] | None = None
    checks: list[datetime] = []
    due_now: list[tuple[str, str]] = []
    for name in running(times, due):
        deadline = due.due(name)
        assert deadline is not None
        risk = risk_at(clock, deadline, target_minutes(targets, name), at_risk_share)
        if nearest is None or deadline < nearest[0]:
            nearest = (deadline, risk)
        breached_bit, risk_bit = Stage.of(name, BREACHED), Stage.of(name, AT_RISK)
        if not stages & breached_bit:
            if now >= deadline:
                due_now.append((name, BREACHED))
            else:
                checks.append(deadline)
                if not stages & risk_bit:
                    if now >= risk:
                        due_now.append((name, AT_RISK))
                    else:
                        checks.append(risk)
    return Outlook(
        due_at=nearest[0] if nearest else None,
        risk_at=nearest[1] if nearest else None,
        next_check_at=min(checks) if checks and not due_now else (now if due_now else None),
        due_now=due_now,
    )
