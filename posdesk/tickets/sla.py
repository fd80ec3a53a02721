"""The service standard of a ticket (C2): which policy applies, its deadlines, pauses and the next
moment the escalation sweep must look at it. Called by the ticket services inside their
transaction, so the stored deadlines change together with what changed them.

Clocks run in `new`, `triaged`, `in_progress`, `onsite_scheduled` and `onsite_in_progress`; they
pause while the ticket waits on the merchant (`waiting_merchant`, `pending_acceptance`) and stop
when it is resolved, closed or cancelled. Business time spent paused — also between a resolution
and a reopen — is added back to every deadline when the clocks run again."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from posdesk.core.taxonomy import Status
from posdesk.merchants.models import Merchant
from posdesk.slas import clocks
from posdesk.slas.selectors import ServiceStandard, service_standard_for, warn_unknown_years
from posdesk.tickets.models import Ticket

RUNNING = frozenset({Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.ONSITE_SCHEDULED,
                     Status.ONSITE_IN_PROGRESS})
PAUSED = frozenset({Status.WAITING_MERCHANT, Status.PENDING_ACCEPTANCE, Status.RESOLVED})
STOPPED = frozenset({Status.RESOLVED, Status.CLOSED, Status.CANCELLED})

SLA_FIELDS = ["sla_policy", "first_response_due_at", "resolution_due_at", "onsite_due_at", "sla_due_at",
              "sla_risk_at", "sla_next_check_at"]


def at_risk_share() -> float:
    return settings.SLA_AT_RISK_PERCENT / 100


def _merchant_tier(ticket: Ticket) -> str:
    if ticket.merchant_id is None:
        return ""
    if Ticket.merchant.is_cached(ticket):
        return ticket.merchant.tier
    return Merchant.objects.filter(pk=ticket.merchant_id).values_list("tier", flat=True).first() or ""


def standard_of(ticket: Ticket) -> ServiceStandard | None:
    return service_standard_for(priority=ticket.priority, merchant_tier=_merchant_tier(ticket),
                                category=ticket.category, channel=ticket.channel, team_id=ticket.team_id)


def times_of(ticket: Ticket) -> clocks.TicketTimes:
    return clocks.TicketTimes(
        created_at=ticket.created_at, first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at if ticket.status in STOPPED else None,
        onsite_requested_at=ticket.onsite_requested_at, onsite_arrived_at=ticket.onsite_arrived_at,
        paused_seconds=ticket.sla_paused_seconds, paused=ticket.sla_paused_at is not None,
        stopped=ticket.status in STOPPED,
    )


def sla_refresh(ticket: Ticket, *, now: datetime, standard: ServiceStandard | None = None) -> list[str]:
    """Recompute the ticket's deadlines from its policy, start and pauses; set them on `ticket`
    and return the fields to save."""
    standard = standard or standard_of(ticket)
    if standard is None:  # no policy matches: no promise, nothing to escalate
        ticket.sla_policy_id = None
        ticket.first_response_due_at = ticket.resolution_due_at = ticket.onsite_due_at = None
        ticket.sla_due_at = ticket.sla_risk_at = ticket.sla_next_check_at = None
        return list(SLA_FIELDS)
    times = times_of(ticket)
    due = clocks.deadlines(standard.clock, standard.targets, times)
    warn_unknown_years(standard.clock, ticket.created_at, due.resolution_due_at)
    ticket.sla_policy = standard.policy
    ticket.first_response_due_at = due.first_response_due_at
    ticket.resolution_due_at = due.resolution_due_at
    ticket.onsite_due_at = due.onsite_due_at
    view = clocks.outlook(standard.clock, standard.targets, times, due, ticket.sla_stages, now, at_risk_share())
    ticket.sla_due_at, ticket.sla_risk_at, ticket.sla_next_check_at = view.due_at, view.risk_at, view.next_check_at
    return list(SLA_FIELDS)


def sla_status_changed(ticket: Ticket, *, from_status: str, to_status: str, now: datetime) -> list[str]:
    """Pause, resume, start or stop the clocks for a status change already set on `ticket`."""
    fields: list[str] = []
    standard = standard_of(ticket)
    if to_status in PAUSED and from_status not in PAUSED and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        fields.append("sla_paused_at")
    elif to_status in RUNNING and ticket.sla_paused_at is not None:
        if standard is not None:
            paused = standard.clock.between(ticket.sla_paused_at, now)
            ticket.sla_paused_seconds += max(int(paused.total_seconds()), 0)
        ticket.sla_paused_at = None
        fields += ["sla_paused_at", "sla_paused_seconds"]
    if to_status == Status.ONSITE_SCHEDULED and ticket.onsite_requested_at is None:
        ticket.onsite_requested_at = now
        fields.append("onsite_requested_at")
    if to_status == Status.ONSITE_IN_PROGRESS and ticket.onsite_arrived_at is None:
        ticket.onsite_arrived_at = now
        fields.append("onsite_arrived_at")
    return fields + sla_refresh(ticket, now=now, standard=standard)


def sla_state(ticket: Ticket, now: datetime) -> str:
    """`paused`, `none`, `breached`, `at_risk` or `on_track`, from stored fields only (lists)."""
    if ticket.sla_paused_at is not None and ticket.status not in STOPPED:
        return "paused"
    if ticket.sla_due_at is None:
        return "none"
    if now >= ticket.sla_due_at:
        return "breached"
    if ticket.sla_risk_at is not None and now >= ticket.sla_risk_at:
        return "at_risk"
    return "on_track"


def sla_settle(ticket: Ticket, *, now: datetime, standard: ServiceStandard | None = None) -> list[str]:
    """Deadlines for a ticket written outside the services (the demo's history, tickets from before
    service standards existed): as `sla_refresh`, but escalations already due are marked done
    instead of fired, so the first sweep does not flood the desk with alerts about the past."""
    fields = []
    if ticket.status in PAUSED and ticket.sla_paused_at is None:
        ticket.sla_paused_at = ticket.resolved_at if ticket.status == Status.RESOLVED else ticket.updated_at
        fields.append("sla_paused_at")
    standard = standard or standard_of(ticket)
    fields += sla_refresh(ticket, now=now, standard=standard)
    if standard is None:
        return fields
    times = times_of(ticket)
    due = clocks.deadlines(standard.clock, standard.targets, times)
    view = clocks.outlook(standard.clock, standard.targets, times, due, ticket.sla_stages, now, at_risk_share())
    if view.due_now:
        for clock, trigger in view.due_now:
            ticket.sla_stages |= clocks.Stage.of(clock, trigger) | clocks.Stage.of(clock, clocks.AT_RISK)
        sla_refresh(ticket, now=now, standard=standard)
    return [*fields, "sla_stages"]


def sla_backfill(*, now: datetime, batch: int = 1000) -> int:
    """Give every ticket without a policy its deadlines (`sla_settle`); returns how many."""
    done = 0
    last_id = 0
    while True:
        tickets = list(Ticket.objects.filter(sla_policy__isnull=True, pk__gt=last_id).select_related("merchant")
                       .order_by("pk")[:batch])
        if not tickets:
            return done
        fields: set[str] = set()
        for ticket in tickets:
            fields.update(sla_settle(ticket, now=now))
        Ticket.objects.bulk_update(tickets, sorted(fields))
        done += len(tickets)
        last_id = tickets[-1].pk


def sla_recompute_open(*, now: datetime, batch: int = 1000) -> int:
    """Recompute the deadlines of every open ticket with a promise, after the calendar, hours or
    policies changed (e.g. an admin entered next year's holidays). Escalations done stay done."""
    done = 0
    last_id = 0
    open_statuses = sorted(RUNNING | {Status.WAITING_MERCHANT, Status.PENDING_ACCEPTANCE})
    while True:
        tickets = list(Ticket.objects.filter(status__in=open_statuses, pk__gt=last_id).select_related("merchant")
                       .order_by("pk")[:batch])
        if not tickets:
            return done
        for ticket in tickets:
            sla_refresh(ticket, now=now)
        Ticket.objects.bulk_update(tickets, SLA_FIELDS)
        done += len(tickets)
        last_id = tickets[-1].pk
