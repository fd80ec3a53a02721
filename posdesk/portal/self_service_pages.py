"""The merchant's answer to a self-service answer (C5) in the portal: "did this solve it?" with
two buttons. Yes resolves the ticket as self-served; no leaves it with the agents."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from posdesk.core.errors import ApplicationError, NotFound
from posdesk.portal.access import merchant_required
from posdesk.portal.templatetags.portal_self_service import self_service_question
from posdesk.tickets.selectors import ticket_get_for_user
from posdesk.triage.services import self_service_conclude


@merchant_required
@require_http_methods(["GET", "POST"])
def ticket_self_service(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """GET: the question (or the placeholder that asks again) as a fragment. POST `answer=yes|no`:
    the merchant's answer; then the ticket page again (htmx follows the redirect to the ticket body)."""
    try:
        ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    except NotFound:
        return render(request, "portal/not_found.html", status=404)
    if request.method == "GET":
        return render(request, "portal/_self_service.html", self_service_question(ticket))
    answer = request.POST.get("answer")
    if answer not in ("yes", "no"):
        messages.error(request, _("Please choose yes or no."))
        return redirect("portal:ticket", ticket_id=ticket.pk)
    try:
        self_service_conclude(ticket=ticket, solved=answer == "yes", actor=request.user)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Glad it is solved. Thank you!") if answer == "yes"
                         else _("Thank you. An agent will take it from here."))
    return redirect("portal:ticket", ticket_id=ticket.pk)
