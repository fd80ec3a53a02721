"""The triage panel of the console's ticket page (C6): what triage suggested and how sure it was,
the entities (mobiles masked), suggested articles, a possible duplicate with a merge button, and
one-click correction of category and priority. Loaded on its own (htmx, on load) so the ticket
page stays as fast as it was; every button also works as a plain form post."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from posdesk.console.access import forbidden, staff_required
from posdesk.core.errors import ApplicationError
from posdesk.core.masking import mask_mobile
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Priority
from posdesk.tickets import policies
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import ticket_get_for_user
from posdesk.triage.selectors import triage_view_for_ticket
from posdesk.triage.services import triage_correct

PANEL = "console/partials/triage_panel.html"


def _panel(request: HttpRequest, ticket: Ticket, *, notice: str = "", errors: list[str] | None = None,
           status: int = 200) -> HttpResponse:
    view = triage_view_for_ticket(ticket, request.user)
    entities = []
    if view.record is not None:
        labels = {"sn": "SN", "tid": "TID", "mid": "MID", "response_code": _("Response code"),
                  "phone": _("Phone"), "amount": _("Amount")}
        for kind, label in labels.items():
            values = view.record.entities.get(kind) or []
            if values:
                entities.append((label, [mask_mobile(v) for v in values] if kind == "phone" else values))
    may_correct = policies.can_change_fields(request.user) and ticket.status in OPEN_STATUSES
    context = {
        "ticket": ticket, "triage": view, "triage_loaded": True, "entities": entities,
        "categories": Category.choices, "priorities": Priority.choices, "may_correct": may_correct,
        "may_merge": policies.can_merge(request.user) and ticket.status in OPEN_STATUSES,
        "notice": notice, "errors": errors or [],
    }
    return render(request, PANEL, context, status=status)


@staff_required
@require_GET
def ticket_triage_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    if not policies.can_see_internal(request.user):
        return forbidden(request)
    return _panel(request, ticket)


@staff_required
@require_POST
def ticket_triage_correct(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One click: `category=<code>` or `priority=<code>`. On success the whole workspace is shown
    again (the header carries category and priority too): htmx follows the redirect."""
    ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    if not policies.can_change_fields(request.user):
        return forbidden(request)
    try:
        corrections = triage_correct(ticket=ticket, actor=request.user,
                                     category=request.POST.get("category") or None,
                                     priority=request.POST.get("priority") or None)
    except ApplicationError as exc:
        response = _panel(request, ticket, errors=[str(exc.message)], status=200 if request.htmx else 422)
        if request.htmx:  # htmx swaps 2xx only: show the error in the panel, not the workspace
            response["HX-Retarget"] = "#triage-panel"
            response["HX-Reswap"] = "outerHTML"
        return response
    if not request.htmx:
        messages.success(request, _("Correction saved.") if corrections else _("Nothing changed."))
    return redirect("console:ticket", ticket_id=ticket.pk)
