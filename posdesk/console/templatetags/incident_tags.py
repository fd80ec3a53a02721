"""The incident badge on the console's ticket page (one include line in ticket.html)."""

from __future__ import annotations

from django import template

from posdesk.incidents.selectors import incident_link_for_ticket

register = template.Library()


@register.inclusion_tag("console/partials/incident_badge.html")
def incident_badge(ticket) -> dict:  # noqa: ANN001 - a Ticket
    return {"link": incident_link_for_ticket(ticket.pk)}
