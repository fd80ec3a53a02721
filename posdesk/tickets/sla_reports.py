"""Reads for the supervisor's SLA reports: attainment over a period by team, priority or category,
and the tickets at risk or breached right now. Everything is read from stored deadlines; nothing
is recomputed per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.core.errors import PermissionDenied, field_error
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Priority
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import ticket_scope_for_user

SHANGHAI = timezone.get_fixed_timezone(8 * 60)
GROUPINGS = {"team": "team__name", "priority": "priority", "category": "category"}
MAX_PERIOD_DAYS = 366


def _require_reporter(user: User) -> None:
    if not user.is_authenticated or user.role not in ("supervisor", "admin"):
        raise PermissionDenied(_("SLA reports are for supervisors and admins."), code="reports_not_allowed")


@dataclass(frozen=True)
class AttainmentRow:
    group: str
    label: str
    tickets: int
    first_response_met: int
    first_response_breached: int
    resolution_met: int
    resolution_breached: int

    @staticmethod
    def rate(met: int, breached: int) -> float | None:
        return round(100 * met / (met + breached), 1) if met + breached else None

    @property
    def first_response_rate(self) -> float | None:
        return self.rate(self.first_response_met, self.first_response_breached)

    @property
    def resolution_rate(self) -> float | None:
        return self.rate(self.resolution_met, self.resolution_breached)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Asia/Shanghai, checked."""
    if end < start:
        raise field_error("to", _("The end of the period is before its start."), code="invalid_period")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise field_error("to", _("A report covers at most 366 days."), code="period_too_long")
    begin = datetime(start.year, start.month, start.day, tzinfo=SHANGHAI)
    finish = datetime(end.year, end.month, end.day, tzinfo=SHANGHAI) + timedelta(days=1)
    return begin, finish


def sla_attainment(user: User, *, start: date, end: date, group_by: str,
                   now: datetime | None = None) -> list[AttainmentRow]:
    """Tickets opened in the period, grouped; a deadline counts as met when the response or the
    resolution came by it, as breached when it came later or has not come and the deadline passed
    (tickets still inside their time, or paused, count as neither yet)."""
    _require_reporter(user)
    if group_by not in GROUPINGS:
        raise field_error("group_by", _("Group by team, priority or category."), code="invalid_group_by")
    now = now or timezone.now()
    begin, finish = period_bounds(start, end)
    column = GROUPINGS[group_by]
    open_overdue = Q(status__in=sorted(OPEN_STATUSES), sla_paused_at__isnull=True)
    rows = (
        ticket_scope_for_user(user).filter(created_at__gte=begin, created_at__lt=finish, sla_policy__isnull=False)
        .values(column).order_by(column)
        .annotate(
            tickets=Count("id"),
            fr_met=Count("id", filter=Q(first_response_at__lte=F("first_response_due_at"))),
            fr_breached=Count("id", filter=Q(first_response_at__gt=F("first_response_due_at"))
                              | Q(first_response_at__isnull=True, first_response_due_at__lt=now)
                              & ~Q(status="cancelled")),
            res_met=Count("id", filter=Q(resolved_at__lte=F("resolution_due_at"))),
            res_breached=Count("id", filter=Q(resolved_at__gt=F("resolution_due_at"))
                               | Q(resolved_at__isnull=True, resolution_due_at__lt=now) & open_overdue),
        )
    )
    labels = {"priority": dict(Priority.choices), "category": dict(Category.choices)}.get(group_by, {})
    return [
        AttainmentRow(
            group=row[column] or "", label=str(labels.get(row[column], row[column] or _("No team"))),
            tickets=row["tickets"], first_response_met=row["fr_met"], first_response_breached=row["fr_breached"],
            resolution_met=row["res_met"], resolution_breached=row["res_breached"],
        )
        for row in rows
    ]


def sla_tickets_by_state(user: User, *, state: str, now: datetime | None = None,
                         limit: int = 50) -> QuerySet[Ticket]:
    """Open tickets whose running clock is `breached` or `at_risk` now, nearest deadline first
    (read from ticket_due_idx)."""
    _require_reporter(user)
    now = now or timezone.now()
    tickets = ticket_scope_for_user(user).filter(sla_due_at__isnull=False)
    if state == "breached":
        tickets = tickets.filter(sla_due_at__lte=now)
    elif state == "at_risk":
        tickets = tickets.filter(sla_due_at__gt=now, sla_risk_at__lte=now)
    else:
        raise field_error("state", _("Choose at_risk or breached."), code="invalid_sla_state")
    return tickets.select_related("team", "assignee", "merchant").order_by("sla_due_at", "id")[:limit]
