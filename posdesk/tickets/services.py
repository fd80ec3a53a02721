"""Every write to a ticket goes through this module: it validates, writes the ticket and its
timeline event in one transaction, records the audit entry, and hands side effects (outbound
messages) to the outbox. Status changes happen only in `ticket_transition`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import STAFF_ROLES, Organisation, Role, Team, User
from posdesk.accounts.selectors import assignable_users_for
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.contact.models import ContactChannel, ContactPurpose
from posdesk.contact.services import (
    PLANNED_CONTACT_ROWS,
    ContactPlan,
    contact_inbound_recorded,
    contact_plan,
    contact_plan_carry_out,
)
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed, field_error
from posdesk.core.jobs import CoalescedJob
from posdesk.core.rows import row_insert, rows_together
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Channel, Priority, Status
from posdesk.core.text import without_nul
from posdesk.merchants.models import Merchant
from posdesk.merchants.selectors import merchant_primary_mobile
from posdesk.terminals.models import Terminal
from posdesk.tickets import lifecycle, policies
from posdesk.tickets.attachments import CheckedFile
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent, TicketNumberSequence
from posdesk.tickets.routing import tickets_assign_waiting_later
from posdesk.tickets.sla import sla_refresh, sla_status_changed

MAX_TEXT = 5000
# A new ticket is triaged after its commit (settings.TICKET_INTAKE_JOB, in the triage app above this
# one), which then starts routing, so skills see the triaged category. Coalesced: one run per window.
intake_kick = CoalescedJob(settings.TICKET_INTAKE_JOB)
SHANGHAI = timezone.get_fixed_timezone(8 * 60)  # Asia/Shanghai has no DST


# --- numbers ------------------------------------------------------------------------------

def ticket_number_next(*, at: datetime) -> str:
    """T + YYMMDD (Asia/Shanghai) + a per-day sequence of at least 4 digits: T2611220042.
    One atomic upsert, so concurrent creates never share a number."""
    day = at.astimezone(SHANGHAI).strftime("%y%m%d")
    table = TicketNumberSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last_value) VALUES (%s, 1) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (day) DO UPDATE SET last_value = {table}.last_value + 1 RETURNING last_value",
            [day],
        )
        value = cursor.fetchone()[0]
    return f"T{day}{value:04d}"


# --- helpers ------------------------------------------------------------------------------

def _clean_text(text: str, *, field: str = "text", required: bool = True) -> str:
    text = without_nul(text).strip()
    if required and not text:
        raise field_error(field, _("Please describe the problem."), code="text_required")
    if len(text) > MAX_TEXT:
        raise field_error(field, _("The text is longer than %(max)d characters.") % {"max": MAX_TEXT},
                          code="text_too_long")
    return text


def _subject_from(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return first_line[:60] + ("…" if len(first_line) > 60 else "")


def _event(
    ticket: Ticket, *, kind: str, actor: User | None, at: datetime, is_public: bool = True, body: str = "",
    from_status: str = "", to_status: str = "", reason: str = "", data: dict | None = None,
) -> TicketEvent:
    return row_insert(TicketEvent(
        ticket=ticket, kind=kind, actor=actor, created_at=at, is_public=is_public, body=body,
        from_status=from_status, to_status=to_status, reason=reason, data=data or {},
    ))


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock: two requests on one ticket are applied one by one."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


# a ticket opened on these channels means the merchant reached out to us
MERCHANT_INITIATED_CHANNELS = frozenset({Channel.PORTAL, Channel.EMAIL, Channel.WECHAT, Channel.SMS, Channel.PHONE})


@dataclass(frozen=True)
class ReplyRoute:
    """Where an answer on a ticket goes: what TICKET_REPLY_ROUTER (the channels) answers."""

    channel: str
    recipient: str
    subject: str = ""
    body_prefix: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    full_text: bool = False  # the channel carries a whole answer (e-mail, WeChat), not an SMS-sized notice


def ticket_reply_route(ticket: Ticket) -> ReplyRoute | None:
    """Where an answer to the ticket's merchant goes: the ticket's own thread when the channels know
    one (the e-mail they wrote, their WeChat, the number they texted), else an SMS to the merchant's
    primary mobile; None when there is nobody to reach. The ticket may be one being opened, not
    saved yet: it has no thread of its own (TICKET_REPLY_ROUTER answers for it as for a ticket
    without messages)."""
    if ticket.merchant_id is None:
        return None
    route = import_string(settings.TICKET_REPLY_ROUTER)(ticket)
    if route is None:
        mobile = merchant_primary_mobile(ticket.merchant_id)
        if not mobile:
            return None
        route = ReplyRoute(channel=ContactChannel.SMS, recipient=mobile, body_prefix="【posdesk】")
    return route


Notice = tuple[ReplyRoute, ContactPlan]


def _notice_plan(ticket: Ticket, purpose: str, *, at: datetime | None = None, inbound_channel: str = "") -> Notice | None:
    """Where a notice to the ticket's merchant goes and whether the contact gate (C4) lets it go:
    the reads, done before the write transaction when the caller can."""
    route = ticket_reply_route(ticket)
    if route is None:
        return None
    return route, contact_plan(merchant_id=ticket.merchant_id, channel=route.channel, purpose=purpose,
                               recipient=route.recipient, at=at, ticket_id=ticket.pk, inbound_channel=inbound_channel)


def _notice_send(ticket: Ticket, notice: Notice | None, body: str, actor: User | None = None,
                 full_body: str = "") -> None:
    """Write a planned notice (outbox message and the gate's decision) in the caller's transaction."""
    if notice is None:
        return
    route, plan = notice
    text = full_body if full_body and route.full_text else body
    contact_plan_carry_out(plan, body=f"{route.body_prefix}{text}", subject=route.subject, headers=route.headers,
                           ticket_id=ticket.pk, actor=actor)


def _notify_merchant(ticket: Ticket, body: str, purpose: str = ContactPurpose.SERVICE_REPLY,
                     actor: User | None = None, full_body: str = "") -> None:
    """Tell the merchant — on the ticket's own thread when the channels know one (the e-mail they
    wrote, their WeChat), else by SMS — through the contact gate (C4), which may hold it."""
    _notice_send(ticket, _notice_plan(ticket, purpose), body, actor=actor, full_body=full_body)


def _store_attachments(
    ticket: Ticket, event: TicketEvent, files: Iterable[CheckedFile], actor: User | None, is_public: bool
) -> list[TicketAttachment]:
    stored = []
    for checked in files:
        attachment = TicketAttachment(
            ticket=ticket, event=event, original_name=checked.name, content_type=checked.content_type,
            size=len(checked.data), sha256=hashlib.sha256(checked.data).hexdigest(), is_public=is_public,
            uploaded_by=actor,
        )
        attachment.file.save(checked.name, ContentFile(checked.data), save=False)
        attachment.save()
        stored.append(attachment)
    return stored


def _touch(ticket: Ticket, at: datetime, extra_fields: list[str] | None = None) -> None:
    ticket.updated_at = at
    ticket.save(update_fields=["updated_at", *(extra_fields or [])])


# --- open ---------------------------------------------------------------------------------

@dataclass
class TicketDraft:
    """A report checked, with what writing it needs read (`ticket_open_prepare`): the ticket
    without its number, and where its acknowledgement goes and whether the contact gate lets it
    go. `ticket_open_write` writes it; on SQLite the write transaction holds the database's one
    write lock, so everything that can be done before it is done here."""

    ticket: Ticket
    actor: User | None
    attachments: list[CheckedFile]
    merchant_wrote: bool  # the merchant reached out: recorded as their latest inbound contact
    acknowledgement: Notice | None  # None: nobody to tell, or the caller acknowledges later


def ticket_open(
    *,
    actor: User,
    merchant: Merchant,
    text: str,
    channel: str,
    terminal: Terminal | None = None,
    category: str | None = None,
    priority: str | None = None,
    attachments: Iterable[CheckedFile] = (),
) -> Ticket:
    """Open a ticket for `merchant` in the merchant's own words. Category and priority, when the
    reporter does not give them, start as consultation / P3 until triage (C6) classifies them."""
    draft = ticket_open_prepare(actor=actor, merchant=merchant, text=text, channel=channel, terminal=terminal,
                                category=category, priority=priority, attachments=attachments)
    return ticket_open_write(draft)


def ticket_open_prepare(
    *,
    actor: User,
    merchant: Merchant,
    text: str,
    channel: str,
    terminal: Terminal | None = None,
    category: str | None = None,
    priority: str | None = None,
    attachments: Iterable[CheckedFile] = (),
) -> TicketDraft:
    """`ticket_open`'s checks and reads, before the write transaction: raises what it would."""
    if actor.role != Role.MERCHANT and not actor.is_desk:
        # field staff report what they find on the work order, not as a new merchant ticket
        raise PermissionDenied(_("Your role may not open tickets."), code="open_not_allowed")
    text = _clean_text(text)
    if channel not in Channel.values:
        raise field_error("channel", _("Unknown channel."), code="invalid_channel")
    if category is not None and category not in Category.values:
        raise field_error("category", _("Unknown category."), code="invalid_category")
    if priority is not None and priority not in Priority.values:
        raise field_error("priority", _("Unknown priority."), code="invalid_priority")
    if actor.role == Role.MERCHANT and (category or priority):
        category = priority = None  # the desk classifies; a merchant's words are the input
    if merchant.status != Merchant.Status.ACTIVE:
        raise ValidationFailed(_("This merchant is not active."), code="merchant_inactive",
                               detail={"field": "merchant"})
    if terminal is not None and terminal.merchant_id != merchant.pk:
        raise field_error("terminal", _("This terminal is not bound to this merchant."),
                          code="terminal_not_of_merchant")
    return _ticket_draft(actor=actor, merchant=merchant, terminal=terminal, text=text, channel=channel,
                         category=category, priority=priority, attachments=attachments)


