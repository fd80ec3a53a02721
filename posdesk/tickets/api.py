"""REST API v1 for tickets (SPEC §6). Thin: parse, fetch through the access gate, call one
service, answer."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import File, Query, Router, Schema
from ninja import Status as Answer
from ninja.files import UploadedFile
from pydantic import BaseModel, Field

from posdesk.accounts.models import Organisation, Team, User
from posdesk.core.api import ERRORS, IDEMPOTENCY_HEADER_DOC, idempotency_key, principal
from posdesk.core.errors import PermissionDenied, ValidationFailed, field_error
from posdesk.core.idempotency import idempotent_create
from posdesk.core.identifiers import parse_mid, parse_sn, parse_tid
from posdesk.core.taxonomy import Category, Channel, Priority, Status
from posdesk.merchants.selectors import merchant_get_for_user
from posdesk.routing.selectors import ROUTABLE_ROLES
from posdesk.terminals.selectors import terminal_get_for_user
from posdesk.tickets import routing, selectors, services, sla_reports
from posdesk.tickets.attachments import check_uploads
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.sla import sla_state

router = Router(tags=["tickets"])


# --- schemas ------------------------------------------------------------------------------

class Out(BaseModel):
    """Answers are plain pydantic models: the operations hand them dicts, so ninja's ORM-reading
    `Schema` (a root validator on every nested object) would only cost time."""


class Ref(Out):
    id: int
    name: str


class MerchantRef(Out):
    id: int
    mid: str
    name: str


class TerminalRef(Out):
    id: int
    sn: str
    tid: str | None


class TicketRow(Out):
    id: int
    number: str
    status: str
    category: str
    priority: str
    channel: str
    subject: str
    merchant: MerchantRef | None
    terminal: TerminalRef | None
    district: str | None
    team: Ref | None
    assignee: Ref | None
    created_at: datetime
    updated_at: datetime
    sla_due_at: datetime | None = Field(description="the nearest running SLA deadline; null while no clock runs")
    sla_state: str = Field(description="`on_track`, `at_risk`, `breached`, `paused` or `none`")


class AttachmentOut(Out):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class EventOut(Out):
    id: int
    kind: str
    is_public: bool
    actor: Ref | None
    body: str
    from_status: str
    to_status: str
    reason: str
    data: dict[str, Any]
    attachments: list[AttachmentOut]
    created_at: datetime


class TicketOut(TicketRow):
    description: str
    vendor: Ref | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    merged_into: str | None
    allowed_transitions: list[str]
    sla_policy: str | None = Field(description="name of the SLA policy that applies")
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    onsite_due_at: datetime | None = Field(description="set once an on-site visit is scheduled")


class TicketPageOut(Out):
    items: list[TicketRow]
    next_cursor: str | None
    count: int
    count_capped: bool


class TicketIn(Schema):
    text: str
    mid: str | None = None
    merchant_id: int | None = None
    sn: str | None = None
    tid: str | None = None
    channel: str = Channel.API
    category: str | None = None
    priority: str | None = None


class BodyIn(Schema):
    body: str


class TransitionIn(Schema):
    to_status: str
    reason: str = ""


class AssignIn(Schema):
    """Only the fields present change; `null` clears one."""

    assignee_id: int | None = None
    team_id: int | None = None
    vendor_id: int | None = None


class ClassifyIn(Schema):
    category: str | None = None
    priority: str | None = None


class MergeIn(Schema):
    into: str  # the original ticket's number or id
    reason: str = ""


# --- serialisation ------------------------------------------------------------------------

def _ref(obj: Any) -> dict | None:
    return {"id": obj.pk, "name": str(obj)} if obj is not None else None


def ticket_row(ticket: Ticket) -> dict:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "status": ticket.status,
        "category": ticket.category,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "subject": ticket.subject,
        "merchant": {"id": ticket.merchant.pk, "mid": ticket.merchant.mid, "name": ticket.merchant.name}
        if ticket.merchant_id else None,
        "terminal": {"id": ticket.terminal.pk, "sn": ticket.terminal.sn, "tid": ticket.terminal.tid}
        if ticket.terminal_id else None,
        "district": ticket.district.code if ticket.district_id else None,
        "team": _ref(ticket.team),
        "assignee": _ref(ticket.assignee),
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "sla_due_at": ticket.sla_due_at,
        "sla_state": sla_state(ticket, timezone.now()),
    }


def ticket_detail(ticket: Ticket, user: User) -> dict:
    from posdesk.tickets.lifecycle import next_statuses_for

    data = ticket_row(ticket)
    data.update(
        description=ticket.description,
        vendor=_ref(ticket.vendor),
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
        reopen_count=ticket.reopen_count,
        merged_into=ticket.merged_into.number if ticket.merged_into_id else None,
        allowed_transitions=[str(s) for s in next_statuses_for(user.role, ticket.status)],
        sla_policy=ticket.sla_policy.name if ticket.sla_policy_id else None,
        first_response_due_at=ticket.first_response_due_at,
        resolution_due_at=ticket.resolution_due_at,
        onsite_due_at=ticket.onsite_due_at,
    )
    return data


def attachment_out(attachment: TicketAttachment) -> dict:
    return {
        "id": attachment.pk,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": f"/attachments/{attachment.pk}",
    }


def event_out(event: TicketEvent) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "is_public": event.is_public,
        "actor": _ref(event.actor),
        "body": event.body,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason": event.reason,
        "data": event.data,
        "attachments": [attachment_out(a) for a in event.attachments.all()],
        "created_at": event.created_at,
    }


def _json(schema: type[Schema], data: dict) -> dict:
    return schema.model_validate(data).model_dump(mode="json")


def _codes(choices: Any) -> str:
    return ", ".join(f"`{code}`" for code in choices.values)


def _csv(value: str) -> list[str]:
    return [v for v in (part.strip() for part in value.split(",")) if v]


# --- operations ---------------------------------------------------------------------------

@router.get(
    "/tickets", response={200: TicketPageOut, **ERRORS}, summary="List tickets",
    description=(
        "Tickets the caller may see, newest first, in pages of `limit` (≤ 100) rows. Filters take "
        "comma-separated codes (`status=new,triaged`). `q` finds a ticket number, MID, TID, SN or "
        "mobile exactly, otherwise a merchant name. Follow `next_cursor` for the next page; `count` "
        "stops at 1,000 (`count_capped`)."
    ),
)
def ticket_list(
    request: HttpRequest,
    status: str = Query("", description="comma-separated status codes: " + _codes(Status)),
    priority: str = Query("", description="comma-separated priorities: " + _codes(Priority)),
    category: str = Query("", description="comma-separated category codes: " + _codes(Category)),
    channel: str = Query("", description="comma-separated channel codes: " + _codes(Channel)),
    team: int | None = Query(None, description="team id"),
    assignee: str = Query("", description="`me`, `none` (unassigned) or a user id"),
    district: str = Query("", description="district code, e.g. `xihu`"),
    merchant_id: int | None = None,
    terminal_id: int | None = None,
    open: bool = Query(False, description="only open tickets (when `status` is not given)"),
    q: str = Query("", description="a ticket number, MID, TID, SN or mobile (exact), else part of a merchant name"),
    sort: str = Query("-created_at", description="`-created_at` (default), `created_at`, `-updated_at`, `priority`, or `sla_due_at` (tickets whose SLA clock runs, nearest deadline first)"),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(25, description="rows per page, 1–100"),
) -> dict:
    filters = selectors.TicketFilters(
        status=_csv(status), priority=_csv(priority), category=_csv(category), channel=_csv(channel),
        team=team, assignee=assignee, district=district, merchant_id=merchant_id, terminal_id=terminal_id,
        open_only=open, q=q,
    )
    page = selectors.ticket_queue(request.auth, filters, sort=sort, cursor=cursor, limit=limit)
    return {
        "items": [ticket_row(t) for t in page.items],
        "next_cursor": page.next_cursor,
        "count": page.count,
        "count_capped": page.count_capped,
    }


def _resolve_merchant_and_terminal(user: User, payload: TicketIn) -> tuple[Any, Any]:
    """The merchant (by `merchant_id` or `mid`) and the terminal (by `sn` or `tid`), each through its
    access gate. When the terminal is bound to the merchant asked for, one query answers both."""
    if payload.merchant_id is None and not payload.mid:
        raise field_error("mid", _("Give the merchant: `mid` or `merchant_id`."), code="merchant_required")
    mid = parse_mid(payload.mid or "") if payload.merchant_id is None else None
    terminal = None
    if payload.sn:
        terminal = terminal_get_for_user(user, sn=parse_sn(payload.sn))
    elif payload.tid:
        terminal = terminal_get_for_user(user, tid=parse_tid(payload.tid))
    if terminal is not None and terminal.merchant is not None and (
        terminal.merchant_id == payload.merchant_id or terminal.merchant.mid == mid
    ):
        return terminal.merchant, terminal
    if payload.merchant_id is not None:
        return merchant_get_for_user(user, merchant_id=payload.merchant_id), terminal
    return merchant_get_for_user(user, mid=mid), terminal


@router.post(
    "/tickets", response={201: TicketOut, **ERRORS}, summary="Report a fault (open a ticket)",
    description=(
        "`text` is the merchant's own words (required). The merchant is given by `mid` (15 digits) or "
        "`merchant_id`; the terminal optionally by `sn` or `tid` (8 digits) and must be bound to that "
        "merchant. Desk roles may set `category` and `priority` (SPEC §4 codes); otherwise they start as "
        "`consultation` / `P3` until triage. " + IDEMPOTENCY_HEADER_DOC
    ),
)
def ticket_create(request: HttpRequest, payload: TicketIn) -> tuple[int, dict]:
    user: User = request.auth  # type: ignore[attr-defined]
    # Reads happen before the write transaction opens: on SQLite that transaction holds the one
    # write lock, so the shorter it is, the more creates per second the database takes.
    merchant, terminal = _resolve_merchant_and_terminal(user, payload)

    def prepare() -> services.TicketDraft:
        return services.ticket_open_prepare(
            actor=user, merchant=merchant, terminal=terminal, text=payload.text, channel=payload.channel,
            category=payload.category, priority=payload.priority,
        )

    def produce(draft: services.TicketDraft) -> tuple[int, dict]:
        ticket = services.ticket_open_write(draft)
        return 201, _json(TicketOut, ticket_detail(ticket, user))

    answer, _replayed = idempotent_create(
        principal=principal(request), scope="ticket.create", key=idempotency_key(request),
        payload=payload.model_dump(mode="json"), prepare=prepare, produce=produce, rows=services.TICKET_OPEN_ROWS,
    )
    return Answer(*answer)


@router.get("/tickets/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="Get a ticket")
def ticket_get(request: HttpRequest, ticket_id: int) -> dict:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    return ticket_detail(ticket, request.auth)


@router.get("/tickets/{ticket_id}/events", response={200: list[EventOut], **ERRORS}, summary="Ticket timeline",
            description="Replies, notes, status changes and attachments, oldest first. Merchants see "
                        "only public events.")
def ticket_events(request: HttpRequest, ticket_id: int) -> list[dict]:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    return [event_out(e) for e in selectors.ticket_timeline(ticket, request.auth)]


def _event_create(request: HttpRequest, ticket_id: int, payload: BodyIn, scope: str, service: Any) -> tuple[int, dict]:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)

    def produce() -> tuple[int, dict]:
        event = service(ticket=ticket, actor=request.auth, body=payload.body)
        return 201, _json(EventOut, event_out(event))

    answer, _replayed = idempotent_create(
        principal=principal(request), scope=f"{scope}:{ticket.pk}", key=idempotency_key(request),
        payload=payload.model_dump(mode="json"), produce=produce,
    )
    return Answer(*answer)


@router.post("/tickets/{ticket_id}/replies", response={201: EventOut, **ERRORS}, summary="Reply (public)",
             description="A public reply the merchant sees. " + IDEMPOTENCY_HEADER_DOC)
def ticket_reply(request: HttpRequest, ticket_id: int, payload: BodyIn) -> tuple[int, dict]:
    return _event_create(request, ticket_id, payload, "ticket.reply", services.ticket_reply)


@router.post("/tickets/{ticket_id}/notes", response={201: EventOut, **ERRORS}, summary="Internal note",
             description="Staff only; never shown to the merchant. " + IDEMPOTENCY_HEADER_DOC)
def ticket_note(request: HttpRequest, ticket_id: int, payload: BodyIn) -> tuple[int, dict]:
    return _event_create(request, ticket_id, payload, "ticket.note", services.ticket_add_note)


@router.post(
    "/tickets/{ticket_id}/transitions", response={200: TicketOut, **ERRORS}, summary="Change status",
    description=(
        "Move the ticket along the lifecycle of SPEC §3. Illegal moves answer 409 `illegal_transition` "
        "with the allowed ones in `detail`; cancel and reopen need a `reason`; reopen works within the "
        "reopen window."
    ),
)
def ticket_transition(request: HttpRequest, ticket_id: int, payload: TransitionIn) -> dict:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    services.ticket_transition(ticket=ticket, actor=request.auth, to_status=payload.to_status, reason=payload.reason)
    return ticket_detail(selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id), request.auth)


@router.post(
    "/tickets/{ticket_id}/assignment", response={200: TicketOut, **ERRORS}, summary="Assign",
    description="Set the team, the person and (desk only) the field vendor. Fields left out stay; null clears.",
)
def ticket_assign(request: HttpRequest, ticket_id: int, payload: AssignIn) -> dict:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    given = payload.model_fields_set
    if not given:
        raise ValidationFailed(_("Give at least one of assignee_id, team_id, vendor_id."), code="nothing_to_assign")
    changes: dict[str, Any] = {}
    if "assignee_id" in given:
        changes["assignee"] = _lookup(User, payload.assignee_id, "assignee_id", is_active=True)
    if "team_id" in given:
        changes["team"] = _lookup(Team, payload.team_id, "team_id")
    if "vendor_id" in given:
        changes["vendor"] = _lookup(Organisation, payload.vendor_id, "vendor_id")
    services.ticket_assign(ticket=ticket, actor=request.auth, **changes)
    return ticket_detail(selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id), request.auth)


def _lookup(model: Any, pk: int | None, field: str, **extra: Any) -> Any:
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk, **extra).first()
    if obj is None:
        raise field_error(field, _("No such item."), code="invalid_reference")
    return obj


@router.post("/tickets/{ticket_id}/classification", response={200: TicketOut, **ERRORS},
             summary="Correct category or priority", description="Desk roles only.")
def ticket_classify(request: HttpRequest, ticket_id: int, payload: ClassifyIn) -> dict:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    services.ticket_classify(ticket=ticket, actor=request.auth, category=payload.category, priority=payload.priority)
    return ticket_detail(selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id), request.auth)


@router.post("/tickets/{ticket_id}/merge", response={200: TicketOut, **ERRORS}, summary="Merge into another ticket",
             description="Close this ticket as a duplicate of `into` (a number or id) of the same merchant; "
                         "answers with the original.")
def ticket_merge(request: HttpRequest, ticket_id: int, payload: MergeIn) -> dict:
    duplicate = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    into = payload.into.strip()
    original = (selectors.ticket_get_for_user(request.auth, ticket_id=int(into)) if into.isdigit()
                else selectors.ticket_get_for_user(request.auth, number=into))
    services.ticket_merge(duplicate=duplicate, original=original, actor=request.auth, reason=payload.reason)
    return ticket_detail(selectors.ticket_get_for_user(request.auth, ticket_id=original.pk), request.auth)


@router.post(
    "/tickets/{ticket_id}/attachments", response={201: list[AttachmentOut], **ERRORS}, summary="Attach files",
    description=(
        "multipart/form-data with one or more `files`: photos (JPEG, PNG, WebP, GIF) or PDF, each at most "
        "ATTACHMENT_MAX_BYTES (10 MiB by default), at most 6 at once. The type is read from the content. "
        "`internal=true` (staff) keeps them off the merchant's view. " + IDEMPOTENCY_HEADER_DOC
    ),
)
def ticket_attach(request: HttpRequest, ticket_id: int, files: list[UploadedFile] = File(...),
                  internal: bool = False) -> tuple[int, list[dict]]:
    ticket = selectors.ticket_get_for_user(request.auth, ticket_id=ticket_id)
    checked = check_uploads([(f.name or "file", f.read()) for f in files])

    def produce() -> tuple[int, list[dict]]:
        stored = services.ticket_attach(ticket=ticket, actor=request.auth, files=checked, is_public=not internal)
        return 201, [attachment_out(a) for a in stored]

    answer, _replayed = idempotent_create(
        principal=principal(request), scope=f"ticket.attach:{ticket.pk}", key=idempotency_key(request),
        # the content's hash too: another photo of the same name and size is not a retry
        payload=[(c.name, c.content_type, len(c.data), hashlib.sha256(c.data).hexdigest()) for c in checked],
        produce=produce,
    )
    return Answer(*answer)


@router.get("/taxonomy", summary="Status, category, priority and channel codes with labels",
            description="Labels follow `Accept-Language`.")
def taxonomy(request: HttpRequest) -> dict:
    return {
        name: [{"code": c.value, "label": str(c.label)} for c in choices]
        for name, choices in (("status", Status), ("category", Category), ("priority", Priority),
                              ("channel", Channel))
    }


# --- service standards (C2): the supervisor's reports ----------------------------------------------

sla_router = Router(tags=["sla"])


class AttainmentRowOut(Out):
    group: str = Field(description="team name, priority or category code")
    label: str
    tickets: int
    first_response_met: int
    first_response_breached: int
    first_response_rate: float | None = Field(description="percent met of those decided; null when none")
    resolution_met: int
    resolution_breached: int
    resolution_rate: float | None


class AttainmentOut(Out):
    start: date
    end: date
    group_by: str
    rows: list[AttainmentRowOut]


@sla_router.get(
    "/sla/attainment", response={200: AttainmentOut, **ERRORS}, summary="SLA attainment over a period",
    description="Supervisors and admins: tickets opened from `start` to `end` (Asia/Shanghai dates, at most "
                "366 days; default the last 30 days) grouped by `team`, `priority` or `category`, with how many "
                "met or breached their first-response and resolution deadlines. Tickets still inside their "
                "time, or paused, count as neither yet.",
)
def sla_attainment(request: HttpRequest, group_by: str = "team", start: date | None = None,
                   end: date | None = None) -> dict:
    today = timezone.now().astimezone(sla_reports.SHANGHAI).date()
    end = end or today
    start = start or end - timedelta(days=29)
    rows = sla_reports.sla_attainment(request.auth, start=start, end=end, group_by=group_by)
    return {"start": start, "end": end, "group_by": group_by, "rows": [
        {**row.__dict__, "first_response_rate": row.first_response_rate, "resolution_rate": row.resolution_rate}
        for row in rows]}


@sla_router.get(
    "/sla/tickets", response={200: list[TicketRow], **ERRORS}, summary="Tickets at risk or breached now",
    description="Supervisors and admins: open tickets whose running SLA clock is `at_risk` or `breached` "
                "(`state`), nearest deadline first, at most 100.",
)
def sla_tickets(request: HttpRequest, state: str = "breached", limit: int = 50) -> list[dict]:
    if not 1 <= limit <= 100:
        raise field_error("limit", _("The page size must be between 1 and 100."), code="invalid_limit")
    return [ticket_row(t) for t in sla_reports.sla_tickets_by_state(request.auth, state=state, limit=limit)]


# --- routing: presence and "take next" --------------------------------------------------------------

class PresenceIn(Schema):
    presence: str = Field(description="`online`, `away` or `offline`")


class PresenceOut(Out):
    presence: str
    capacity: int


@router.post(
    "/me/presence", response={200: PresenceOut, **ERRORS}, summary="Set my presence",
    description="Agents and supervisors: `online` takes routed tickets (and the waiting ones of your teams at "
                "once), `away` and `offline` take none.",
)
def presence_set(request: HttpRequest, payload: PresenceIn) -> dict:
    if request.auth.role not in ROUTABLE_ROLES:
        raise PermissionDenied(_("Only agents and supervisors take routed tickets."), code="presence_not_allowed")
    status = routing.agent_presence_change(user=request.auth, presence=payload.presence, actor=request.auth)
    return {"presence": status.presence, "capacity": status.capacity}


@router.post(
    "/queue/take-next", response={200: TicketOut, 204: None, **ERRORS}, summary="Take the next ticket",
    description="Agents and supervisors: the most urgent unassigned ticket of your teams (nearest deadline, then "
                "priority, then age) becomes yours; 204 when none waits, 409 `agent_at_capacity` when you hold "
                "as many open tickets as your capacity. Two agents at the same moment never get the same ticket.",
)
def take_next(request: HttpRequest) -> Any:
    ticket = routing.ticket_take_next(agent=request.auth)
    if ticket is None:
        return Answer(204, None)
    return ticket_detail(selectors.ticket_get_for_user(request.auth, ticket_id=ticket.pk), request.auth)
