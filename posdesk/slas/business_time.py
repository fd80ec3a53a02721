"""Business-time arithmetic on a working-day calendar (pure: no database, no Django).

A `BusinessClock` knows which days are working days (the China calendar with its statutory
holidays and adjusted working days 调休, or every day for 24×7) and the working periods of a working
day (e.g. 09:00–12:00 and 13:00–18:00, Asia/Shanghai). It answers two questions:

    clock.add(start, timedelta(minutes=30))   # the instant 30 business minutes after `start`
    clock.between(a, b)                       # business time from a to b (negative if b < a)

Laws (slas/tests/test_business_time.py checks them with hypothesis): `add` is monotonic in both
arguments; `add(add(t, x), y) == add(t, x + y)`; `between(t, add(t, x)) == x`; `between` is additive
over any middle instant. A duration that ends exactly where a working period ends is due at that
end (18:00), not at the next period's start.

How it is fast (≥ 100,000 deadlines a second, bench/sla.py): the working periods of all days in
a range of years are laid out once as sorted arrays of [start, end) instants in microseconds since
the epoch, with the business time accumulated before each period; `add` and `between` are then two
binary searches and a little arithmetic. Asia/Shanghai has had no daylight-saving time since 1991,
so local midnight is always 16:00 UTC of the day before.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MICROS_PER_MINUTE = 60_000_000
MICROS_PER_DAY = 86_400_000_000
SHANGHAI_OFFSET = timedelta(hours=8)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SHANGHAI_MICROS = 8 * 3_600_000_000


class CalendarError(ValueError):
    """Working hours that make no sense (overlapping, reversed, outside the day)."""


def to_micros(instant: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact; no float rounding)."""
    if instant.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    seconds, remainder = divmod(micros, 1_000_000)
    return EPOCH + timedelta(0, seconds, remainder)  # positional: the cheapest exact way