# the rows opening a ticket inserts (attachments aside): one statement on PostgreSQL (core/rows.py)
TICKET_OPEN_ROWS = (Ticket, TicketEvent, AuditEntry, *PLANNED_CONTACT_ROWS)


def ticket_open_write(draft: TicketDraft) -> Ticket:
    """Write a prepared report: the ticket, its timeline, audit, acknowledgement and jobs. A
    caller whose own transaction adds rows passes `TICKET_OPEN_ROWS` to its `rows_together`."""
    # checks are done: nothing left to roll back to
    with transaction.atomic(savepoint=False), rows_together(*TICKET_OPEN_ROWS):
        return _ticket_write(draft)


def ticket_open_from_channel(
    *, channel: str, text: str, merchant: Merchant | None, terminal: Terminal | None = None,
    actor: User | None = None, attachments: Iterable[CheckedFile] = (), acknowledge: bool = True,
) -> Ticket:
    """A ticket opened by a channel adapter (e-mail, WeChat, SMS, phone) for what a merchant sent.
    `merchant` None: the sender is not known yet — the ticket is opened unidentified (an agent
    links the merchant) and nobody is notified. `actor` is the merchant's portal user when known.
    `acknowledge=False` leaves the acknowledgement to the caller (`ticket_acknowledge`), once it has
    linked the inbound message, so the acknowledgement can answer on that message's thread."""
    text = _clean_text(text)
    if channel not in Channel.values:
        raise field_error("channel", _("Unknown channel."), code="invalid_channel")
    if merchant is not None and terminal is not None and terminal.merchant_id != merchant.pk:
        terminal = None  # a number the sender mentioned that is not theirs: keep the words, not the link
    draft = _ticket_draft(actor=actor, merchant=merchant, terminal=terminal, text=text, channel=channel,
                          category=None, priority=None, attachments=attachments, acknowledge=acknowledge)
    return ticket_open_write(draft)


