"""The merchant portal (mobile-first H5): sign-in with an SMS code, the merchant's tickets, reporting
a fault with photos, following a ticket, replying, confirming, reopening and cancelling.

Thin adapters: each view parses a form, calls one service, renders. Tickets, terminals and
merchants are reached only through their access gates, so another merchant's ticket is a 404."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from posdesk.accounts.models import Role, User
from posdesk.channels.services import callback_request
from posdesk.contact.models import ContactChannel, ContactPurpose
from posdesk.contact.selectors import contact_history, contact_opt_outs, contact_profile, marketing_consents
from posdesk.contact.services import MARKETING_CHANNELS, contact_preferences_set
from posdesk.core.errors import ApplicationError, NotFound
from posdesk.core.idempotency import idempotent_create
from posdesk.core.masking import mask_mobile
from posdesk.core.taxonomy import Channel, Status
from posdesk.merchants.selectors import merchant_list_for_user
from posdesk.merchants.services import merchant_login, merchant_login_code_send
from posdesk.portal.access import merchant_required
from posdesk.portal.forms import (
    CodeForm,
    MobileForm,
    ReasonForm,
    ReplyForm,
    ReportForm,
    add_application_error,
)
from posdesk.portal.progress import next_step_for, progress_steps
from posdesk.tickets import lifecycle, policies
from posdesk.tickets.attachments import MAX_FILES_PER_UPLOAD
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.selectors import (
    queue_wait_estimate,
    ticket_get_for_user,
    ticket_overview_for_merchant_user,
    ticket_timeline,
)
from posdesk.tickets.services import (
    TICKET_OPEN_ROWS,
    TicketDraft,
    ticket_attach,
    ticket_confirm_repair,
    ticket_open_prepare,
    ticket_open_write,
    ticket_reply,
    ticket_transition,
)

LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"
PENDING_LOGIN = "portal_login"  # session: {"mobile": …, "sent_at": epoch seconds} between the two steps
REPORT_SCOPE = "portal.report"


# --- sign-in ------------------------------------------------------------------------------

def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("portal:home")


def _login_url(next_url: str) -> str:
    url = reverse("portal:login")
    return url if next_url == reverse("portal:home") else f"{url}?{urlencode({'next': next_url})}"


def _resend_wait(pending: dict[str, Any] | None, mobile: str | None = None) -> int:
    """Seconds before this session may ask again for the same number. Checked here as well as in
    the service so that the answer does not depend on whether the number is registered."""
    if not pending or (mobile is not None and pending.get("mobile") != mobile):
        return 0
    elapsed = timezone.now().timestamp() - float(pending.get("sent_at", 0))
    return max(0, math.ceil(settings.OTP_RESEND_SECONDS - elapsed))


def _send_code(request: HttpRequest, mobile: str) -> str | None:
    """Ask for a code; None when asked, else the message to show."""
    wait = _resend_wait(request.session.get(PENDING_LOGIN), mobile)
    if wait:
        return _("Please wait %(seconds)d seconds before asking for a new code.") % {"seconds": wait}
    try:
        merchant_login_code_send(mobile=mobile)
    except ApplicationError as exc:
        return str(exc.message)
    request.session[PENDING_LOGIN] = {"mobile": mobile, "sent_at": timezone.now().timestamp()}
    return None


def _sign_in(form: CodeForm) -> User | None:
    if not form.is_valid():
        return None
    try:
        return merchant_login(mobile=form.cleaned_data["mobile"], code=form.cleaned_data["code"])
    except ApplicationError as exc:
        add_application_error(form, exc)
        return None


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: the mobile number → a code by SMS (the same answer for unknown numbers).
    Step 2: the code → signed in. Both steps are the one form `#login-form`."""
    next_url = _safe_next(request)
    if request.user.is_authenticated and request.user.role == Role.MERCHANT:
        return redirect(next_url)
    pending = request.session.get(PENDING_LOGIN)
    mobile_form = MobileForm()
    code_form = CodeForm(initial={"mobile": pending["mobile"]}) if pending else None
    resend_error = None
    action = request.POST.get("action", "send") if request.method == "POST" else None

    if action == "change":
        request.session.pop(PENDING_LOGIN, None)
        return redirect(_login_url(next_url))
    if action == "verify":
        code_form = CodeForm(request.POST)
        user = _sign_in(code_form)
        if user is not None:
            request.session.pop(PENDING_LOGIN, None)
            login(request, user, backend=LOGIN_BACKEND)
            return redirect(next_url)
    elif action in ("send", "resend"):
        posted = MobileForm(request.POST)
        if posted.is_valid():
            problem = _send_code(request, posted.cleaned_data["mobile"])
            if problem is None:
                return redirect(_login_url(next_url))
            if action == "resend" and code_form is not None:
                resend_error = problem
            else:
                posted.add_error("mobile", problem)
                mobile_form = posted
        elif action == "resend" and code_form is not None:
            resend_error = "; ".join(posted.errors.get("mobile", []))
        else:
            mobile_form = posted

    # The code step shows while a code is pending, unless step 1 was just sent back with an error.
    on_code_step = code_form is not None and not (action == "send" and mobile_form.is_bound)
    shown_mobile = ""
    if on_code_step and code_form is not None:
        shown_mobile = code_form.data.get("mobile") if code_form.is_bound else code_form.initial.get("mobile", "")
    pending = request.session.get(PENDING_LOGIN)
    return render(request, "portal/login.html", {
        "step": "code" if on_code_step else "mobile",
        "mobile_form": mobile_form,
        "code_form": code_form,
        "masked_mobile": mask_mobile(shown_mobile or ""),
        "resend_wait": _resend_wait(pending) if on_code_step else 0,
        "resend_error": resend_error,
        "code_minutes": max(1, settings.OTP_TTL_SECONDS // 60),
        "next": next_url if next_url != reverse("portal:home") else "",
    })


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:login")


# --- home ---------------------------------------------------------------------------------

@merchant_required
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    overview = ticket_overview_for_merchant_user(request.user)
    merchants = list(merchant_list_for_user(request.user))
    wait = queue_wait_estimate()
    return render(request, "portal/home.html", {
        "overview": overview,
        "merchants": merchants,
        "several_merchants": len(merchants) > 1,
        "wait": wait,
        "offer_callback": bool(merchants) and wait.minutes is not None
        and wait.minutes >= settings.PORTAL_CALLBACK_OFFER_MINUTES,
    })


# --- report a fault -----------------------------------------------------------------------

def _report_submit(user: User, data: dict[str, Any]) -> tuple[Ticket, bool]:
    """Open the ticket once per form token: a resubmitted form returns the first ticket. The
    fingerprint is the same for every submit of a form, so one sent again after an edit still
    leads to its ticket instead of failing as a reused key (one form, one ticket)."""

    def prepare() -> TicketDraft:
        return ticket_open_prepare(
            actor=user, merchant=data["merchant"], terminal=data.get("terminal"), text=data.get("text", ""),
            channel=Channel.PORTAL, attachments=data.get("photos") or [],
        )

    def produce(draft: TicketDraft) -> tuple[int, dict[str, Any]]:
        ticket = ticket_open_write(draft)
        return 201, {"ticket_id": ticket.pk, "number": ticket.number}

    (_status, body), replayed = idempotent_create(
        principal=f"user:{user.pk}", scope=REPORT_SCOPE, key=str(data["form_token"]),
        payload={"form": REPORT_SCOPE}, prepare=prepare, produce=produce, rows=TICKET_OPEN_ROWS,
    )
    return ticket_get_for_user(user, ticket_id=body["ticket_id"]), replayed


@merchant_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ReportForm(request.user, request.POST, request.FILES)
        if form.is_valid():
            try:
                ticket, replayed = _report_submit(request.user, form.cleaned_data)
            except ApplicationError as exc:
                add_application_error(form, exc)
            else:
                if replayed:
                    messages.info(request, _("This report was already sent. Here is its ticket."))
                else:
                    messages.success(request, _("Thank you. We have received your report: ticket %(number)s.")
                                     % {"number": ticket.number})
                return redirect("portal:ticket", ticket_id=ticket.pk)
        if form.has_error("form_token"):
            form.data = form.data.copy()
            form.data["form_token"] = str(uuid.uuid4())
    else:
        form = ReportForm(request.user, initial={"form_token": uuid.uuid4()})
    return render(request, "portal/report.html", {
        "form": form,
        "max_photos": MAX_FILES_PER_UPLOAD,
        "max_bytes": settings.ATTACHMENT_MAX_BYTES,
    })


# --- one ticket ---------------------------------------------------------------------------

@dataclass
class TimelineItem:
    """One public timeline event as the merchant reads it."""

    kind: str
    at: datetime
    who: str
    who_role: str
    mine: bool
    body: str = ""
    reason: str = ""
    from_label: str = ""
    to_label: str = ""
    merged_number: str = ""
    photos: list[TicketAttachment] = field(default_factory=list)
    files: list[TicketAttachment] = field(default_factory=list)


def _status_label(code: str) -> str:
    return str(Status(code).label) if code in Status.values else ""


def _timeline_items(events: list[TicketEvent], user: User) -> list[TimelineItem]:
    items = []
    for event in events:
        actor = event.actor
        mine = actor is not None and actor.pk == user.pk
        if actor is None:
            who, who_role = _("System"), ""
        elif mine:
            who, who_role = _("You"), ""
        else:
            who = str(actor)
            who_role = str(actor.get_role_display()) if actor.role != Role.MERCHANT else ""
        attachments = [a for a in event.attachments.all() if a.is_public]
        # Only the reasons a person had to write (cancel, reopen, not fixed) are the merchant's to read;
        # others are the system's or the desk's working words.
        move = (event.from_status, event.to_status)
        reason = event.reason if event.kind == TicketEvent.Kind.STATUS_CHANGED and move in lifecycle.REASON_REQUIRED else ""
        items.append(TimelineItem(
            kind=event.kind, at=event.created_at, who=who, who_role=who_role, mine=mine, body=event.body,
            reason=reason, from_label=_status_label(event.from_status), to_label=_status_label(event.to_status),
            merged_number=str(event.data.get("into") or event.data.get("from") or ""),
            photos=[a for a in attachments if a.content_type.startswith("image/")],
            files=[a for a in attachments if not a.content_type.startswith("image/")],
        ))
    return items


def _ticket_or_none(request: HttpRequest, ticket_id: int) -> Ticket | None:
    try:
        return ticket_get_for_user(request.user, ticket_id=ticket_id)
    except NotFound:
        return None


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/not_found.html", status=404)


def _render_ticket(
    request: HttpRequest, ticket: Ticket, *, reply_form: ReplyForm | None = None, open_action: str = "",
    action_form: ReasonForm | None = None, action_error: str = "", notice: str = "",
) -> HttpResponse:
    user = request.user
    offered = lifecycle.next_statuses_for(Role.MERCHANT, ticket.status)
    context = {
        "ticket": ticket,
        "steps": progress_steps(ticket.status),
        "next_step": next_step_for(ticket.status),
        "timeline": _timeline_items(ticket_timeline(ticket, user), user),
        "can_reply": policies.can_reply(user, ticket),
        "can_confirm": ticket.status == Status.PENDING_ACCEPTANCE and Status.RESOLVED in offered,
        "can_reopen": Status.IN_PROGRESS in offered,
        "reopen_is_not_fixed": ticket.status == Status.PENDING_ACCEPTANCE,
        "can_cancel": Status.CANCELLED in offered,
        "reply_form": reply_form or ReplyForm(auto_id="reply_%s"),
        "reopen_form": action_form if open_action == "reopen" and action_form else ReasonForm(auto_id="reopen_%s"),
        "cancel_form": action_form if open_action == "cancel" and action_form else ReasonForm(auto_id="cancel_%s"),
        "open_action": open_action,
        "action_error": action_error,
        "notice": notice,
        "max_photos": MAX_FILES_PER_UPLOAD,
    }
    template = "portal/ticket.html#ticket-body" if request.htmx else "portal/ticket.html"
    return render(request, template, context)


def _after_change(request: HttpRequest, ticket_id: int, notice: str) -> HttpResponse:
    """htmx: the refreshed ticket body with a notice; plain POST: redirect (post/redirect/get)."""
    if request.htmx:
        ticket = ticket_get_for_user(request.user, ticket_id=ticket_id)  # re-read: the status may have moved
        return _render_ticket(request, ticket, notice=notice)
    messages.success(request, notice)
    return redirect("portal:ticket", ticket_id=ticket_id)


@merchant_required
@require_http_methods(["GET"])
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_none(request, ticket_id)
    if ticket is None:
        return _not_found(request)
    return _render_ticket(request, ticket)


@merchant_required
@require_POST
def ticket_reply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_none(request, ticket_id)
    if ticket is None:
        return _not_found(request)
    form = ReplyForm(request.POST, request.FILES, auto_id="reply_%s")
    if form.is_valid():
        body, photos = form.cleaned_data["body"].strip(), form.cleaned_data["photos"]
        try:
            if body:
                ticket_reply(ticket=ticket, actor=request.user, body=body, attachments=photos)
            else:
                ticket_attach(ticket=ticket, actor=request.user, files=photos)
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            return _after_change(request, ticket.pk, _("Your message was sent."))
    return _render_ticket(request, ticket, reply_form=form)


@merchant_required
@require_POST
def ticket_confirm_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = _ticket_or_none(request, ticket_id)
    if ticket is None:
        return _not_found(request)
    try:
        ticket_confirm_repair(ticket=ticket, actor=request.user)
    except ApplicationError as exc:
        return _render_ticket(request, ticket, open_action="confirm", action_error=str(exc.message))
    return _after_change(request, ticket.pk, _("Thank you for confirming the repair."))


def _transition_with_reason(request: HttpRequest, ticket_id: int, *, action: str, to_status: str,
                            notice: str) -> HttpResponse:
    ticket = _ticket_or_none(request, ticket_id)
    if ticket is None:
        return _not_found(request)
    form = ReasonForm(request.POST, auto_id=f"{action}_%s")
    if form.is_valid():
        try:
            ticket_transition(ticket=ticket, actor=request.user, to_status=to_status,
                              reason=form.cleaned_data["reason"])
        except ApplicationError as exc:
            add_application_error(form, exc)
        else:
            return _after_change(request, ticket.pk, notice)
    return _render_ticket(request, ticket, open_action=action, action_form=form)


@merchant_required
@require_POST
def ticket_reopen_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """"Not fixed" on a repair awaiting confirmation, or a reopen of a resolved or closed ticket
    within the reopen window: both put the ticket back in progress, with the merchant's reason."""
    return _transition_with_reason(request, ticket_id, action="reopen", to_status=Status.IN_PROGRESS,
                                   notice=_("Your ticket is open again. A service agent will follow up."))


@merchant_required
@require_POST
def ticket_cancel_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _transition_with_reason(request, ticket_id, action="cancel", to_status=Status.CANCELLED,
                                   notice=_("Your ticket was cancelled."))


# --- contact preferences and reachability (C4, C3) ----------------------------------------------

@dataclass
class MerchantPreferences:
    merchant: Any
    do_not_disturb: bool
    marketing: set[str]
    surveys: bool
    history: list[Any]


def _preferences(merchant: Any) -> MerchantPreferences:
    opt_outs = {(o.channel, o.purpose) for o in contact_opt_outs(merchant.pk)}
    return MerchantPreferences(
        merchant=merchant,
        do_not_disturb=contact_profile(merchant.pk).do_not_disturb,
        marketing={c.channel for c in marketing_consents(merchant.pk) if c.withdrawn_at is None},
        surveys=not any(purpose == ContactPurpose.SURVEY for _channel, purpose in opt_outs),
        history=[d for d in contact_history(merchant_id=merchant.pk, limit=10) if d.contacted],
    )


@merchant_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """How we may contact each of the merchant's shops: do-not-disturb, marketing by channel
    (their consent, given or withdrawn here), surveys; and who contacted them lately."""
    merchants = list(merchant_list_for_user(request.user))
    if request.method == "POST":
        for merchant in merchants:
            prefix = f"m{merchant.pk}-"
            contact_preferences_set(
                merchant=merchant, actor=request.user,
                do_not_disturb=request.POST.get(prefix + "dnd") == "on",
                marketing={c for c in MARKETING_CHANNELS if request.POST.get(f"{prefix}marketing-{c}") == "on"},
                surveys=request.POST.get(prefix + "surveys") == "on",
            )
        messages.success(request, _("Your contact preferences are saved."))
        return redirect("portal:preferences")
    return render(request, "portal/preferences.html", {
        "shops": [_preferences(m) for m in merchants],
        "marketing_channels": [(c, ContactChannel(c).label) for c in MARKETING_CHANNELS],
    })


@merchant_required
@require_POST
def callback_request_view(request: HttpRequest) -> HttpResponse:
    """Ask to be called back instead of waiting (offered on the home page when the queue is long)."""
    merchants = list(merchant_list_for_user(request.user))
    if not merchants or not request.user.mobile:
        messages.error(request, _("Your mobile number is not linked to a shop yet."))
        return redirect("portal:home")
    task = callback_request(merchant=merchants[0], mobile=request.user.mobile, actor=request.user)
    messages.success(request, _("We will call you back by %(time)s.") % {
        "time": timezone.localtime(task.due_at).strftime("%H:%M" if timezone.localdate(task.due_at) ==
                                                          timezone.localdate() else "%m-%d %H:%M")})
    return redirect("portal:home")
