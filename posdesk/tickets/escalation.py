"""Escalation (C2): a periodic sweep finds tickets whose clock is at risk or breached and applies
the admin's escalation rules — notify the assignee, notify the team supervisor, raise the priority,
reassign — each action on the ticket's timeline.

The sweep reads only tickets whose `sla_next_check_at` has come (a partial index), never the whole
table. Each escalation fires once: the ticket row is locked, its `sla_stages` bits are re-read and
set with a compare-and-set update, so two workers running the sweep at the same moment, or the
same sweep run twice, produce every escalation exactly once."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from posdesk.accounts.models import User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.taxonomy import Priority
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_enqueue
from posdesk.slas import clocks
from posdesk.slas.models import EscalationRule
from posdesk.slas.selectors import escalation_rules_for
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.sla import at_risk_share, sla_refresh, standard_of, times_of

logger = logging.getLogger("posdesk.escalation")
Action = EscalationRule.Action
RAISED = {Priority.P4: Priority.P3, Priority.P3: Priority.P2, Priority.P2: Priority.P1}
CLOCK_LABELS = {clocks.FIRST_RESPONSE: "首次响应", clocks.RESOLUTION: "解决", clocks.ONSITE: "上门"}
TRIGGER_LABELS = {clocks.AT_RISK: "即将超时", clocks.BREACHED: "已超时"}


def sla_sweep(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Escalate every ticket whose next check has come. Returns counts for the job log."""
    now = now or timezone.now()
    counts = {"checked": 0, "escalations": 0}
    due = Ticket.objects.filter(sla_next_check_at__lte=now).order_by("sla_next_check_at", "pk")
    after: Q = Q()
    while True:
        # keyset in the index's order (ticket_sla_next_check_idx): a ticket rescheduled past `now`
        # drops out; one left as it was (another worker holds it) is not read twice
        rows = list(due.filter(after).values_list("sla_next_check_at", "pk")[:batch])
        if not rows:
            break
        for _check_at, ticket_id in rows:
            counts["escalations"] += ticket_escalate_due(ticket_id=ticket_id, now=now)
        counts["checked"] += len(rows)
        last_at, last_id = rows[-1]
        after = Q(sla_next_check_at__gt=last_at) | Q(sla_next_check_at=last_at, pk__gt=last_id)
    return counts


@transaction.atomic
def ticket_escalate_due(*, ticket_id: int, now: datetime) -> int:
    """Apply the escalations due on one ticket; returns how many fired here."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None or ticket.sla_next_check_at is None or ticket.sla_next_check_at > now:
        return 0  # another worker has already been here
    standard = standard_of(ticket)
    if standard is None:
        Ticket.objects.filter(pk=ticket.pk).update(sla_next_check_at=None)
        return 0
    times = times_of(ticket)
    due = clocks.deadlines(standard.clock, standard.targets, times)
    view = clocks.outlook(standard.clock, standard.targets, times, due, ticket.sla_stages, now, at_risk_share())
    fired = 0
    for clock, trigger in view.due_now:
        bits = clocks.Stage.of(clock, trigger)
        if trigger == clocks.BREACHED:
            bits |= clocks.Stage.of(clock, clocks.AT_RISK)  # a breach makes its warning moot
        claimed = Ticket.objects.filter(pk=ticket.pk, sla_stages=ticket.sla_stages).update(
            sla_stages=ticket.sla_stages | bits)
        if not claimed:  # the stages moved under us: leave this ticket to the run that moved them
            return fired
        ticket.sla_stages |= bits
        for rule in escalation_rules_for(clock=clock, trigger=trigger, priority=ticket.priority):
            _apply(ticket, rule, clock=clock, trigger=trigger, due_at=due.due(clock), now=now)
            fired += 1
    fields = sla_refresh(ticket, now=now)  # the next check, and new deadlines after a raise
    ticket.save(update_fields=[*fields, "sla_stages", "priority", "assignee", "updated_at"])
    return fired


def _apply(ticket: Ticket, rule: EscalationRule, *, clock: str, trigger: str, due_at: datetime | None,
           now: datetime) -> None:
    data: dict = {"rule": rule.pk, "clock": clock, "trigger": trigger, "action": rule.action,
                  "due_at": due_at.isoformat() if due_at else None}
    what = f"工单 {ticket.number} {CLOCK_LABELS[clock]}{TRIGGER_LABELS[trigger]}"
    if rule.action == Action.NOTIFY_ASSIGNEE:
        data["notified"] = _notify(ticket.assignee, ticket, f"{what}，请尽快处理。")
    elif rule.action == Action.NOTIFY_SUPERVISOR:
        supervisor = ticket.team.supervisor if ticket.team_id and ticket.team else None
        data["notified"] = _notify(supervisor, ticket, f"{what}，请关注。")
    elif rule.action == Action.RAISE_PRIORITY:
        raised = RAISED.get(Priority(ticket.priority))
        if raised is None:
            data["unchanged"] = "already P1"
        else:
            data["priority"] = [ticket.priority, str(raised)]
            ticket.priority = raised
    elif rule.action == Action.REASSIGN:
        data["assignee"] = _reassign(ticket)
    ticket.updated_at = now
    TicketEvent.objects.create(ticket=ticket, kind=TicketEvent.Kind.ESCALATED, actor=None, created_at=now,
                               is_public=False, body=rule.name, data=data)
    audit_record(actor=None, action=AuditEntry.Action.UPDATE, target=ticket, summary=f"{ticket.number} escalated",
                 changes=data)


def _notify(user: User | None, ticket: Ticket, text: str) -> int | None:
    """An alert to a staff member by e-mail when they have an address; the timeline event is the
    record either way. Returns the user's id, or None when there was nobody to tell."""
    if user is None or not user.is_active:
        return None
    if user.email:
        outbox_enqueue(channel=OutboxMessage.Channel.EMAIL, purpose=OutboxMessage.Purpose.STAFF_ALERT,
                       recipient=user.email, subject=text[:200], body=text, ticket_id=ticket.pk)
    return user.pk


def _reassign(ticket: Ticket) -> int | None:
    """Another available agent of the ticket's team (skills, presence, capacity), or the team
    queue when nobody else is free. Returns the new assignee's id."""
    from posdesk.tickets import routing

    previous = ticket.assignee_id
    chosen = routing.agent_for_reassignment(ticket=ticket, exclude_user_id=previous)
    ticket.assignee_id = chosen
    return chosen