@transaction.atomic
def ticket_append_from_channel(
    *, ticket: Ticket, text: str, channel: str, attachments: Iterable[CheckedFile] = (), sender: str = "",
) -> TicketEvent:
    """What the merchant sent on a channel, added to their open ticket as a public reply: the
    ticket waiting on them goes back to work, and the reply window for our answer opens."""
    ticket = _lock(ticket)
    text = _clean_text(text, field="text")
    now = timezone.now()
    event = _event(ticket, kind=TicketEvent.Kind.REPLY, actor=None, at=now, body=text,
                   data={"channel": channel, **({"sender": sender} if sender else {})})
    _store_attachments(ticket, event, attachments, None, is_public=True)
    _touch(ticket, now)
    if ticket.merchant_id is not None:
        contact_inbound_recorded(merchant_id=ticket.merchant_id, channel=channel, at=now)
    if ticket.status == Status.WAITING_MERCHANT:
        _apply_transition(ticket, actor=None, to_status=Status.IN_PROGRESS, reason="", at=now, automatic=True)
    return event


def _acknowledgement(ticket: Ticket, note: str = "") -> str:
    body = f"您的报修已受理，工单号 {ticket.number}。可在商户服务平台查看进度。"
    return f"{body}\n{note}" if note else body


def ticket_acknowledge(*, ticket: Ticket, note: str = "") -> None:
    """Tell the merchant their report is taken, with its number (on their own thread when the
    channel that brought it knows one); `note` is added on a line of its own (the queue's wait)."""
    _notify_merchant(ticket, _acknowledgement(ticket, note))


