"""Reads of the service-standard configuration, kept as one in-process snapshot.

Policies, calendars, team hours, holiday entries and escalation rules change a few times a year
but are read on every ticket write, so each process keeps a snapshot with the business clocks
laid out, rebuilt after `SLA_CONFIG_TTL_SECONDS` or at once when this process changes the
configuration (`sla_config_changed`). Another process sees a change within the TTL."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from posdesk.slas.business_time import BusinessClock, WorkingHours
from posdesk.slas.calendars import PACKAGE_HOLIDAYS, known_years, statutory_rule
from posdesk.slas.clocks import Targets
from posdesk.slas.models import BusinessCalendar, EscalationRule, HolidayEntry, SlaPolicy, TeamCalendar

logger = logging.getLogger("posdesk.slas")
SHANGHAI = timezone.get_fixed_timezone(8 * 60)


@dataclass(frozen=True)
class ServiceStandard:
    """What a ticket is promised: the matching policy's targets on its business clock."""

    policy: SlaPolicy  # shared, read-only: part of the process's snapshot
    targets: Targets
    calendar_code: str
    clock: BusinessClock


@dataclass
class _Snapshot:
    policies: list[SlaPolicy]
    calendars: dict[int, BusinessCalendar]
    team_calendars: dict[int, int]
    entries: dict[date, bool]
    rules: list[EscalationRule]
    loaded_at: float
    clocks: dict[int, BusinessClock] = field(default_factory=dict)

    def clock(self, calendar: BusinessCalendar) -> BusinessClock:
        found = self.clocks.get(calendar.pk)
        if found is None:
            if calendar.around_the_clock:
                found = BusinessClock(WorkingHours(((0, 1440),)))
            else:
                found = BusinessClock(WorkingHours.parse(calendar.working_hours), statutory_rule(self.entries))
            self.clocks[calendar.pk] = found
        return found


_lock = threading.Lock()
_snapshot: _Snapshot | None = None


def sla_config_changed() -> None:
    """Forget the snapshot (this process); services call it after every configuration write."""
    global _snapshot
    _snapshot = None


def _config() -> _Snapshot:
    global _snapshot
    snapshot = _snapshot
    if snapshot is not None and time.monotonic() - snapshot.loaded_at < settings.SLA_CONFIG_TTL_SECONDS:
        return snapshot
    with _lock:
        calendars = {c.pk: c for c in BusinessCalendar.objects.all()}
        snapshot = _Snapshot(
            policies=list(SlaPolicy.objects.filter(is_active=True).order_by("order", "id")),
            calendars=calendars,
            team_calendars=dict(TeamCalendar.objects.values_list("team_id", "calendar_id")),
            entries=dict(HolidayEntry.objects.values_list("day", "is_workday")),
            rules=list(EscalationRule.objects.filter(is_active=True).order_by("order", "id")),
            loaded_at=time.monotonic(),
        )
        _snapshot = snapshot
    return snapshot


def default_calendar(snapshot: _Snapshot | None = None) -> BusinessCalendar | None:
    snapshot = snapshot or _config()
    for calendar in snapshot.calendars.values():
        if calendar.code == settings.SLA_DEFAULT_CALENDAR:
            return calendar
    return next((c for c in snapshot.calendars.values() if not c.around_the_clock), None)


def calendar_for_team(team_id: int | None, snapshot: _Snapshot | None = None) -> BusinessCalendar | None:
    snapshot = snapshot or _config()
    calendar_id = snapshot.team_calendars.get(team_id) if team_id is not None else None
    return snapshot.calendars.get(calendar_id) if calendar_id else default_calendar(snapshot)


def sla_policy_match(policies: list[SlaPolicy], *, priority: str, merchant_tier: str, category: str,
                     channel: str) -> SlaPolicy | None:
    """The most specific active policy whose every set criterion matches; ties go to the lower
    `order`, then the older policy."""
    best: SlaPolicy | None = None
    for policy in policies:  # already in (order, id) order
        if ((policy.priority and policy.priority != priority)
                or (policy.merchant_tier and policy.merchant_tier != merchant_tier)
                or (policy.category and policy.category != category)
                or (policy.channel and policy.channel != channel)):
            continue
        if best is None or policy.specificity > best.specificity:
            best = policy
    return best


def service_standard_for(*, priority: str, merchant_tier: str, category: str, channel: str,
                         team_id: int | None) -> ServiceStandard | None:
    snapshot = _config()
    policy = sla_policy_match(snapshot.policies, priority=priority, merchant_tier=merchant_tier,
                              category=category, channel=channel)
    if policy is None:
        return None
    calendar = snapshot.calendars.get(policy.calendar_id) if policy.calendar_id else calendar_for_team(
        team_id, snapshot)
    if calendar is None:
        return None
    return ServiceStandard(
        policy=policy,
        targets=Targets(policy.first_response_minutes, policy.resolution_minutes, policy.onsite_minutes),
        calendar_code=calendar.code, clock=snapshot.clock(calendar),
    )


def escalation_rules_for(*, clock: str, trigger: str, priority: str) -> list[EscalationRule]:
    return [rule for rule in _config().rules
            if rule.clock == clock and rule.trigger == trigger and rule.priority in ("", priority)]


def unknown_calendar_years(*, today: date | None = None, lookahead_days: int = 90) -> list[int]:
    """Years from today's to the one `lookahead_days` ahead that neither the package nor an admin's
    entries know: their deadlines are counted Monday–Friday until someone enters the schedule."""
    today = today or timezone.now().astimezone(SHANGHAI).date()
    last = (today + timedelta(days=lookahead_days)).year
    known = known_years(_config().entries)
    return [year for year in range(today.year, last + 1) if year not in known]


_warned: set[int] = set()


def warn_unknown_years(clock: BusinessClock, start: datetime, end: datetime) -> list[int]:
    """Log (once per process and year) that a deadline was counted on a year nobody entered."""
    years = clock.unknown_years_between(start, end)
    for year in years:
        if year not in _warned:
            _warned.add(year)
            logger.warning("working-day calendar does not know %s: counted Monday to Friday; "
                           "enter the year's holidays (posdesk calendar import)", year)
    return years


def holiday_entries_from(day: date) -> list[HolidayEntry]:
    """Holiday-calendar entries from `day` on, for the admin's calendar page."""
    return list(HolidayEntry.objects.filter(day__gte=day).order_by("day"))


def holiday_entry_years() -> list[int]:
    return sorted({d.year for d in HolidayEntry.objects.dates("day", "year")})


def is_public_holiday(day: date) -> bool:
    """A statutory day off (春节, 国庆 …; not an ordinary weekend), with the admin's entries winning."""
    entry = _config().entries.get(day)
    if entry is not None:
        return not entry
    return day in PACKAGE_HOLIDAYS


def business_clock(calendar: BusinessCalendar | None = None) -> BusinessClock | None:
    """The working-time clock of `calendar` (default: the default calendar), for deadlines that
    are not a ticket's (a callback's 15 business minutes)."""
    snapshot = _config()
    calendar = calendar or default_calendar(snapshot)
    return snapshot.clock(calendar) if calendar is not None else None
