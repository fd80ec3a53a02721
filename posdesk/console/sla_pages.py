"""Console pages for service standards (C2): the supervisor's SLA report (attainment over a
period, tickets at risk and breached now) and the admin's working-day calendar (which years are
known, entering or importing a year's holidays)."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from posdesk.console.access import forbidden, staff_required
from posdesk.core.errors import ApplicationError
from posdesk.slas.calendars import PACKAGE_YEARS
from posdesk.slas.selectors import holiday_entries_from, holiday_entry_years, unknown_calendar_years
from posdesk.slas.services import holiday_entries_import, holiday_rows_parse
from posdesk.tickets import sla_reports
from posdesk.tickets.tasks import tickets_sla_recompute_task


class ReportForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    group_by = forms.ChoiceField(label=gettext_lazy("Group by"), required=False, choices=[
        ("team", gettext_lazy("Team")), ("priority", gettext_lazy("Priority")), ("category", gettext_lazy("Category"))])


@staff_required
@require_GET
def sla_report(request: HttpRequest) -> HttpResponse:
    if request.user.role not in ("supervisor", "admin"):
        return forbidden(request, _("SLA reports are for supervisors and admins."))
    today = timezone.now().astimezone(sla_reports.SHANGHAI).date()
    form = ReportForm(request.GET or None)
    start, end, group_by = today - timedelta(days=29), today, "team"
    rows: list[sla_reports.AttainmentRow] = []
    if form.is_bound and form.is_valid():
        end = form.cleaned_data["end"] or end
        start = form.cleaned_data["start"] or end - timedelta(days=29)
        group_by = form.cleaned_data["group_by"] or group_by
    if not form.is_bound or form.is_valid():
        try:
            rows = sla_reports.sla_attainment(request.user, start=start, end=end, group_by=group_by)
        except ApplicationError as exc:
            form.add_error(None, str(exc.message))
    context = {
        "form": form, "start": start, "end": end, "group_by": group_by, "rows": rows,
        "breached": sla_reports.sla_tickets_by_state(request.user, state="breached"),
        "at_risk": sla_reports.sla_tickets_by_state(request.user, state="at_risk"),
    }
    return render(request, "console/sla_report.html", context)


class CalendarImportForm(forms.Form):
    lines = forms.CharField(
        label=gettext_lazy("Holidays and adjusted working days"), widget=forms.Textarea(attrs={"rows": 10}),
        max_length=20000,
        help_text=gettext_lazy("One day per line: 2027-01-01,holiday,元旦 or 2027-02-07,workday,春节调休. "
                               "The years in the lines replace their earlier entries."),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    if request.user.role != "admin":
        return forbidden(request, _("The working-day calendar is kept by admins."))
    form = CalendarImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            counts = holiday_entries_import(rows=holiday_rows_parse(form.cleaned_data["lines"]), actor=request.user)
        except ApplicationError as exc:
            lines = ", ".join(str(p["line"]) for p in (exc.detail or {}).get("lines", []))
            where = _("lines %(numbers)s") % {"numbers": lines} if lines else ""
            form.add_error("lines", f"{exc.message} ({where})" if where else str(exc.message))
        else:
            transaction.on_commit(tickets_sla_recompute_task.delay)
            messages.success(request, _("Imported: %(created)d new, %(updated)d changed, %(removed)d removed. "
                                        "Open tickets' deadlines are being recomputed.") % counts)
            return redirect("console:calendar_settings")
    this_year = timezone.now().astimezone(sla_reports.SHANGHAI).year
    entries = holiday_entries_from(date(this_year, 1, 1))
    entry_years = holiday_entry_years()
    context = {
        "form": form, "entries": entries, "unknown_years": unknown_calendar_years(),
        "package_years": f"{min(PACKAGE_YEARS)}–{max(PACKAGE_YEARS)}", "entry_years": entry_years,
    }
    return render(request, "console/calendar_settings.html", context)