def _ticket_draft(
    *, actor: User | None, merchant: Merchant | None, terminal: Terminal | None, text: str, channel: str,
    category: str | None, priority: str | None, attachments: Iterable[CheckedFile], acknowledge: bool = True,
) -> TicketDraft:
    now = timezone.now()
    ticket = Ticket(
        merchant=merchant,
        terminal=terminal,
        channel=channel,
        category=category or Category.CONSULTATION,
        priority=priority or Priority.P3,
        status=Status.NEW,
        subject=_subject_from(text),
        description=text,
        district_id=merchant.district_id if merchant is not None else None,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    sla_refresh(ticket, now=now)  # the promise is made when the ticket opens
    merchant_wrote = merchant is not None and (
        actor is None or actor.role == Role.MERCHANT or channel in MERCHANT_INITIATED_CHANNELS)
    acknowledgement = None
    if merchant is not None and acknowledge:
        # the merchant contacted us: the acknowledgement answers them, even at night (C4)
        acknowledgement = _notice_plan(ticket, ContactPurpose.SERVICE_REPLY, at=now,
                                       inbound_channel=channel if merchant_wrote else "")
    return TicketDraft(ticket=ticket, actor=actor, attachments=list(attachments), merchant_wrote=merchant_wrote,
                       acknowledgement=acknowledgement)


def _ticket_write(draft: TicketDraft) -> Ticket:
    ticket, actor, merchant = draft.ticket, draft.actor, draft.ticket.merchant
    now, channel = ticket.created_at, ticket.channel
    ticket.number = ticket_number_next(at=now)
    row_insert(ticket)
    if merchant is not None and Merchant.district.is_cached(merchant):
        ticket.district = merchant.district  # the answer shows it; no second read
    event = _event(ticket, kind=TicketEvent.Kind.CREATED, actor=actor, at=now, body=ticket.description,
                   to_status=Status.NEW, data={"channel": channel})
    if draft.attachments:
        _store_attachments(ticket, event, draft.attachments, actor, is_public=True)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, target=ticket, summary=ticket.number,
                 changes={"channel": channel, "merchant": merchant.mid if merchant is not None else ""})
    if draft.merchant_wrote:
        contact_inbound_recorded(merchant_id=merchant.pk, channel=channel, at=now)
    _notice_send(ticket, draft.acknowledgement, _acknowledgement(ticket))
    transaction.on_commit(intake_kick)  # triage (C6) classifies it, then routing picks who works it
    return ticket


# --- replies, notes, attachments ----------------------------------------------------------

@transaction.atomic
def ticket_reply(
    *, ticket: Ticket, actor: User, body: str, attachments: Iterable[CheckedFile] = (), channel: str = Channel.PORTAL
) -> TicketEvent:
    """A public reply. A staff member's first reply is the first response; a merchant's reply to
    a ticket waiting on them puts it back in progress; a staff reply starts work on a new one."""
    ticket = _lock(ticket)
    if not policies.can_reply(actor, ticket):
        raise PermissionDenied(_("This ticket is closed to replies."), code="reply_not_allowed")
    body = _clean_text(body, field="body")
    now = timezone.now()
    event = _event(ticket, kind=TicketEvent.Kind.REPLY, actor=actor, at=now, body=body)
    _store_attachments(ticket, event, attachments, actor, is_public=True)
    changed: list[str] = []
    if actor.role in STAFF_ROLES:
        if ticket.first_response_at is None:
            ticket.first_response_at = now  # the first response is met; its clock stops
            changed.append("first_response_at")
            changed += sla_refresh(ticket, now=now)
        _touch(ticket, now, changed)
        if ticket.status in (Status.NEW, Status.TRIAGED):
            _apply_transition(ticket, actor=actor, to_status=Status.IN_PROGRESS, reason="", at=now,
                              automatic=True)
        _notify_merchant(ticket, f"您的工单 {ticket.number} 有新回复：{body[:50]}",
                         full_body=f"您的工单 {ticket.number} 有新回复：\n\n{body}")
    else:
        _touch(ticket, now)
        if ticket.merchant_id is not None:
            contact_inbound_recorded(merchant_id=ticket.merchant_id, channel=channel, at=now)
        if ticket.status == Status.WAITING_MERCHANT:
            _apply_transition(ticket, actor=actor, to_status=Status.IN_PROGRESS, reason="", at=now,
                              automatic=True)
    return event


