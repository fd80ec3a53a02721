"""The staff console's pages. Each view parses input, calls one selector or service, renders.
Ticket actions answer an htmx request with the re-rendered ticket workspace (the page without
its navigation) and a plain form post with a redirect back, so every form also works without
JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from posdesk.accounts.models import Role
from posdesk.accounts.selectors import assignable_users_for, team_list
from posdesk.console.access import forbidden, staff_required
from posdesk.console.forms import (
    BULK_CLEAR,
    BULK_KEEP,
    SORT_LABELS,
    STATUS_ALL,
    AssignForm,
    BulkAssignForm,
    ClassifyForm,
    LoginForm,
    MergeForm,
    NoteForm,
    QueueQuery,
    ReplyForm,
    SavedViewForm,
    TicketActionForm,
    TransitionForm,
    add_application_error,
    queue_query_from,
)
from posdesk.console.selectors import saved_view_get_for_user, saved_view_list_for_user
from posdesk.console.services import (
    saved_view_create,
    saved_view_delete,
    saved_view_query_clean,
    staff_sign_in,
)
from posdesk.core.errors import ApplicationError, NotFound, PermissionDenied, field_error
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Channel, Priority, Status
from posdesk.merchants.models import Merchant
from posdesk.merchants.selectors import (
    district_list,
    merchant_contact_get_for_user,
    merchant_contacts,
    merchant_get_for_user,
    merchant_list_for_user,
)
from posdesk.merchants.services import merchant_contact_reveal
from posdesk.routing.selectors import ROUTABLE_ROLES, agent_status_for
from posdesk.terminals.selectors import terminal_get_for_user, terminal_list_for_user
from posdesk.tickets import lifecycle, policies
from posdesk.tickets.attachments import check_uploads
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import (
    REPEAT_FAULT_WINDOW,
    TicketFilters,
    TicketPage,
    terminal_history,
    terminal_recent_ticket_count,
    ticket_get_for_user,
    ticket_queue,
    ticket_scope_for_user,
    ticket_timeline,
)
from posdesk.tickets.services import (
    ticket_add_note,
    ticket_assign,
    ticket_classify,
    ticket_merge,
    ticket_reply,
    ticket_transition,
    tickets_bulk_assign,
)

QUEUE_PAGE_SIZE = 50
MERCHANT_PAGE_SIZE = 50


def _wants_partial(request: HttpRequest) -> bool:
    """An htmx swap, not a history restore (which needs the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # the same URL answers a partial or a whole page: caches must keep them apart
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- sign-in ------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.user.is_authenticated and request.user.is_staff_role and request.method == "GET":
        return redirect(_safe_next(request, next_url))
    form = LoginForm(request.POST or None)
    merchant_refused = False
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_sign_in(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
            merchant_refused = exc.code == "merchant_account"
        else:
            login(request, user)
            return redirect(_safe_next(request, next_url))
    return render(
        request, "console/login.html", {"form": form, "next": next_url, "merchant_refused": merchant_refused}
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:login")


# --- the queue ----------------------------------------------------------------------------


def _may_bulk_assign(request: HttpRequest) -> bool:
    user = request.user
    return user.is_desk or user.role == Role.VENDOR


def _queue_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    user = request.user
    error = ""
    page = TicketPage(items=[], next_cursor=None, count=0, count_capped=False)
    query: QueueQuery | None = None
    try:
        query = queue_query_from(params)
        page = ticket_queue(user, query.filters, sort=query.sort, cursor=query.cursor, limit=QUEUE_PAGE_SIZE)
    except ApplicationError as exc:
        error = str(exc.message)
    if query is None:
        query = queue_query_from(QueryDict())
    return {
        "page": page,
        "query": query,
        "queue_error": error,
        "view_query": saved_view_query_clean(params.urlencode()),
        "status_all": STATUS_ALL,
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "categories": Category.choices,
        "channels": Channel.choices,
        "sorts": list(SORT_LABELS.items()),
        # querysets: evaluated only when the whole page (not the results partial) is rendered
        "teams": team_list(),
        "districts": district_list(),
        "assignees": assignable_users_for(user).order_by("display_name", "pk"),
        "saved_views": saved_view_list_for_user(user),
        "may_bulk_assign": _may_bulk_assign(request),
        # a callable: read only when the full page renders its sidebar, never for an htmx partial
        "routing_status": (lambda: agent_status_for(user)) if user.role in ROUTABLE_ROLES else None,
        "bulk_form": BulkAssignForm(user=user),
        "saved_view_form": SavedViewForm(),
    }


@staff_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    context = _queue_context(request, request.GET)
    template = "console/queue.html#results" if _wants_partial(request) else "console/queue.html"
    return _vary_on_htmx(render(request, template, context))


@staff_required
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign the ticked tickets. The queue's filters ride in the query string so the results
    can be shown again as they were."""
    user = request.user
    form = BulkAssignForm(request.POST, user=user)
    result = ""
    if form.is_valid():
        try:
            result = _bulk_assign_apply(request, form)
        except ApplicationError as exc:
            add_application_error(form, exc)
    if not _wants_partial(request):
        if result:
            messages.success(request, result)
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(reverse("console:queue") + (f"?{request.GET.urlencode()}" if request.GET else ""))
    context = _queue_context(request, request.GET)
    context.update(bulk_form=form if form.errors else BulkAssignForm(user=user), bulk_result=result)
    return render(request, "console/queue.html#results", context)


def _bulk_assign_apply(request: HttpRequest, form: BulkAssignForm) -> str:
    user = request.user
    ids = form.cleaned_data["ticket"]
    tickets = list(ticket_scope_for_user(user).filter(pk__in=ids).order_by("pk"))
    if len(tickets) != len(set(ids)):
        raise NotFound(_("No such ticket, or it is not yours to see."), code="ticket_not_found")
    refused = [t.number for t in tickets if not policies.can_assign(user, t)]
    if refused:
        raise field_error(
            "ticket",
            _("You may not assign these tickets: %(numbers)s.") % {"numbers": ", ".join(refused)},
            code="assign_not_allowed",
        )
    changes: dict[str, Any] = {}
    assignee_value, team_value = form.cleaned_data["assignee"], form.cleaned_data["team"]
    if assignee_value == BULK_CLEAR:
        changes["assignee"] = None
    elif assignee_value != BULK_KEEP:
        changes["assignee"] = assignable_users_for(user).filter(pk=int(assignee_value)).first()
        if changes["assignee"] is None:
            raise field_error(
                "assignee", _("This person cannot be given this ticket."), code="invalid_assignee"
            )
    if team_value == BULK_CLEAR:
        changes["team"] = None
    elif team_value != BULK_KEEP:
        changes["team"] = team_list().filter(pk=int(team_value)).first()
    changed = tickets_bulk_assign(tickets=tickets, actor=user, **changes)
    return _("%(changed)d of %(total)d tickets reassigned.") % {"changed": changed, "total": len(tickets)}


# --- saved views ---------------------------------------------------------------------------


def _saved_views_response(request: HttpRequest, form: SavedViewForm, *, query: str = "") -> HttpResponse:
    if _wants_partial(request):
        context = {
            "saved_views": saved_view_list_for_user(request.user),
            "saved_view_form": form,
            "view_query": query,
        }
        return render(request, "console/queue.html#saved_views", context)
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(reverse("console:queue") + (f"?{query}" if query else ""))


@staff_required
@require_POST
def saved_view_create_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    query = saved_view_query_clean(request.POST.get("query", ""))
    if form.is_valid():
        try:
            saved_view_create(
                user=request.user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            if not _wants_partial(request):
                messages.success(request, _("View saved."))
            form = SavedViewForm()
    return _saved_views_response(request, form, query=query)


@staff_required
@require_POST
def saved_view_delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved_view_get_for_user(request.user, view_id=view_id)
    saved_view_delete(view=view, user=request.user)
    return _saved_views_response(request, SavedViewForm())


# --- the ticket page ------------------------------------------------------------------------

ACTION_FORMS: dict[str, type[TicketActionForm]] = {
    "reply_form": ReplyForm,
    "note_form": NoteForm,
    "transition_form": TransitionForm,
    "assign_form": AssignForm,
    "classify_form": ClassifyForm,
    "merge_form": MergeForm,
}

# Which permission shows each form on the page (the transition form is always there).
FORM_SHOWN_WHEN = {
    "reply_form": "may_reply",
    "note_form": "may_note",
    "transition_form": "may_transition",
    "assign_form": "may_assign",
    "classify_form": "may_classify",
    "merge_form": "may_merge",
}


def _ticket_context(
    request: HttpRequest, ticket: Ticket, bound: dict[str, TicketActionForm] | None = None, notice: str = ""
) -> dict[str, Any]:
    user = request.user
    forms = {name: cls(user=user, ticket=ticket) for name, cls in ACTION_FORMS.items()}
    forms.update(bound or {})
    terminal = ticket.terminal
    return {
        "ticket": ticket,
        "timeline": ticket_timeline(ticket, user),
        "history": terminal_history(ticket, user),
        "repeat_window_days": REPEAT_FAULT_WINDOW.days,
        "contacts": merchant_contacts(ticket.merchant) if ticket.merchant_id else [],
        "in_warranty": terminal.in_warranty(timezone.localdate()) if terminal else None,
        "transitions": lifecycle.next_statuses_for(user.role, ticket.status),
        "may_transition": True,
        "may_reply": policies.can_reply(user, ticket),
        "may_note": policies.can_note(user, ticket),
        "may_assign": policies.can_assign(user, ticket),
        "may_classify": policies.can_change_fields(user),
        "may_merge": policies.can_merge(user) and ticket.status in OPEN_STATUSES,
        "notice": notice,
        **forms,
    }


@staff_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    template = "console/ticket.html#workspace" if _wants_partial(request) else "console/ticket.html"
    return _vary_on_htmx(render(request, template, _ticket_context(request, ticket)))


def _ticket_action(
    request: HttpRequest, ticket_id: int, form_name: str, perform: Callable[[Ticket, Any], str],
    may: Callable[[Any, Ticket], bool] | None = None,
) -> HttpResponse:
    """Run one ticket action. Success: htmx gets the fresh workspace, a plain post a redirect back.
    A form or domain error: the form is shown again with the error, nothing has changed. A user
    whose role may never do this (`may`) is refused with 403 before the form is read."""
    ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    if may is not None and not may(request.user, ticket):
        message = str(PermissionDenied.default_message)
        if _wants_partial(request):  # htmx swaps 2xx only: show the refusal in the workspace
            context = _ticket_context(request, ticket)
            context["action_errors"] = [message]
            return render(request, "console/ticket.html#workspace", context)
        return forbidden(request, message)
    form = ACTION_FORMS[form_name](request.POST, request.FILES, user=request.user, ticket=ticket)
    error_status = 422
    if form.is_valid():
        try:
            notice = perform(ticket, form)
        except ApplicationError as exc:
            add_application_error(form, exc)
            if exc.status == 403:
                error_status = 403  # the role may not do this, whatever the input
        else:
            return _after_action(request, ticket_id, notice)
    context = _ticket_context(request, ticket, {form_name: form})
    if not context[FORM_SHOWN_WHEN[form_name]]:
        # the form is not on this user's page, so its errors are shown above the workspace
        context["action_errors"] = [error for errors in form.errors.values() for error in errors]
    if _wants_partial(request):
        return render(request, "console/ticket.html#workspace", context)  # htmx swaps 2xx only
    return render(request, "console/ticket.html", context, status=error_status)


def _after_action(request: HttpRequest, ticket_id: int, notice: str) -> HttpResponse:
    try:
        ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)
    except NotFound:
        # e.g. a vendor gave the ticket away: it is no longer theirs to see
        messages.success(request, notice)
        if _wants_partial(request):
            return HttpResponse(status=204, headers={"HX-Redirect": reverse("console:queue")})
        return redirect("console:queue")
    if _wants_partial(request):
        return render(
            request, "console/ticket.html#workspace", _ticket_context(request, ticket, notice=notice)
        )
    messages.success(request, notice)
    return redirect("console:ticket", ticket_id=ticket.pk)


def _uploads(form: TicketActionForm) -> list:
    return check_uploads([(f.name, f.read()) for f in form.cleaned_data.get("files") or []])


@staff_required
@require_POST
def ticket_reply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket, form: ReplyForm) -> str:
        ticket_reply(
            ticket=ticket, actor=request.user, body=form.cleaned_data["body"], attachments=_uploads(form)
        )
        return _("Reply sent.")

    return _ticket_action(request, ticket_id, "reply_form", perform)


@staff_required
@require_POST
def ticket_note_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket, form: NoteForm) -> str:
        ticket_add_note(
            ticket=ticket, actor=request.user, body=form.cleaned_data["body"], attachments=_uploads(form)
        )
        return _("Internal note added.")

    return _ticket_action(request, ticket_id, "note_form", perform)


@staff_required
@require_POST
def ticket_transition_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket, form: TransitionForm) -> str:
        to_status = form.cleaned_data["to_status"]
        ticket_transition(
            ticket=ticket, actor=request.user, to_status=to_status, reason=form.cleaned_data["reason"]
        )
        return _("Status changed to “%(status)s”.") % {"status": Status(to_status).label}

    return _ticket_action(request, ticket_id, "transition_form", perform)


@staff_required
@require_POST
def ticket_assign_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket, form: AssignForm) -> str:
        changes = form.changes()
        if not changes or ticket_assign(ticket=ticket, actor=request.user, **changes) is None:
            return _("Nothing changed.")
        return _("Assignment saved.")

    return _ticket_action(request, ticket_id, "assign_form", perform, may=policies.can_assign)


@staff_required
@require_POST
def ticket_classify_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket, form: ClassifyForm) -> str:
        event = ticket_classify(
            ticket=ticket,
            actor=request.user,
            category=form.cleaned_data["category"],
            priority=form.cleaned_data["priority"],
        )
        return _("Category and priority saved.") if event else _("Nothing changed.")

    return _ticket_action(request, ticket_id, "classify_form", perform,
                          may=lambda user, _ticket: policies.can_change_fields(user))


@staff_required
@require_POST
def ticket_merge_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    def perform(ticket: Ticket, form: MergeForm) -> str:
        try:
            original = ticket_get_for_user(request.user, number=form.cleaned_data["original"])
        except NotFound as exc:
            raise field_error("original", exc.message, code=exc.code) from exc
        ticket_merge(
            duplicate=ticket, original=original, actor=request.user, reason=form.cleaned_data["reason"]
        )
        return _("Merged into %(number)s.") % {"number": original.number}

    return _ticket_action(request, ticket_id, "merge_form", perform)


# --- personal data --------------------------------------------------------------------------


@staff_required
@require_POST
def contact_reveal(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Show one contact's unmasked details; the service writes the audit entry."""
    contact = merchant_contact_get_for_user(request.user, contact_id=contact_id)
    revealed = merchant_contact_reveal(actor=request.user, contact=contact)
    context = {"contact": contact, "revealed": revealed}
    if _wants_partial(request):
        return render(request, "console/partials/contact_revealed.html", context)
    return render(request, "console/contact_revealed.html", context)


# --- merchants and terminals ------------------------------------------------------------------


@staff_required
@require_GET
def merchant_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    district = request.GET.get("district", "").strip()
    tier = request.GET.get("tier", "").strip()
    merchants = merchant_list_for_user(request.user, q=q, district=district, tier=tier)
    page = Paginator(merchants, MERCHANT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "district": district,
        "tier": tier,
        "districts": district_list(),
        "tiers": Merchant.Tier.choices,
    }
    template = (
        "console/merchant_list.html#results" if _wants_partial(request) else "console/merchant_list.html"
    )
    return _vary_on_htmx(render(request, template, context))


def _recent_tickets(request: HttpRequest, filters: TicketFilters) -> list[Ticket]:
    return ticket_queue(request.user, filters, limit=20, with_count=False).items


@staff_required
@require_GET
def merchant_detail(request: HttpRequest, merchant_id: int) -> HttpResponse:
    merchant = merchant_get_for_user(request.user, merchant_id=merchant_id)
    context = {
        "merchant": merchant,
        "contacts": merchant_contacts(merchant),
        "terminals": list(terminal_list_for_user(request.user, merchant_id=merchant.pk)[:100]),
        "tickets": _recent_tickets(request, TicketFilters(merchant_id=merchant.pk)),
    }
    return render(request, "console/merchant.html", context)


@staff_required
@require_GET
def terminal_detail(request: HttpRequest, terminal_id: int) -> HttpResponse:
    terminal = terminal_get_for_user(request.user, terminal_id=terminal_id)
    merchant = terminal.merchant
    context = {
        "terminal": terminal,
        "merchant": merchant,
        "contacts": merchant_contacts(merchant) if merchant else [],
        "in_warranty": terminal.in_warranty(timezone.localdate()),
        "tickets": _recent_tickets(request, TicketFilters(terminal_id=terminal.pk)),
        "recent_count": terminal_recent_ticket_count(request.user, terminal_id=terminal.pk),
        "repeat_window_days": REPEAT_FAULT_WINDOW.days,
        "sibling_terminals": (
            list(terminal_list_for_user(request.user, merchant_id=merchant.pk).exclude(pk=terminal.pk)[:50])
            if merchant
            else []
        ),
    }
    return render(request, "console/terminal.html", context)
