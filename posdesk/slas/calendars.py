"""The national working-day rule: statutory holidays and adjusted working days (调休) from the
`chinesecalendar` package, overridden by an admin's entries (pure: no database).

The package knows 2004–2026 and raises NotImplementedError beyond; here a day of a year nobody
knows answers None, which `BusinessClock` counts Monday–Friday and reports in `unknown_years`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import chinese_calendar

from posdesk.slas.business_time import WorkdayRule

PACKAGE_HOLIDAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
PACKAGE_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)  # adjusted working weekend days
PACKAGE_YEARS: frozenset[int] = frozenset(range(min(PACKAGE_HOLIDAYS).year, max(PACKAGE_HOLIDAYS).year + 1))


def statutory_rule(entries: Mapping[date, bool] | None = None) -> WorkdayRule:
    """A rule for `BusinessClock`: True on working days, False on days off, None for a year that
    neither the package nor any entry knows. `entries` ({day: is_workday}) win over the package,
    and a year with at least one entry counts as known (an admin entered that year's schedule)."""
    entries = dict(entries or {})
    known_years = PACKAGE_YEARS | {day.year for day in entries}

    def is_workday(day: date) -> bool | None:
        entry = entries.get(day)
        if entry is not None:
            return entry
        if day.year not in known_years:
            return None
        if day in PACKAGE_WORKDAYS:
            return True
        return day.weekday() < 5 and day not in PACKAGE_HOLIDAYS

    return is_workday


def known_years(entries: Mapping[date, bool] | None = None) -> frozenset[int]:
    return PACKAGE_YEARS | {day.year for day in (entries or {})}