@transaction.atomic
def ticket_add_note(
    *, ticket: Ticket, actor: User, body: str, attachments: Iterable[CheckedFile] = ()
) -> TicketEvent:
    ticket = _lock(ticket)
    if not policies.can_note(actor, ticket):
        raise PermissionDenied()
    body = _clean_text(body, field="body")
    now = timezone.now()
    event = _event(ticket, kind=TicketEvent.Kind.NOTE, actor=actor, at=now, body=body, is_public=False)
    _store_attachments(ticket, event, attachments, actor, is_public=False)
    _touch(ticket, now)
    return event


@transaction.atomic
def ticket_attach(
    *, ticket: Ticket, actor: User, files: list[CheckedFile], is_public: bool = True
) -> list[TicketAttachment]:
    ticket = _lock(ticket)
    if not files:
        raise field_error("files", _("Choose at least one file."), code="attachment_missing")
    if not policies.can_reply(actor, ticket):
        raise PermissionDenied(_("This ticket is closed to replies."), code="reply_not_allowed")
    if not is_public and not policies.can_see_internal(actor):
        raise PermissionDenied()
    now = timezone.now()
    event = _event(ticket, kind=TicketEvent.Kind.ATTACHMENT, actor=actor, at=now, is_public=is_public,
                   data={"count": len(files)})
    stored = _store_attachments(ticket, event, files, actor, is_public)
    _touch(ticket, now)
    return stored


# --- transitions --------------------------------------------------------------------------

def _apply_transition(
    ticket: Ticket, *, actor: User | None, to_status: str, reason: str, at: datetime, automatic: bool = False
) -> TicketEvent:
    from_status = ticket.status
    ticket.status = to_status
    fields = ["status", "updated_at"]
    if to_status == Status.RESOLVED:
        ticket.resolved_at = at
        fields.append("resolved_at")
    elif to_status in (Status.CLOSED, Status.CANCELLED):
        ticket.closed_at = at
        fields.append("closed_at")
    if lifecycle.is_reopen(from_status, to_status):
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.closed_at = None
        fields += ["reopen_count", "resolved_at", "closed_at"]
    fields += sla_status_changed(ticket, from_status=from_status, to_status=to_status, now=at)
    if ticket.assignee_id and from_status in OPEN_STATUSES and to_status not in OPEN_STATUSES:
        tickets_assign_waiting_later(agent_id=ticket.assignee_id)  # room for the next waiting ticket
    _touch(ticket, at, [f for f in dict.fromkeys(fields) if f != "updated_at"])
    event = _event(ticket, kind=TicketEvent.Kind.STATUS_CHANGED, actor=actor, at=at, from_status=from_status,
                   to_status=to_status, reason=reason, data={"automatic": automatic} if automatic else None)
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=ticket, summary=ticket.number,
                 changes={"status": [from_status, to_status], "reason": reason})
    if to_status == Status.PENDING_ACCEPTANCE:
        _notify_merchant(ticket, f"工单 {ticket.number} 已修复，请在商户服务平台确认维修结果。")
    elif to_status == Status.RESOLVED and (actor is None or actor.role != Role.MERCHANT):
        _notify_merchant(ticket, f"工单 {ticket.number} 已解决。如问题仍在，{settings.TICKET_REOPEN_WINDOW_DAYS} 天内可重新打开。")
    return event


