"""The clocks of one ticket (pure: no database): deadlines, pauses, which clocks run, the at-risk
moment and the escalations due now."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from posdesk.slas.business_time import BusinessClock, WorkingHours
from posdesk.slas.calendars import statutory_rule
from posdesk.slas.clocks import (
    AT_RISK,
    BREACHED,
    FIRST_RESPONSE,
    ONSITE,
    RESOLUTION,
    Deadlines,
    Outlook,
    Stage,
    Targets,
    TicketTimes,
    deadlines,
    outlook,
    risk_at,
    running,
    target_minutes,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
STANDARD = BusinessClock(WorkingHours.parse("09:00-12:00,13:00-18:00"), statutory_rule())
ROUND_THE_CLOCK = BusinessClock(WorkingHours(((0, 1440),)))
P1 = Targets(first_response_minutes=15, resolution_minutes=240, onsite_minutes=120)
P2 = Targets(first_response_minutes=30, resolution_minutes=480)
AT_RISK_SHARE = 0.75


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


# --- deadlines --------------------------------------------------------------------------------


def test_a_p1_on_a_round_the_clock_calendar_is_due_in_plain_minutes():
    # given a P1 opened on Spring Festival night
    opened = shanghai(2026, 2, 16, 23, 50)
    # when its deadlines are computed on 24×7
    due = deadlines(ROUND_THE_CLOCK, P1, TicketTimes(created_at=opened))
    # then holidays and nights do not matter, and no visit was requested
    assert due.first_response_due_at == opened + minutes(15)
    assert due.resolution_due_at == opened + minutes(240)
    assert due.onsite_due_at is None


def test_a_p2_on_working_hours_runs_over_the_national_day_weekend():
    # given a P2 opened at 17:50 on Friday 26 Sep 2025 (Sat off, Sun 28 Sep a 调休 working day)
    opened = shanghai(2025, 9, 26, 17, 50)
    # when its deadlines are computed on the standard working hours
    due = deadlines(STANDARD, P2, TicketTimes(created_at=opened))
    # then ten minutes count on Friday and the rest on Sunday
    assert due.first_response_due_at == shanghai(2025, 9, 28, 9, 20)
    assert due.resolution_due_at == shanghai(2025, 9, 28, 17, 50)
    assert due.onsite_due_at is None
    assert due.due(FIRST_RESPONSE) == due.first_response_due_at
    assert due.due(RESOLUTION) == due.resolution_due_at
    assert due.due(ONSITE) is None


def test_the_onsite_clock_starts_when_a_visit_is_requested():
    # given a P1 on working hours whose visit was requested at 16:30 on a Monday
    times = TicketTimes(
        created_at=shanghai(2025, 3, 10, 9), onsite_requested_at=shanghai(2025, 3, 10, 16, 30)
    )
    # when its deadlines are computed
    due = deadlines(STANDARD, P1, times)
    # then the 120-minute on-site target runs from the request, over the night
    assert due.onsite_due_at == shanghai(2025, 3, 11, 9, 30)


def test_a_request_for_a_visit_without_an_onsite_target_has_no_onsite_deadline():
    times = TicketTimes(created_at=shanghai(2025, 3, 10, 9), onsite_requested_at=shanghai(2025, 3, 10, 10))
    assert deadlines(STANDARD, P2, times).onsite_due_at is None


@pytest.mark.parametrize("paused_seconds", [1, 600, 3 * 3600, 2 * 8 * 3600 + 17])
@pytest.mark.parametrize("clock", [STANDARD, ROUND_THE_CLOCK], ids=["standard", "24x7"])
def test_time_waiting_on_the_merchant_pushes_deadlines_by_exactly_that_business_time(clock, paused_seconds):
    # given the same ticket without and with time spent waiting on the merchant
    opened = shanghai(2025, 9, 26, 11, 50)
    running_all_along = deadlines(clock, P1, TicketTimes(created_at=opened))
    paused_a_while = deadlines(clock, P1, TicketTimes(created_at=opened, paused_seconds=paused_seconds))
    # then both clocks counted from opening move by that business time
    pause = timedelta(seconds=paused_seconds)
    assert (
        clock.between(running_all_along.first_response_due_at, paused_a_while.first_response_due_at) == pause
    )
    assert clock.between(running_all_along.resolution_due_at, paused_a_while.resolution_due_at) == pause
    assert paused_a_while.first_response_due_at == clock.add(opened, minutes(15) + pause)


def test_ten_minutes_on_hold_move_a_lunchtime_deadline_ten_minutes():
    # given a P2 opened at 11:50, due 13:20 after lunch
    opened = shanghai(2025, 3, 4, 11, 50)
    assert deadlines(STANDARD, P2, TicketTimes(created_at=opened)).first_response_due_at == shanghai(
        2025, 3, 4, 13, 20
    )
    # when ten minutes were spent waiting on the merchant
    due = deadlines(STANDARD, P2, TicketTimes(created_at=opened, paused_seconds=600))
    # then it is due at 13:30
    assert due.first_response_due_at == shanghai(2025, 3, 4, 13, 30)


# --- which clocks run -------------------------------------------------------------------------

OPENED = shanghai(2025, 3, 10, 10)
ALL_DUE = Deadlines(
    first_response_due_at=OPENED + minutes(15), resolution_due_at=OPENED + minutes(240), onsite_due_at=None
)


def test_a_new_ticket_runs_first_response_and_resolution():
    assert running(TicketTimes(created_at=OPENED), ALL_DUE) == [FIRST_RESPONSE, RESOLUTION]


@pytest.mark.parametrize(
    "times",
    [
        TicketTimes(created_at=OPENED, paused=True),
        TicketTimes(created_at=OPENED, stopped=True),
        TicketTimes(created_at=OPENED, onsite_requested_at=OPENED, paused=True),
    ],
    ids=["paused", "stopped", "paused-with-visit"],
)
def test_no_clock_runs_while_paused_or_stopped(times):
    due = deadlines(STANDARD, P1, times)
    assert running(times, due) == []


def test_an_answered_ticket_no_longer_runs_first_response():
    times = TicketTimes(created_at=OPENED, first_response_at=OPENED + minutes(5))
    assert running(times, ALL_DUE) == [RESOLUTION]


def test_the_onsite_clock_runs_only_from_the_request_until_the_engineer_arrives():
    # given a P1 before, during and after a visit
    before = TicketTimes(created_at=OPENED)
    requested = TicketTimes(created_at=OPENED, onsite_requested_at=OPENED + minutes(30))
    arrived = TicketTimes(
        created_at=OPENED, onsite_requested_at=OPENED + minutes(30), onsite_arrived_at=OPENED + minutes(90)
    )
    # then the on-site clock runs only between request and arrival
    assert ONSITE not in running(before, deadlines(STANDARD, P1, before))
    assert running(requested, deadlines(STANDARD, P1, requested)) == [FIRST_RESPONSE, RESOLUTION, ONSITE]
    assert ONSITE not in running(arrived, deadlines(STANDARD, P1, arrived))


# --- the at-risk moment -----------------------------------------------------------------------


def test_a_30_minute_target_is_at_risk_seven_and_a_half_minutes_before_it_is_due_on_24x7():
    due = shanghai(2026, 2, 17, 3)
    assert risk_at(ROUND_THE_CLOCK, due, 30, AT_RISK_SHARE) == due - timedelta(minutes=7, seconds=30)


def test_on_working_hours_the_at_risk_moment_counts_back_in_business_time():
    # given a 30-minute target due at Monday 09:05
    due = shanghai(2025, 3, 10, 9, 5)
    # then the last 7.5 minutes start at Friday 17:57:30
    assert risk_at(STANDARD, due, 30, AT_RISK_SHARE) == shanghai(2025, 3, 7, 17, 57, 30)


def test_target_minutes_name_the_target_of_each_clock():
    assert target_minutes(P1, FIRST_RESPONSE) == 15
    assert target_minutes(P1, RESOLUTION) == 240
    assert target_minutes(P1, ONSITE) == 120
    assert target_minutes(P2, ONSITE) == 0


# --- outlook: what the sweep does next -------------------------------------------------------

P1_TIMES = TicketTimes(created_at=OPENED)
P1_DUE = deadlines(ROUND_THE_CLOCK, P1, P1_TIMES)  # first response 10:15, resolution 14:00
FIRST_RESPONSE_RISK = OPENED + timedelta(minutes=11, seconds=15)  # 75 % of 15 minutes
RESOLUTION_RISK = OPENED + minutes(180)


def look(now: datetime, stages: int = 0, times: TicketTimes = P1_TIMES) -> Outlook:
    return outlook(ROUND_THE_CLOCK, P1, times, P1_DUE, stages, now, AT_RISK_SHARE)


def test_a_fresh_ticket_shows_its_nearest_deadline_and_is_next_looked_at_when_at_risk():
    # when the sweep looks a minute after opening
    seen = look(OPENED + minutes(1))
    # then the first response is nearest, nothing is due, and the next look is its at-risk moment
    assert seen.due_at == OPENED + minutes(15)
    assert seen.risk_at == FIRST_RESPONSE_RISK
    assert seen.next_check_at == FIRST_RESPONSE_RISK
    assert seen.due_now == []


def test_passing_the_at_risk_moment_makes_the_at_risk_escalation_due():
    now = FIRST_RESPONSE_RISK
    seen = look(now)
    assert seen.due_now == [(FIRST_RESPONSE, AT_RISK)]
    assert seen.next_check_at == now


def test_once_the_at_risk_escalation_is_done_the_next_look_is_the_deadline():
    seen = look(FIRST_RESPONSE_RISK + minutes(1), stages=Stage.FIRST_RESPONSE_AT_RISK)
    assert seen.due_now == []
    assert seen.next_check_at == OPENED + minutes(15)


def test_passing_the_deadline_makes_the_breach_due_and_not_the_at_risk_escalation():
    now = OPENED + minutes(15)
    seen = look(now)
    assert seen.due_now == [(FIRST_RESPONSE, BREACHED)]
    assert seen.next_check_at == now


def test_escalations_already_done_are_not_due_again():
    # given both first-response escalations are done, an hour after opening
    done = Stage.FIRST_RESPONSE_AT_RISK | Stage.FIRST_RESPONSE_BREACHED
    seen = look(OPENED + minutes(60), stages=done)
    # then nothing is due and the next look is the resolution's at-risk moment
    assert seen.due_now == []
    assert seen.next_check_at == RESOLUTION_RISK
    assert seen.due_at == OPENED + minutes(15)  # still the nearest running deadline


def test_every_clock_past_its_deadline_is_breached_at_once():
    # given nobody answered and nothing was resolved, five hours after opening
    seen = look(OPENED + minutes(300))
    assert seen.due_now == [(FIRST_RESPONSE, BREACHED), (RESOLUTION, BREACHED)]


def test_a_fully_escalated_ticket_needs_no_further_look():
    every_bit = Stage.FIRST_RESPONSE_BREACHED | Stage.RESOLUTION_BREACHED
    seen = look(OPENED + minutes(300), stages=every_bit)
    assert seen.due_now == []
    assert seen.next_check_at is None


def test_an_answered_ticket_is_watched_for_resolution_only():
    answered = TicketTimes(created_at=OPENED, first_response_at=OPENED + minutes(5))
    seen = look(OPENED + minutes(20), times=answered)
    assert seen.due_at == OPENED + minutes(240)
    assert seen.risk_at == RESOLUTION_RISK
    assert seen.next_check_at == RESOLUTION_RISK
    assert seen.due_now == []


@pytest.mark.parametrize(
    "times", [TicketTimes(created_at=OPENED, paused=True), TicketTimes(created_at=OPENED, stopped=True)]
)
def test_a_paused_or_stopped_ticket_has_no_outlook(times):
    seen = look(OPENED + minutes(300), times=times)
    assert (seen.due_at, seen.risk_at, seen.next_check_at, seen.due_now) == (None, None, None, [])


def test_the_onsite_clock_escalates_like_the_others():
    # given a visit requested at opening, with first response and resolution escalations done
    times = TicketTimes(created_at=OPENED, first_response_at=OPENED + minutes(5), onsite_requested_at=OPENED)
    due = deadlines(ROUND_THE_CLOCK, P1, times)
    # when the sweep looks 100 minutes in (on-site due at 120, at risk at 90)
    seen = outlook(ROUND_THE_CLOCK, P1, times, due, 0, OPENED + minutes(100), AT_RISK_SHARE)
    # then the on-site clock is at risk
    assert seen.due_at == OPENED + minutes(120)
    assert seen.due_now == [(ONSITE, AT_RISK)]


# --- stages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "trigger", "stage"),
    [
        (FIRST_RESPONSE, AT_RISK, Stage.FIRST_RESPONSE_AT_RISK),
        (FIRST_RESPONSE, BREACHED, Stage.FIRST_RESPONSE_BREACHED),
        (RESOLUTION, AT_RISK, Stage.RESOLUTION_AT_RISK),
        (RESOLUTION, BREACHED, Stage.RESOLUTION_BREACHED),
        (ONSITE, AT_RISK, Stage.ONSITE_AT_RISK),
        (ONSITE, BREACHED, Stage.ONSITE_BREACHED),
    ],
)
def test_each_clock_and_trigger_has_its_own_stage_bit(clock, trigger, stage):
    assert Stage.of(clock, trigger) is stage


def test_stage_bits_are_distinct_single_bits():
    values = [int(stage) for stage in Stage]
    assert len(set(values)) == 6
    assert all(value & (value - 1) == 0 for value in values)


def test_an_unknown_clock_has_no_stage():
    with pytest.raises(KeyError):
        Stage.of("lunch", AT_RISK)
