"""Console pages for the phone channel (C3) and contact governance (C4), for the service desk:
the callback queue agents work like tickets, and the contact panel on the ticket page ("last
contacted …, N times this week", the gate's answer for a follow-up call right now, and logging an
outbound call). htmx swaps the queue or the panel; every form also works as a plain post."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from posdesk.channels.models import CallRecord
from posdesk.channels.phone.services import (
    MAX_NOTE_LENGTH,
    call_log_outbound,
    callback_complete,
    callback_take,
)
from posdesk.channels.selectors import (
    callback_get_for_user,
    callback_queue_for_user,
    calls_for_ticket,
    contact_overview_for_call,
    ensure_desk,
)
from posdesk.console.access import staff_required
from posdesk.console.forms import add_application_error
from posdesk.contact.decision import Outcome
from posdesk.contact.models import ContactChannel
from posdesk.core.errors import ApplicationError
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import ticket_get_for_user

QUEUE = "console/callbacks.html"
PANEL = "console/partials/contact_panel.html"


class CallOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=CallRecord.Outcome.choices)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=MAX_NOTE_LENGTH)


class CallLogForm(CallOutcomeForm):
    # no outcome chosen in advance (the first choice would be "reached"): the agent says how it went
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"),
                                choices=[("", "—"), *CallRecord.Outcome.choices])
    mobile = forms.CharField(
        label=gettext_lazy("Number called"), required=False, max_length=40,
        help_text=gettext_lazy("Leave empty for the merchant's primary contact."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "call-log-%s")  # ids of its own on the ticket page, beside its other forms
        super().__init__(*args, **kwargs)


def _wants_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _form_errors(form: forms.Form) -> list[str]:
    return [str(error) for errors in form.errors.values() for error in errors]


# --- the callback queue ------------------------------------------------------------------------


def _queue_response(request: HttpRequest, *, notice: str = "", errors: list[str] | None = None) -> HttpResponse:
    context = {"tasks": callback_queue_for_user(request.user), "outcomes": CallRecord.Outcome.choices,
               "notice": notice, "queue_errors": errors or []}
    response = render(request, f"{QUEUE}#queue" if _wants_partial(request) else QUEUE, context)
    patch_vary_headers(response, ("HX-Request",))  # a partial or the whole page: caches keep them apart
    return response


@staff_required
@require_GET
def callback_queue(request: HttpRequest) -> HttpResponse:
    return _queue_response(request)


def _after_queue_action(request: HttpRequest, notice: str, errors: list[str]) -> HttpResponse:
    if _wants_partial(request):  # htmx swaps 2xx only: errors are shown in the queue
        return _queue_response(request, notice=notice, errors=errors)
    for error in errors:
        messages.error(request, error)
    if notice:
        messages.success(request, notice)
    return redirect("console:callbacks")


@staff_required
@require_POST
def callback_take_view(request: HttpRequest, callback_id: int) -> HttpResponse:
    task = callback_get_for_user(request.user, task_id=callback_id)
    try:
        callback_take(task=task, agent=request.user)
    except ApplicationError as exc:
        return _after_queue_action(request, "", [str(exc.message)])
    return _after_queue_action(request, _("The callback is yours."), [])


@staff_required
@require_POST
def callback_complete_view(request: HttpRequest, callback_id: int) -> HttpResponse:
    task = callback_get_for_user(request.user, task_id=callback_id)
    form = CallOutcomeForm(request.POST)
    if not form.is_valid():
        return _after_queue_action(request, "", _form_errors(form))
    try:
        done = callback_complete(task=task, agent=request.user, outcome=form.cleaned_data["outcome"],
                                 note=form.cleaned_data["note"])
    except ApplicationError as exc:
        return _after_queue_action(request, "", [str(exc.message)])
    notice = (_("Callback logged and closed.") if done.status == done.Status.DONE
              else _("Call logged; the callback stays open for another try."))
    return _after_queue_action(request, notice, [])


# --- the contact panel on the ticket page ------------------------------------------------------


def _decision_text(decision: Any) -> str:
    if decision.outcome == Outcome.ALLOW:
        return _("A follow-up call is allowed now.")
    if decision.outcome == Outcome.DEFER and decision.until is not None:
        until = timezone.localtime(decision.until)
        moment = until.strftime("%H:%M") if until.date() == timezone.localdate() else until.strftime("%m-%d %H:%M")
        return _("Do not call before %(time)s.") % {"time": moment}
    return _("Do not call: a follow-up call is not allowed.")


def _panel_context(request: HttpRequest, ticket: Ticket, form: CallLogForm | None = None,
                   notice: str = "") -> dict[str, Any]:
    context: dict[str, Any] = {"ticket": ticket, "form": form or CallLogForm(), "notice": notice}
    if ticket.merchant_id is None:
        return context
    overview = contact_overview_for_call(merchant_id=ticket.merchant_id, ticket_id=ticket.pk)
    summary = overview.summary
    context.update(
        summary=summary,
        last_channel=ContactChannel(summary.last_channel).label if summary.last_channel else "",
        decision=overview.decision,
        decision_text=_decision_text(overview.decision),
        reason_text=overview.reason_text,
        calls=calls_for_ticket(ticket_id=ticket.pk, limit=5),
    )
    return context


def _ticket_for_panel(request: HttpRequest, ticket_id: int) -> Ticket:
    ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    ensure_desk(request.user)  # technicians and vendors see their tickets, not the desk's calls
    return ticket


@staff_required
@require_GET
def ticket_contact_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The panel as an htmx partial (the ticket page loads it), or alone as a page without JavaScript."""
    ticket = _ticket_for_panel(request, ticket_id)
    template = PANEL if _wants_partial(request) else "console/ticket_contact.html"
    response = render(request, template, _panel_context(request, ticket))
    patch_vary_headers(response, ("HX-Request",))
    return response


@staff_required
@require_POST
def ticket_call_log_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_for_panel(request, ticket_id)
    form = CallLogForm(request.POST)
    if form.is_valid():
        if ticket.merchant is None:
            form.add_error(None, _("No merchant identified yet: there is nobody to log a call with."))
        else:
            try:
                call_log_outbound(agent=request.user, merchant=ticket.merchant, ticket=ticket,
                                  mobile=form.cleaned_data["mobile"], outcome=form.cleaned_data["outcome"],
                                  note=form.cleaned_data["note"])
            except ApplicationError as exc:
                add_application_error(form, exc)
    if not form.errors:
        notice = _("Call logged.")
        if _wants_partial(request):
            return render(request, PANEL, _panel_context(request, ticket, notice=notice))
        messages.success(request, notice)
        return redirect("console:ticket", ticket_id=ticket.pk)
    if _wants_partial(request):
        return render(request, PANEL, _panel_context(request, ticket, form))
    return render(request, "console/ticket_contact.html", _panel_context(request, ticket, form), status=422)