@transaction.atomic
def ticket_transition(*, ticket: Ticket, actor: User, to_status: str, reason: str = "") -> TicketEvent:
    """Move the ticket to `to_status` if the move exists in SPEC §3, the actor's role may make it,
    and (for a reopen) the reopen window has not passed."""
    ticket = _lock(ticket)
    if to_status not in Status.values:
        raise field_error("to_status", _("Unknown status."), code="invalid_status")
    from_status = ticket.status
    if ticket.merged_into_id and lifecycle.is_reopen(from_status, to_status):
        raise Conflict(_("A merged ticket cannot be reopened; work continues on the original."),
                       code="ticket_merged")
    if not lifecycle.is_legal(from_status, to_status):
        raise Conflict(
            _("A ticket cannot go from “%(from)s” to “%(to)s”.")
            % {"from": Status(from_status).label, "to": Status(to_status).label},
            code="illegal_transition",
            detail={"from": from_status, "to": to_status,
                    "allowed": sorted(str(s) for s in lifecycle.TRANSITIONS[Status(from_status)])},
        )
    if not lifecycle.role_may_move(actor.role, from_status, to_status):
        raise PermissionDenied(_("Your role may not make this change."), code="transition_not_allowed")
    reason = without_nul(reason).strip()[:500]
    if (Status(from_status), Status(to_status)) in lifecycle.REASON_REQUIRED and not reason:
        raise field_error("reason", _("Please give a reason for this change."), code="reason_required")
    now = timezone.now()
    if lifecycle.is_reopen(from_status, to_status):
        resolved_at = ticket.resolved_at or ticket.closed_at or ticket.updated_at
        window = timedelta(days=settings.TICKET_REOPEN_WINDOW_DAYS)
        if now - resolved_at > window:
            raise Conflict(
                _("The reopen window of %(days)d days has passed; please report a new fault.")
                % {"days": settings.TICKET_REOPEN_WINDOW_DAYS},
                code="reopen_window_passed",
            )
    return _apply_transition(ticket, actor=actor, to_status=to_status, reason=reason, at=now)


def ticket_confirm_repair(*, ticket: Ticket, actor: User) -> TicketEvent:
    """The merchant accepts the repair (SPEC §3 step 6)."""
    return ticket_transition(ticket=ticket, actor=actor, to_status=Status.RESOLVED, reason="merchant confirmed")