def _local_midnight_micros(day: date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * MICROS_PER_DAY - _SHANGHAI_MICROS


def _local_day(micros: int) -> date:
    return date.fromordinal((micros + _SHANGHAI_MICROS) // MICROS_PER_DAY + _EPOCH_ORDINAL)


@dataclass(frozen=True)
class WorkingHours:
    """The working periods of one working day, local time, as (start, end) minutes after midnight:
    ((540, 720), (780, 1080)) is 09:00–12:00 and 13:00–18:00; ((0, 1440),) is the whole day."""

    periods: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarError("a working day needs at least one working period")
        previous_end = 0
        for start, end in self.periods:
            if not (0 <= start < end <= 1440) or start < previous_end:
                raise CalendarError(f"working periods must be ordered and within the day: {self.periods}")
            previous_end = end

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """"09:00-12:00,13:00-18:00" → WorkingHours; "00:00-24:00" is the whole day."""
        periods = []
        for part in text.replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                start_text, end_text = (piece.strip() for piece in part.replace("–", "-").split("-"))
                periods.append((_minutes(start_text), _minutes(end_text)))
            except ValueError as exc:
                raise CalendarError(f"not a working period (HH:MM-HH:MM): {part!r}") from exc
        return cls(tuple(periods))

    def __str__(self) -> str:
        return ",".join(f"{_clock(start)}-{_clock(end)}" for start, end in self.periods)

    @property
    def minutes_per_day(self) -> int:
        return sum(end - start for start, end in self.periods)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not (0 <= int(minutes) < 60) or not (0 <= value <= 1440):
        raise ValueError(text)
    return value


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# A day's kind: True working day, False day off, None the calendar does not know this year.
WorkdayRule = Callable[[date], "bool | None"]


def weekday_rule(day: date) -> bool:
    """Monday to Friday: the fallback for a year the holiday calendar does not know."""
    return day.weekday() < 5


class BusinessClock:
    """Business-time arithmetic for one working-hours pattern on one working-day rule.

    `is_workday(day)` answers True / False, or None for a day whose year the rule does not know;
    such days fall back to Monday–Friday and their years are listed in `unknown_years`, so the
    caller can warn an admin instead of failing."""

    def __init__(self, hours: WorkingHours, is_workday: WorkdayRule | None = None, *,
                 first_year: int = 2004, last_year: int | None = None) -> None:
        self.hours = hours
        self.always_open = is_workday is None and hours.periods == ((0, 1440),)
        # calendar time one unit of business time may need: twice the day over the working day
        # (weekends and holidays), so 6 for 8 hours a day; long holidays are the 400 days in `_add`
        self._reach_factor = -(-2 * 1440 // hours.minutes_per_day)
        self._is_workday = is_workday or (lambda _day: True)
        self.unknown_years: set[int] = set()
        self._lock = threading.Lock()
        self._first_year = first_year
        self._last_year = last_year if last_year is not None else date.today().year + 3
        self._layout = _Layout([], [], [], 0, 0)
        if not self.always_open:
            self._layout = self._build(self._first_year, self._last_year)

    # --- layout ------------------------------------------------------------------------------

    def _build(self, first_year: int, last_year: int) -> _Layout:
        starts: list[int] = []
        ends: list[int] = []
        cumulative: list[int] = []
        unknown: set[int] = set()
        total = 0
        periods = [(start * MICROS_PER_MINUTE, end * MICROS_PER_MINUTE) for start, end in self.hours.periods]
        day = date(first_year, 1, 1)
        last = date(last_year, 12, 31)
        one_day = timedelta(days=1)
        while day <= last:
            working = self._is_workday(day)
            if working is None:
                unknown.add(day.year)
                working = weekday_rule(day)
            if working:
                midnight = _local_midnight_micros(day)
                for start, end in periods:
                    if ends and ends[-1] == midnight + start:  # 24-hour days join up
                        ends[-1] = midnight + end
                    else:
                        starts.append(midnight + start)
                        ends.append(midnight + end)
                        cumulative.append(total)
                    total += end - start
            day += one_day
        if not starts:
            raise CalendarError("no working day at all in the calendar's years")
        self._first_year, self._last_year = first_year, last_year
        self.unknown_years = unknown
        return _Layout(starts, ends, cumulative, _local_midnight_micros(date(first_year, 1, 1)),
                       _local_midnight_micros(last + one_day))

    def _cover(self, earliest: int, latest: int) -> _Layout:
        """The layout, extended when [earliest, latest] reaches beyond it (rarely)."""
        layout = self._layout
        if layout.lo <= earliest and latest < layout.hi:
            return layout
        with self._lock:
            first, last = self._first_year, self._last_year
            while _local_midnight_micros(date(first, 1, 1)) > earliest:
                first -= 5
            while _local_midnight_micros(date(last + 1, 1, 1)) <= latest:
                last += 5
            if first < 1900 or last > 2400:
                raise CalendarError("instant out of the calendar's range")
            if (first, last) != (self._first_year, self._last_year):
                self._layout = self._build(first, last)
            return self._layout

    # --- the two operations ------------------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant `duration` of business time after `start` (before it, if negative).
        A result on a period boundary is the earlier reading: 18:00, not 09:00 the next day."""
        amount = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
        if self.always_open or amount == 0:
            return start + duration
        return from_micros(self._add(to_micros(start), amount))

    def add_minutes(self, start: datetime, minutes: int) -> datetime:
        """`add` for whole business minutes (SLA targets), without building a timedelta."""
        if self.always_open or minutes == 0:
            return start + timedelta(minutes=minutes)
        return from_micros(self._add(to_micros(start), minutes * MICROS_PER_MINUTE))

    def _add(self, micros: int, amount: int) -> int:
        reach = abs(amount) * self._reach_factor + 400 * MICROS_PER_DAY
        layout = self._layout
        if not (layout.lo <= micros - reach and micros + reach < layout.hi):
            layout = self._cover(micros - reach, micros + reach)
        return layout.instant(layout.position(micros) + amount)

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time from `a` to `b`; negative when `b` is earlier."""
        if self.always_open:
            return b - a
        ma, mb = to_micros(a), to_micros(b)
        layout = self._cover(min(ma, mb), max(ma, mb))
        return timedelta(microseconds=layout.position(mb) - layout.position(ma))

    def minutes_between(self, a: datetime, b: datetime) -> float:
        return self.between(a, b) / timedelta(minutes=1)

    def is_working(self, instant: datetime) -> bool:
        """Whether `instant` falls inside a working period."""
        if self.always_open:
            return True
        micros = to_micros(instant)
        layout = self._cover(micros, micros)
        i = bisect.bisect_right(layout.starts, micros) - 1
        return i >= 0 and micros < layout.ends[i]

    def unknown_years_between(self, a: datetime, b: datetime) -> list[int]:
        """Years in [a, b] the working-day rule did not know (computed Monday–Friday)."""
        if self.always_open or not self.unknown_years:
            return []
        first, last = _local_day(to_micros(min(a, b))).year, _local_day(to_micros(max(a, b))).year
        return sorted(year for year in self.unknown_years if first <= year <= last)


@dataclass(frozen=True)
class _Layout:
    """Working periods [starts[i], ends[i]) in epoch micros, and the business micros before each.
    Replaced whole when extended, so a reader always sees one consistent layout."""

    starts: list[int]
    ends: list[int]
    cumulative: list[int]
    lo: int
    hi: int

    def position(self, micros: int) -> int:
        """Business micros from the start of the layout to `micros`."""
        i = bisect.bisect_right(self.starts, micros) - 1
        if i < 0:
            return 0
        end = self.ends[i]
        return self.cumulative[i] + (micros if micros < end else end) - self.starts[i]

    def instant(self, position: int) -> int:
        """The earliest instant at business `position`: inside a period, or at its end."""
        j = bisect.bisect_left(self.cumulative, position) - 1
        if j < 0:
            return self.starts[0] + max(position, 0)
        return self.starts[j] + position - self.cumulative[j]


def local_time(instant: datetime) -> time:
    return (instant.astimezone(UTC) + SHANGHAI_OFFSET).time()
