"""Console pages for mass-outage incidents (C7): the list and an incident with its tickets and
post-incident summary for the desk (agents read), and the supervisor's actions — confirm or
dismiss a proposal, monitor, post an update and broadcast it, set the ETA, resolve."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from posdesk.console.access import staff_required
from posdesk.core.errors import ApplicationError, PermissionDenied
from posdesk.incidents import selectors, services
from posdesk.incidents.models import Incident

LIST_FILTERS = {"active": ["proposed", "open", "monitoring"], "closed": ["resolved", "dismissed"], "all": []}


@staff_required
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("show", "active")
    incidents = selectors.incident_list_for_user(request.user, status=LIST_FILTERS.get(shown, LIST_FILTERS["active"]),
                                                 limit=100)
    return render(request, "console/incident_list.html", {
        "incidents": incidents, "shown": shown if shown in LIST_FILTERS else "active",
        "can_manage": services.can_manage(request.user)})


class UpdateForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Update"), max_length=services.MAX_BODY,
                           widget=forms.Textarea(attrs={"rows": 3}))
    public = forms.BooleanField(label=gettext_lazy("Public (told to reporters)"), required=False, initial=True)
    broadcast = forms.BooleanField(label=gettext_lazy("Broadcast now to every affected merchant"), required=False)


class EtaForm(forms.Form):
    eta = forms.DateTimeField(label=gettext_lazy("Expected recovery"), required=False,
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                              input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    broadcast = forms.BooleanField(label=gettext_lazy("Broadcast it"), required=False)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=gettext_lazy("Its tickets"), choices=Incident.Resolution.choices,
                                   widget=forms.RadioSelect, initial=Incident.Resolution.CONFIRM)
    message = forms.CharField(label=gettext_lazy("Message to the affected merchants (optional)"), required=False,
                              max_length=services.MAX_BODY, widget=forms.Textarea(attrs={"rows": 2}))


@staff_required
@require_GET
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(request.user, incident_id=incident_id)
    return render(request, "console/incident_detail.html", {
        "incident": incident, "summary": selectors.incident_summary(incident),
        "tickets": selectors.incident_tickets(incident, limit=200),
        "can_manage": services.can_manage(request.user),
        "next_statuses": [(s, Incident.Status(s).label) for s in sorted(services.TRANSITIONS[incident.status])
                          if s != Incident.Status.RESOLVED],
        "update_form": UpdateForm(), "eta_form": EtaForm(initial={"eta": incident.eta}), "resolve_form": ResolveForm(),
    })


def _act(request: HttpRequest, incident_id: int, action: str) -> HttpResponse:
    """Gate, validate the form, call the service; errors are shown on the incident's page."""
    incident = selectors.incident_get_for_user(request.user, incident_id=incident_id)
    if not services.can_manage(request.user):
        raise PermissionDenied(gettext_lazy("Incidents are managed by supervisors and admins."))
    try:
        if action == "status":
            services.incident_set_status(incident=incident, actor=request.user,
                                         to_status=request.POST.get("to_status", ""),
                                         note=request.POST.get("note", ""))
            messages.success(request, _("Status changed."))
        elif action == "update":
            form = UpdateForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(_("Please write the update."))
            services.incident_update_post(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Broadcast to the affected merchants.") if form.cleaned_data["broadcast"]
                             else _("Update saved."))
        elif action == "eta":
            form = EtaForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(_("Enter a date and time."))
            services.incident_set_eta(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Expected recovery saved."))
        else:
            form = ResolveForm(request.POST)
            if not form.is_valid():
                raise ApplicationError(_("Choose what happens to the incident's tickets."))
            services.incident_resolve(incident=incident, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Incident resolved; its tickets are being settled."))
    except PermissionDenied:
        raise
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("console:incident", incident_id=incident.pk)


@staff_required
@require_POST
def incident_status_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, "status")


@staff_required
@require_POST
def incident_update_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, "update")


@staff_required
@require_POST
def incident_eta_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, "eta")


@staff_required
@require_POST
def incident_resolve_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, "resolve")