def tickets_close_resolved(*, now: datetime | None = None) -> int:
    """Close tickets resolved longer ago than the reopen window (a periodic job)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TICKET_REOPEN_WINDOW_DAYS)
    closed = 0
    for ticket_id in Ticket.objects.filter(status=Status.RESOLVED, resolved_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:1000]:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            if ticket.status == Status.RESOLVED:
                _apply_transition(ticket, actor=None, to_status=Status.CLOSED, reason="auto-close", at=now,
                                  automatic=True)
                closed += 1
    return closed


# --- assignment ---------------------------------------------------------------------------

_UNCHANGED = object()


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    actor: User,
    assignee: User | None | object = _UNCHANGED,
    team: Team | None | object = _UNCHANGED,
    vendor: Organisation | None | object = _UNCHANGED,
) -> TicketEvent | None:
    """Set who works the ticket: a team, a person, and for field work a vendor. Arguments left
    out stay as they are; None clears. Returns None when nothing changed."""
    ticket = _lock(ticket)
    if not policies.can_assign(actor, ticket):
        raise PermissionDenied(code="assign_not_allowed")
    if (vendor is not _UNCHANGED or team is not _UNCHANGED) and not actor.is_desk:
        # a vendor dispatches within its own staff only
        raise PermissionDenied(code="assign_not_allowed")
    if (assignee is not _UNCHANGED and assignee is not None
            and not assignable_users_for(actor).filter(pk=assignee.pk).exists()):
        raise field_error("assignee", _("This person cannot be given this ticket."), code="invalid_assignee")
    if vendor is not _UNCHANGED and vendor is not None and vendor.kind != Organisation.Kind.VENDOR:
        raise field_error("vendor", _("This organisation is not a field-service vendor."), code="invalid_vendor")
    new_vendor = ticket.vendor if vendor is _UNCHANGED else vendor
    new_assignee = ticket.assignee if assignee is _UNCHANGED else assignee
    if (new_assignee is not None and new_assignee.role == Role.VENDOR
            and (new_vendor is None or new_assignee.organisation_id != new_vendor.pk)):
        raise field_error("assignee", _("A vendor's staff can only work tickets given to their vendor."),
                          code="invalid_assignee")
    before = {"assignee": ticket.assignee_id, "team": ticket.team_id, "vendor": ticket.vendor_id}
    if assignee is not _UNCHANGED:
        ticket.assignee = assignee  # type: ignore[assignment]
    if team is not _UNCHANGED:
        ticket.team = team  # type: ignore[assignment]
    if vendor is not _UNCHANGED:
        ticket.vendor = vendor  # type: ignore[assignment]
    after = {"assignee": ticket.assignee_id, "team": ticket.team_id, "vendor": ticket.vendor_id}
    if before == after:
        return None
    now = timezone.now()
    # a team works on its own hours: a new team may move the deadlines
    sla_fields = sla_refresh(ticket, now=now) if before["team"] != after["team"] else []
    _touch(ticket, now, ["assignee", "team", "vendor", *sla_fields])
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    event = _event(
        ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor, at=now, is_public=False,
        data={
            "changes": changes,
            "assignee": str(ticket.assignee) if ticket.assignee else None,
            "team": str(ticket.team) if ticket.team else None,
            "vendor": str(ticket.vendor) if ticket.vendor else None,
        },
    )
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=ticket, summary=ticket.number,
                 changes=changes)
    return event


def tickets_bulk_assign(
    *, tickets: Iterable[Ticket], actor: User, assignee: User | None | object = _UNCHANGED,
    team: Team | None | object = _UNCHANGED,
) -> int:
    """Assign several tickets; all or none (one transaction)."""
    changed = 0
    with transaction.atomic():
        for ticket in tickets:
            if ticket_assign(ticket=ticket, actor=actor, assignee=assignee, team=team) is not None:
                changed += 1
    return changed


# --- classification -----------------------------------------------------------------------

def _classification_set(ticket: Ticket, actor: User, category: str | None, priority: str | None) -> dict:
    """Check and set a new category and/or priority on the locked `ticket`; the changes made."""
    if not policies.can_change_fields(actor):
        raise PermissionDenied()
    if category is not None and category not in Category.values:
        raise field_error("category", _("Unknown category."), code="invalid_category")
    if priority is not None and priority not in Priority.values:
        raise field_error("priority", _("Unknown priority."), code="invalid_priority")
    changes: dict[str, list[str]] = {}
    if category and category != ticket.category:
        changes["category"] = [ticket.category, category]
        ticket.category = category
    if priority and priority != ticket.priority:
        changes["priority"] = [ticket.priority, priority]
        ticket.priority = priority
    return changes


def _classification_record(ticket: Ticket, actor: User, changes: dict, reason: str = "") -> TicketEvent:
    """Save the changed fields with fresh deadlines (another priority, another promise), with an
    internal timeline event and an audit entry."""
    now = timezone.now()
    _touch(ticket, now, [*changes, *sla_refresh(ticket, now=now)])
    event = _event(ticket, kind=TicketEvent.Kind.FIELDS_CHANGED, actor=actor, at=now, is_public=False,
                   reason=reason, data={"changes": changes})
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=ticket, summary=ticket.number,
                 changes=changes)
    return event


@transaction.atomic
def ticket_classify(
    *, ticket: Ticket, actor: User, category: str | None = None, priority: str | None = None
) -> TicketEvent | None:
    ticket = _lock(ticket)
    changes = _classification_set(ticket, actor, category, priority)
    return _classification_record(ticket, actor, changes) if changes else None


# --- merge --------------------------------------------------------------------------------

@transaction.atomic
def ticket_merge(*, duplicate: Ticket, original: Ticket, actor: User, reason: str = "") -> Ticket:
    """Close `duplicate` into `original`: its report is copied onto the original's timeline, it is
    closed with a pointer to the original, and both timelines say so."""
    if not policies.can_merge(actor):
        raise PermissionDenied()
    if duplicate.pk == original.pk:
        raise field_error("original", _("A ticket cannot be merged into itself."), code="merge_into_self")
    # lock both in id order so two opposite merges cannot deadlock
    locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[duplicate.pk, original.pk])
              .order_by("pk")}
    duplicate, original = locked[duplicate.pk], locked[original.pk]
    if duplicate.status not in OPEN_STATUSES or original.status not in OPEN_STATUSES:
        raise Conflict(_("Only open tickets can be merged."), code="merge_not_open")
    if duplicate.merchant_id != original.merchant_id:
        raise Conflict(_("Only tickets of the same merchant can be merged."), code="merge_other_merchant")
    now = timezone.now()
    reason = without_nul(reason).strip()[:500] or f"duplicate of {original.number}"
    duplicate.merged_into = original
    duplicate.save(update_fields=["merged_into"])
    _event(duplicate, kind=TicketEvent.Kind.MERGED, actor=actor, at=now, reason=reason,
           data={"into": original.number, "into_id": original.pk})
    _apply_transition(duplicate, actor=actor, to_status=Status.CLOSED, reason=reason, at=now)
    _event(original, kind=TicketEvent.Kind.MERGED, actor=actor, at=now, body=duplicate.description,
           reason=reason, data={"from": duplicate.number, "from_id": duplicate.pk})
    _touch(original, now)
    return original


# --- automatic work (triage, C6; self-service answers, C5) ----------------------------------

@transaction.atomic
def ticket_identify(
    *, ticket: Ticket, actor: User | None, merchant: Merchant | None = None, terminal: Terminal | None = None,
    reason: str = "",
) -> TicketEvent | None:
    """Link the merchant and/or terminal a ticket lacks (an unidentified e-mail that names its MID,
    a WeChat text with the SN). Only fills what is empty, and only with a terminal of the ticket's
    merchant: an identity already set is never replaced here. Returns None when nothing changed."""
    ticket = _lock(ticket)
    changes: dict[str, list] = {}
    fields: list[str] = []
    if merchant is not None and ticket.merchant_id is None:
        ticket.merchant, ticket.district_id = merchant, merchant.district_id
        changes["merchant"] = [None, merchant.mid]
        fields += ["merchant", "district"]
    if (terminal is not None and ticket.terminal_id is None and ticket.merchant_id is not None
            and terminal.merchant_id == ticket.merchant_id):
        ticket.terminal = terminal
        changes["terminal"] = [None, terminal.sn]
        fields.append("terminal")
    if not changes:
        return None
    now = timezone.now()
    _touch(ticket, now, fields)
    event = _event(ticket, kind=TicketEvent.Kind.FIELDS_CHANGED, actor=actor, at=now, is_public=False,
                   reason=without_nul(reason)[:500], data={"changes": changes})
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=ticket, summary=ticket.number,
                 changes=changes)
    return event


@transaction.atomic
def ticket_triage_apply(
    *, ticket: Ticket, actor: User, category: str | None = None, priority: str | None = None, reason: str = "triage"
) -> TicketEvent | None:
    """What automatic triage sets on a ticket, as one change: the category and/or priority given
    (those that differ) and, for a new ticket, status new → triaged — one row lock, one SLA refresh,
    one timeline event and one audit entry that say all of it (a status change carrying
    `data.changes`; on a ticket already past new, an internal fields change as `ticket_classify`
    writes). The same checks as `ticket_classify` and `ticket_transition`. None when nothing changed."""
    ticket = _lock(ticket)
    from_status = ticket.status
    changes = _classification_set(ticket, actor, category, priority)
    to_triaged = from_status == Status.NEW and lifecycle.role_may_move(actor.role, from_status, Status.TRIAGED)
    if not to_triaged:
        return _classification_record(ticket, actor, changes, reason) if changes else None
    now = timezone.now()
    fields: list[str] = list(changes)
    ticket.status = Status.TRIAGED
    # the status change refreshes the deadlines too, for the new category and priority: one SLA refresh
    fields += ["status", *sla_status_changed(ticket, from_status=from_status, to_status=Status.TRIAGED, now=now)]
    _touch(ticket, now, list(dict.fromkeys(fields)))
    event = _event(ticket, kind=TicketEvent.Kind.STATUS_CHANGED, actor=actor, at=now, from_status=from_status,
                   to_status=Status.TRIAGED, reason=reason, data={"changes": changes} if changes else None)
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=ticket, summary=ticket.number,
                 changes={"status": [from_status, Status.TRIAGED], **changes, "reason": reason})
    return event


@transaction.atomic
def ticket_automatic_answer(
    *, ticket: Ticket, body: str, full_body: str = "", notify: bool = True, data: dict | None = None
) -> TicketEvent:
    """An answer the system gives on its own (a self-service answer): a public reply without an
    actor on the timeline, and (`notify`) the message on the merchant's own thread through the
    contact gate. It is not the first response: the ticket stays in the queue and an agent still
    owes one."""
    ticket = _lock(ticket)
    now = timezone.now()
    event = _event(ticket, kind=TicketEvent.Kind.REPLY, actor=None, at=now, body=full_body or body,
                   data={"automatic": True, **(data or {})})
    _touch(ticket, now)
    if notify:
        _notify_merchant(ticket, body, full_body=full_body)
    return event


@transaction.atomic
def ticket_resolve_automatically(*, ticket: Ticket, reason: str) -> TicketEvent:
    """Resolve a ticket without a person deciding it (the merchant said a self-service answer solved
    it): a lifecycle transition with its reason, marked automatic; refused if the move is illegal."""
    ticket = _lock(ticket)
    if not lifecycle.is_legal(ticket.status, Status.RESOLVED):
        raise Conflict(_("This ticket can no longer be resolved."), code="illegal_transition",
                       detail={"from": ticket.status, "to": Status.RESOLVED})
    return _apply_transition(ticket, actor=None, to_status=Status.RESOLVED, reason=without_nul(reason)[:500],
                             at=timezone.now(), automatic=True)
