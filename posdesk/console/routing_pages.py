"""Console actions for routing: an agent sets their presence and takes the next ticket."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from posdesk.console.access import staff_required
from posdesk.core.errors import ApplicationError
from posdesk.tickets.routing import agent_presence_change, ticket_take_next


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(request.POST.get("next") if request.POST.get("next", "").startswith("/console/") else "console:queue")


@staff_required
@require_POST
def presence_set(request: HttpRequest) -> HttpResponse:
    try:
        agent_presence_change(user=request.user, presence=request.POST.get("presence", ""), actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return _back(request)


@staff_required
@require_POST
def take_next(request: HttpRequest) -> HttpResponse:
    try:  # the service refuses roles that take no tickets and agents at capacity
        ticket = ticket_take_next(agent=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
        return _back(request)
    if ticket is None:
        messages.info(request, _("No ticket is waiting for your teams right now."))
        return _back(request)
    return redirect("console:ticket", ticket_id=ticket.pk)
