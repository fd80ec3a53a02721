"""Business-time arithmetic on the China working-day calendar (pure: no database).

Worked examples pin the calendar the way an agent reads it (Asia/Shanghai, 09:00–12:00 and
13:00–18:00, statutory holidays and 调休 working days); the laws below them are checked with
hypothesis over 2005–2030 on that clock and on a single-period 09:00–18:00 clock. Every expected
date was checked against chinesecalendar 1.11.0 when the test was written."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posdesk.slas.business_time import BusinessClock, CalendarError, WorkingHours, local_time, weekday_rule
from posdesk.slas.calendars import known_years, statutory_rule

SHANGHAI = ZoneInfo("Asia/Shanghai")
STANDARD_HOURS = WorkingHours.parse("09:00-12:00,13:00-18:00")
SINGLE_HOURS = WorkingHours.parse("09:00-18:00")

# Built once: laying out twenty-odd years of working periods takes ~20 ms a clock.
STANDARD = BusinessClock(STANDARD_HOURS, statutory_rule())
SINGLE = BusinessClock(SINGLE_HOURS, statutory_rule())
ROUND_THE_CLOCK = BusinessClock(WorkingHours(((0, 1440),)))


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


# --- worked examples: National Day ----------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        # Sat 29 Sep 2018 is an adjusted working day before the 1–7 Oct holiday
        (shanghai(2018, 9, 28, 17, 50), shanghai(2018, 9, 29, 9, 20)),
        # Sat 28 Sep 2024 is off, Sun 29 Sep 2024 is the 调休 working day
        (shanghai(2024, 9, 27, 17, 50), shanghai(2024, 9, 29, 9, 20)),
        # Sat 27 Sep 2025 is off, Sun 28 Sep 2025 is the 调休 working day
        (shanghai(2025, 9, 26, 17, 50), shanghai(2025, 9, 28, 9, 20)),
        # Fri 30 Sep 2022, then 1–7 Oct off; Sat 8 Oct 2022 is an adjusted working day
        (shanghai(2022, 9, 30, 17, 50), shanghai(2022, 10, 8, 9, 20)),
        # Wed 30 Sep 2026 is the last working day before 1–7 Oct 2026
        (shanghai(2026, 9, 30, 17, 50), shanghai(2026, 10, 8, 9, 20)),
    ],
)
def test_a_p2_opened_before_national_day_is_due_on_the_next_working_day(opened, due):
    # given a P2 opened ten minutes before the end of the last working day, with a 30-minute target
    # when its deadline is computed
    deadline = STANDARD.add_minutes(opened, 30)
    # then ten minutes are used that evening and twenty on the next working day
    assert deadline == due
    assert STANDARD.add(opened, minutes(30)) == due
    assert STANDARD.between(opened, deadline) == minutes(30)


# --- worked examples: Spring Festival -------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        # Mon 27 Jan 2025 is the last working day; 28 Jan – 4 Feb 2025 are off
        (shanghai(2025, 1, 27, 17), shanghai(2025, 2, 5, 10)),
        # Sat 25 Jan 2025 is off, Sun 26 Jan 2025 is a 调休 working day
        (shanghai(2025, 1, 24, 17), shanghai(2025, 1, 26, 10)),
        # Sat 14 Feb 2026 is the 调休 working day and the last before 15–23 Feb 2026
        (shanghai(2026, 2, 14, 17), shanghai(2026, 2, 24, 10)),
        (shanghai(2026, 2, 13, 17), shanghai(2026, 2, 14, 10)),
    ],
)
def test_a_ticket_opened_before_spring_festival_runs_on_after_the_holiday(opened, due):
    # given a 120-minute target opened an hour before the end of the working day
    # when its deadline is computed
    deadline = STANDARD.add_minutes(opened, 120)
    # then the second hour falls on the next working day
    assert deadline == due
    assert STANDARD.minutes_between(opened, deadline) == 120.0


def test_the_spring_festival_holiday_counts_no_business_time():
    # given the whole 2026 holiday, Sun 15 – Mon 23 Feb
    first_day_off, first_day_back = shanghai(2026, 2, 15), shanghai(2026, 2, 24)
    # then no business time passes in it, and no instant in it is working time
    assert STANDARD.between(first_day_off, first_day_back) == timedelta(0)
    assert not STANDARD.is_working(shanghai(2026, 2, 17, 10))
    assert STANDARD.is_working(shanghai(2026, 2, 14, 10))  # the 调休 Saturday


# --- worked examples: within a day ----------------------------------------------------------


def test_the_lunch_break_is_not_counted():
    assert STANDARD.add_minutes(shanghai(2025, 3, 4, 11, 50), 20) == shanghai(2025, 3, 4, 13, 10)


def test_a_duration_ending_at_the_end_of_the_day_is_due_at_18_00_not_next_morning():
    assert STANDARD.add_minutes(shanghai(2025, 3, 4, 17, 30), 30) == shanghai(2025, 3, 4, 18)
    assert local_time(STANDARD.add_minutes(shanghai(2025, 3, 4, 17, 30), 30)) == time(18)


def test_a_duration_ending_at_noon_is_due_at_noon_not_after_lunch():
    assert STANDARD.add_minutes(shanghai(2025, 3, 4, 11, 30), 30) == shanghai(2025, 3, 4, 12)


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        (shanghai(2025, 3, 4, 20), shanghai(2025, 3, 5, 9, 30)),  # Tuesday night
        (shanghai(2025, 3, 5, 6), shanghai(2025, 3, 5, 9, 30)),  # Wednesday before work
        (shanghai(2025, 3, 5, 12, 20), shanghai(2025, 3, 5, 13, 30)),  # during lunch
        (shanghai(2025, 3, 8, 22), shanghai(2025, 3, 10, 9, 30)),  # Saturday night
        (shanghai(2025, 3, 9, 15), shanghai(2025, 3, 10, 9, 30)),  # Sunday afternoon
    ],
)
def test_outside_working_hours_the_count_starts_at_the_next_working_period(opened, due):
    assert STANDARD.add_minutes(opened, 30) == due


def test_is_working_includes_a_periods_start_and_excludes_its_end():
    assert STANDARD.is_working(shanghai(2025, 3, 4, 9))
    assert STANDARD.is_working(shanghai(2025, 3, 4, 11, 59))
    assert not STANDARD.is_working(shanghai(2025, 3, 4, 12))
    assert not STANDARD.is_working(shanghai(2025, 3, 4, 18))
    assert not STANDARD.is_working(shanghai(2025, 3, 8, 10))  # Saturday


def test_instants_in_any_time_zone_are_the_same_instants():
    # given 17:50 in Shanghai written as 09:50 UTC
    opened = datetime(2025, 9, 26, 9, 50, tzinfo=UTC)
    # then the deadline is the same instant as for the Shanghai reading
    assert STANDARD.add_minutes(opened, 30) == shanghai(2025, 9, 28, 9, 20)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        STANDARD.add_minutes(datetime(2025, 3, 4, 10), 30)


# --- worked examples: between -----------------------------------------------------------------


def test_between_skips_the_weekend_and_is_negative_when_reversed():
    # given Friday 17:00 and the next Monday 10:00
    friday, monday = shanghai(2025, 3, 7, 17), shanghai(2025, 3, 10, 10)
    # then an hour on Friday and an hour on Monday count
    assert STANDARD.between(friday, monday) == minutes(120)
    assert STANDARD.between(monday, friday) == minutes(-120)
    assert STANDARD.minutes_between(friday, monday) == 120.0
    assert STANDARD.between(friday, friday) == timedelta(0)


def test_a_negative_duration_counts_back_to_the_end_of_the_previous_period():
    # Monday 09:10 minus ten minutes is the end of Friday, the earlier reading of that moment
    assert STANDARD.add(shanghai(2025, 3, 10, 9, 10), minutes(-10)) == shanghai(2025, 3, 7, 18)
    assert STANDARD.add(shanghai(2025, 3, 10, 9, 10), minutes(-20)) == shanghai(2025, 3, 7, 17, 50)


# --- 24×7 -------------------------------------------------------------------------------------


def test_a_round_the_clock_clock_is_plain_time():
    opened = shanghai(2026, 2, 16, 23, 50)  # Spring Festival night
    assert ROUND_THE_CLOCK.always_open
    assert ROUND_THE_CLOCK.add(opened, minutes(30)) == opened + minutes(30)
    assert ROUND_THE_CLOCK.add_minutes(opened, 30) == opened + minutes(30)
    assert ROUND_THE_CLOCK.between(opened, opened + minutes(30)) == minutes(30)
    assert ROUND_THE_CLOCK.is_working(opened)
    assert ROUND_THE_CLOCK.unknown_years_between(opened, shanghai(2030, 1, 1)) == []


def test_a_short_working_day_extends_the_layout_as_far_as_a_long_target_needs():
    # given ten working minutes a weekday, laid out only for 2020–2022
    short_days = BusinessClock(
        WorkingHours.parse("09:00-09:10"), weekday_rule, first_year=2020, last_year=2022
    )
    opened = shanghai(2022, 6, 1, 9)
    # when a target of 2,000 working days is added (about eight calendar years)
    due = short_days.add_minutes(opened, 2000 * 10)
    # then the deadline is the end of a working period, the same on asking again, and exactly that far
    assert local_time(due) == time(9, 10)
    assert short_days.add_minutes(opened, 2000 * 10) == due
    assert short_days.between(opened, due) == minutes(2000 * 10)


def test_whole_days_on_a_working_day_rule_join_up_across_midnight():
    # given 24-hour working days, Monday to Friday
    weekdays_all_day = BusinessClock(
        WorkingHours.parse("00:00-24:00"), weekday_rule, first_year=2024, last_year=2026
    )
    # then Friday 23:00 plus two hours is Monday 01:00, and Thursday 23:00 plus two hours Friday 01:00
    assert weekdays_all_day.add_minutes(shanghai(2025, 3, 7, 23), 120) == shanghai(2025, 3, 10, 1)
    assert weekdays_all_day.add_minutes(shanghai(2025, 3, 6, 23), 120) == shanghai(2025, 3, 7, 1)
    assert weekdays_all_day.is_working(shanghai(2025, 3, 7, 0))


# --- years the calendar does not know ---------------------------------------------------------


def test_a_year_beyond_the_package_counts_monday_to_friday_and_is_reported():
    # given the package knows 2004–2026 and no admin entered 2027
    assert 2027 not in known_years()
    # when a ticket is opened on the last working day of 2026 and on a Friday in 2027
    new_year = STANDARD.add_minutes(shanghai(2026, 12, 31, 17, 50), 30)
    friday = STANDARD.add_minutes(shanghai(2027, 3, 5, 17), 120)
    # then nothing fails: Fri 1 Jan 2027 counts as a working day, the weekend does not
    assert new_year == shanghai(2027, 1, 1, 9, 20)
    assert friday == shanghai(2027, 3, 8, 10)
    # and 2027 is reported so an admin can be warned
    assert 2027 in STANDARD.unknown_years
    assert STANDARD.unknown_years_between(shanghai(2026, 12, 31), new_year) == [2027]
    assert STANDARD.unknown_years_between(shanghai(2026, 1, 1), shanghai(2026, 12, 31, 23)) == []


def test_an_admin_entry_makes_a_year_known():
    # given an admin entered New Year's Day 2027 as a day off
    rule = statutory_rule({date(2027, 1, 1): False})
    clock = BusinessClock(STANDARD_HOURS, rule, first_year=2025, last_year=2027)
    # then 2027 is known and no longer reported
    assert 2027 in known_years({date(2027, 1, 1): False})
    assert 2027 not in clock.unknown_years
    assert clock.unknown_years_between(shanghai(2026, 12, 31), shanghai(2027, 12, 31)) == []
    # and the day is a holiday: the ticket runs on to Monday 4 Jan 2027
    assert rule(date(2027, 1, 1)) is False
    assert rule(date(2027, 1, 4)) is True
    assert rule(date(2027, 1, 2)) is False
    assert clock.add_minutes(shanghai(2026, 12, 31, 17, 50), 30) == shanghai(2027, 1, 4, 9, 20)


def test_a_rule_answers_none_for_a_year_nobody_knows():
    assert statutory_rule()(date(2027, 1, 4)) is None
    assert statutory_rule()(date(2026, 2, 14)) is True  # 调休 Saturday
    assert statutory_rule()(date(2026, 2, 16)) is False  # Spring Festival Monday


def test_admin_entries_override_the_package_both_ways():
    # given an admin who works on National Day 2025 and takes the days around it off
    entries = {date(2025, 9, 28): False, date(2025, 9, 30): False, date(2025, 10, 1): True}
    clock = BusinessClock(STANDARD_HOURS, statutory_rule(entries), first_year=2025, last_year=2026)
    # then the 调休 Sunday is off: Friday's ticket runs on to Monday
    assert clock.add_minutes(shanghai(2025, 9, 26, 17, 50), 30) == shanghai(2025, 9, 29, 9, 20)
    # and the package's working Tuesday is off while the package's holiday Wednesday is worked
    assert clock.add_minutes(shanghai(2025, 9, 29, 17, 50), 30) == shanghai(2025, 10, 1, 9, 20)
    # and the rest of the holiday stays off
    assert clock.add_minutes(shanghai(2025, 10, 1, 17, 50), 30) == shanghai(2025, 10, 9, 9, 20)
    # while the package alone says otherwise
    assert STANDARD.add_minutes(shanghai(2025, 9, 29, 17, 50), 30) == shanghai(2025, 9, 30, 9, 20)


# --- working hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "12:00-09:00",  # reversed
        "09:00-09:00",  # empty
        "09:00-12:00,11:00-13:00",  # overlapping
        "13:00-18:00,09:00-12:00",  # out of order
        "nine to five",
        "09:00",
        "09:00-12:00-13:00",
        "25:00-26:00",
        "09:60-10:00",
        "23:00-24:30",
        "",
        " , ",
    ],
)
def test_working_hours_that_make_no_sense_are_refused(text):
    with pytest.raises(CalendarError):
        WorkingHours.parse(text)


@pytest.mark.parametrize(
    "text", ["09:00-12:00,13:00-18:00", "09:00-18:00", "00:00-24:00", "08:30-12:00,13:30-17:45"]
)
def test_working_hours_read_back_as_written(text):
    assert str(WorkingHours.parse(text)) == text
    assert WorkingHours.parse(str(WorkingHours.parse(text))) == WorkingHours.parse(text)


def test_working_hours_accept_full_width_commas_dashes_and_spaces():
    assert WorkingHours.parse(" 09:00 – 12:00 ， 13:00-18:00 ") == STANDARD_HOURS
    assert STANDARD_HOURS.minutes_per_day == 480
    assert WorkingHours.parse("00:00-24:00").periods == ((0, 1440),)


@st.composite
def working_hours(draw: st.DrawFn) -> WorkingHours:
    bounds = sorted(draw(st.sets(st.integers(0, 1440), min_size=2, max_size=8)))
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
    return WorkingHours(tuple(pairs))


@settings(max_examples=200, deadline=None)
@given(hours=working_hours())
def test_any_working_hours_read_back_as_written(hours):
    assert WorkingHours.parse(str(hours)) == hours


# --- laws -------------------------------------------------------------------------------------

laws = settings(max_examples=200, deadline=None)
clocks = pytest.mark.parametrize("clock", [STANDARD, SINGLE], ids=["09-12,13-18", "09-18"])

MAX_BUSINESS_MINUTES = 30 * 540  # thirty working days of the longer (09:00–18:00) day
BOUNDARY_MINUTES = [0, 9 * 60, 12 * 60, 13 * 60, 18 * 60, 24 * 60 - 1]

any_instant = st.datetimes(
    min_value=datetime(2005, 1, 1),  # hypothesis takes naive bounds
    max_value=datetime(2030, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([SHANGHAI, UTC]),
)
boundary_instant = st.builds(
    lambda day, minute, offset: (
        datetime.combine(day, time(), SHANGHAI) + timedelta(minutes=minute, microseconds=offset)
    ),
    st.dates(date(2005, 1, 1), date(2030, 12, 31)),
    st.sampled_from(BOUNDARY_MINUTES),
    st.sampled_from([-1, 0, 1]),
)
instants = st.one_of(any_instant, boundary_instant)

whole_minutes = st.integers(0, MAX_BUSINESS_MINUTES).map(minutes)
any_micros = st.integers(0, MAX_BUSINESS_MINUTES * 60_000_000).map(lambda us: timedelta(microseconds=us))
durations = st.one_of(whole_minutes, any_micros)
positive_durations = durations.filter(lambda d: d > timedelta(0))


@clocks
@laws
@given(t1=instants, t2=instants, d=durations)
def test_a_later_start_is_never_due_earlier(clock, t1, t2, d):
    early, late = sorted((t1, t2))
    assert clock.add(early, d) <= clock.add(late, d)


@clocks
@laws
@given(t=instants, d1=durations, d2=durations)
def test_a_longer_target_is_never_due_earlier(clock, t, d1, d2):
    short, long = sorted((d1, d2))
    assert clock.add(t, short) <= clock.add(t, long)


@clocks
@laws
@given(t=instants, d1=positive_durations, d2=positive_durations)
def test_adding_in_two_steps_is_adding_once(clock, t, d1, d2):
    assert clock.add(clock.add(t, d1), d2) == clock.add(t, d1 + d2)


@clocks
@laws
@given(t=instants, d=durations)
def test_between_undoes_add(clock, t, d):
    assert clock.between(t, clock.add(t, d)) == d


@clocks
@laws
@given(t1=instants, t2=instants)
def test_add_undoes_between_up_to_the_earlier_reading(clock, t1, t2):
    t, u = sorted((t1, t2))
    elapsed = clock.between(t, u)
    reached = clock.add(t, elapsed)
    assert elapsed >= timedelta(0)
    assert reached <= u
    assert clock.between(t, reached) == elapsed
    assert clock.between(reached, u) == timedelta(0)


@clocks
@laws
@given(a=instants, b=instants, c=instants)
def test_between_adds_up_over_any_middle_instant(clock, a, b, c):
    assert clock.between(a, c) == clock.between(a, b) + clock.between(b, c)
    assert clock.between(c, a) == -clock.between(a, c)


@clocks
@laws
@given(t=instants, d=durations)
def test_counting_back_lands_the_same_business_time_before(clock, t, d):
    due = clock.add(t, d)
    back = clock.add(due, -d)
    assert clock.between(back, due) == d
    assert back <= t
    assert clock.between(back, t) == timedelta(0)


@clocks
@laws
@given(t=instants, whole=st.integers(0, MAX_BUSINESS_MINUTES))
def test_add_minutes_is_add_of_whole_minutes(clock, t, whole):
    assert clock.add_minutes(t, whole) == clock.add(t, minutes(whole))


@laws
@given(
    t=instants,
    d=st.timedeltas(min_value=-minutes(MAX_BUSINESS_MINUTES), max_value=minutes(MAX_BUSINESS_MINUTES)),
)
def test_round_the_clock_arithmetic_is_plain_arithmetic(t, d):
    assert ROUND_THE_CLOCK.add(t, d) == t + d
    assert ROUND_THE_CLOCK.between(t, t + d) == d


def reference_between(hours: WorkingHours, a: datetime, b: datetime) -> timedelta:
    """Business time from a to b (a <= b), day by day: the overlap of [a, b] with each working
    period of each working day. Slow and obvious, to check the layout against."""
    rule = statutory_rule()
    total = timedelta(0)
    day = a.astimezone(SHANGHAI).date()
    while day <= b.astimezone(SHANGHAI).date():
        working = rule(day)
        if working is None:
            working = weekday_rule(day)
        if working:
            midnight = datetime.combine(day, time(), SHANGHAI)
            for start, end in hours.periods:
                period_start, period_end = midnight + minutes(start), midnight + minutes(end)
                overlap = min(b, period_end) - max(a, period_start)
                total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total


@clocks
@laws
@given(a=instants, span=st.integers(0, 60 * 24 * 60).map(minutes))
def test_between_agrees_with_counting_day_by_day(clock, a, span):
    assert clock.between(a, a + span) == reference_between(clock.hours, a, a + span)
