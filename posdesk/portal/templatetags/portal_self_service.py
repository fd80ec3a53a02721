"""The "did this solve it?" question on the merchant's ticket page (one line in ticket.html)."""

from __future__ import annotations

from django import template

from posdesk.core.taxonomy import OPEN_STATUSES, Status
from posdesk.tickets.models import Ticket
from posdesk.triage.selectors import self_service_answer_for_ticket

register = template.Library()


@register.inclusion_tag("portal/_self_service.html")
def self_service_question(ticket: Ticket) -> dict:
    """The self-service answer with two buttons while it waits for the merchant; while the ticket
    is still being triaged, a placeholder that asks again shortly (the answer comes within seconds)."""
    offer = self_service_answer_for_ticket(ticket)
    return {
        "ticket": ticket,
        "offer": offer if offer is not None and ticket.status in OPEN_STATUSES else None,
        "waiting_for_triage": offer is None and ticket.status == Status.NEW,
    }
