"""REST API v1 of the channels: the call log and the callback queue (SPEC C3), and what the contact
gate says before an agent calls (C4). Desk roles only (agents, supervisors, admins). Thin: parse,
fetch through the access gate, call one service, answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja import Status as Answer
from pydantic import AwareDatetime, BaseModel

from posdesk.channels import selectors
from posdesk.channels.models import CallbackTask, CallRecord
from posdesk.channels.phone import services
from posdesk.core.api import ERRORS, IDEMPOTENCY_HEADER_DOC, idempotency_key, principal
from posdesk.core.errors import field_error
from posdesk.core.idempotency import idempotent_create
from posdesk.core.masking import mask_mobile
from posdesk.merchants.selectors import merchant_get_for_user
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import MAX_ID, ticket_get_for_user

router = Router(tags=["calls"])

MAX_OFFSET = 1_000_000
OUTCOMES = ", ".join(f"`{code}`" for code in CallRecord.Outcome.values)


# --- schemas ------------------------------------------------------------------------------

class Out(BaseModel):
    """Plain pydantic answers: the operations hand them dicts."""


class Ref(Out):
    id: int
    name: str


class MerchantRef(Out):
    id: int
    mid: str
    name: str


class TicketRef(Out):
    id: int
    number: str


class CallbackOut(Out):
    id: int
    status: str = Field(description="`open`, `held` (by the contact rules until a call is allowed), `done` or "
                                    "`cancelled`")
    mobile: str = Field(description="masked")
    merchant: MerchantRef | None = Field(description="null: the caller's number is no known contact")
    ticket: TicketRef | None = Field(description="the merchant's open ticket when the call came in")
    source: str = Field(description="`missed_call`, `abandoned_call` or `requested` (the merchant asked)")
    call_id: str | None = Field(description="null for a requested callback")
    missed_at: datetime | None
    due_at: datetime = Field(description="call back by: the callback's service standard in business minutes")
    assignee: Ref | None
    attempts: int
    outcome: str
    created_at: datetime
    done_at: datetime | None


class CallOut(Out):
    id: int
    call_id: str
    direction: str
    state: str
    mobile: str = Field(description="masked")
    merchant_id: int | None
    ticket_id: int | None
    agent: Ref | None
    outcome: str
    note: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None


class CallPage(Out):
    items: list[CallOut]
    next_offset: int | None = Field(description="`offset` of the next page; null on the last page")
    count: int = Field(description="calls matching the filters")


class CallbackRef(Out):
    id: int
    status: str = Field(description="`open`, `held` (by the contact rules until a call is allowed), `done` or "
                                    "`cancelled`")
    due_at: datetime


class CallDetailOut(CallOut):
    merchant: MerchantRef | None = Field(description="null: the number is no known contact")
    ticket: TicketRef | None
    duration_seconds: int | None = Field(description="from answer to hang-up; null for an unanswered call")
    recording_url: str = Field(description="the call centre's recording of the call; empty when there is none")
    callback: CallbackRef | None = Field(description="the callback a missed or abandoned call became")


class DecisionOut(Out):
    outcome: str = Field(description="`allow`, `deny` or `defer`")
    reason: str
    reason_text: str = Field(description="the reason in the request's language")
    until: datetime | None = Field(description="for `defer`: the earliest moment to call")


class ContactSummaryOut(Out):
    last_contacted_at: datetime | None
    last_channel: str
    this_week: int = Field(description="contacts in the last seven days")
    decision: DecisionOut = Field(description="the gate's answer for a follow-up call now (not logged)")


class CallbackCompleteIn(Schema):
    outcome: str = Field(description=OUTCOMES)
    note: str = ""


class CallIn(Schema):
    merchant_id: int
    ticket_id: int | None = None
    mobile: str = Field("", description="the number called; empty: the merchant's primary contact")
    outcome: str = Field(description=OUTCOMES)
    note: str = ""


# --- serialisation ------------------------------------------------------------------------

def _ref(user: Any) -> dict | None:
    return {"id": user.pk, "name": str(user)} if user is not None else None


def callback_out(task: CallbackTask) -> dict:
    call = task.call  # None: the merchant asked for the callback (portal)
    merchant = task.merchant
    return {
        "id": task.pk, "status": task.status, "source": task.source, "mobile": mask_mobile(task.mobile),
        "merchant": {"id": merchant.pk, "mid": merchant.mid, "name": merchant.name} if merchant else None,
        "ticket": {"id": call.ticket.pk, "number": call.ticket.number} if call and call.ticket_id else None,
        "call_id": call.call_id if call else None,
        "missed_at": (call.ended_at or call.started_at) if call else None, "due_at": task.due_at,
        "assignee": _ref(task.assignee), "attempts": task.attempts, "outcome": task.outcome,
        "created_at": task.created_at, "done_at": task.done_at,
    }


def call_out(call: CallRecord) -> dict:
    return {
        "id": call.pk, "call_id": call.call_id, "direction": call.direction, "state": call.state,
        "mobile": call.masked_mobile, "merchant_id": call.merchant_id, "ticket_id": call.ticket_id,
        "agent": _ref(call.agent), "outcome": call.outcome, "note": call.note, "started_at": call.started_at,
        "answered_at": call.answered_at, "ended_at": call.ended_at,
    }


def call_detail(call: CallRecord) -> dict:
    try:
        callback = call.callback
    except CallbackTask.DoesNotExist:
        callback = None
    merchant, ticket = call.merchant, call.ticket
    return {
        **call_out(call),
        "merchant": {"id": merchant.pk, "mid": merchant.mid, "name": merchant.name} if merchant else None,
        "ticket": {"id": ticket.pk, "number": ticket.number} if ticket else None,
        "duration_seconds": call.duration_seconds, "recording_url": call.recording_url,
        "callback": {"id": callback.pk, "status": callback.status, "due_at": callback.due_at} if callback else None,
    }


def _json(schema: type[BaseModel], data: dict) -> dict:
    return schema.model_validate(data).model_dump(mode="json")


def _merchants_ticket(request: HttpRequest, merchant_id: int, ticket_id: int | None) -> Ticket | None:
    if ticket_id is None:
        return None
    ticket = ticket_get_for_user(request.auth, ticket_id=ticket_id)
    if ticket.merchant_id != merchant_id:
        raise field_error("ticket_id", _("This ticket is not the merchant's."), code="ticket_not_merchants")
    return ticket


# --- operations ---------------------------------------------------------------------------

@router.get(
    "/callbacks", response={200: list[CallbackOut], **ERRORS}, summary="The callback queue",
    description="Open callbacks of missed and abandoned calls, the earliest due first (at most 200). "
                "A callback reaches the queue through the contact gate: one the gate defers (a later try "
                "at night) is `held` and joins when a call is allowed.",
)
def callback_list(request: HttpRequest) -> list[dict]:
    return [callback_out(task) for task in selectors.callback_queue_for_user(request.auth)]


@router.post(
    "/callbacks/{callback_id}/take", response={200: CallbackOut, **ERRORS}, summary="Take a callback",
    description="The callback becomes yours to call. 409 `callback_taken` when another agent has it, "
                "`callback_closed` when it is done, `callback_held` while the contact rules hold it.",
)
def callback_take(request: HttpRequest, callback_id: int) -> dict:
    task = selectors.callback_get_for_user(request.auth, task_id=callback_id)
    services.callback_take(task=task, agent=request.auth)
    return callback_out(selectors.callback_get_for_user(request.auth, task_id=callback_id))


@router.post(
    "/callbacks/{callback_id}/complete", response={200: CallbackOut, **ERRORS}, summary="Log a callback",
    description=(
        "You called the merchant back: the call is logged and counts as a service reply in their contact "
        "history. `reached`, `voicemail` and `wrong_number` close the callback; `no_answer` and `busy` leave "
        "it open for another try (three calls in all). " + IDEMPOTENCY_HEADER_DOC
    ),
)
def callback_complete(request: HttpRequest, callback_id: int, payload: CallbackCompleteIn) -> tuple[int, dict]:
    task = selectors.callback_get_for_user(request.auth, task_id=callback_id)

    def produce() -> tuple[int, dict]:
        services.callback_complete(task=task, agent=request.auth, outcome=payload.outcome, note=payload.note)
        return 200, _json(CallbackOut, callback_out(selectors.callback_get_for_user(request.auth,
                                                                                    task_id=callback_id)))

    answer, _replayed = idempotent_create(
        principal=principal(request), scope=f"callback.complete:{task.pk}", key=idempotency_key(request),
        payload=payload.model_dump(mode="json"), produce=produce,
    )
    return Answer(*answer)


@router.get(
    "/calls", response={200: CallPage, **ERRORS}, summary="The call log",
    description=(
        "Desk roles: calls in and out, the newest first, of the merchants you may see and of numbers no "
        "merchant registered. Filter by merchant, ticket, `direction` (`inbound`, `outbound`), `outcome` "
        "(" + OUTCOMES + "; outcomes are set on calls agents made) and a period of `started_at` "
        "(`started_from` inclusive, `started_before` exclusive, ISO 8601 with a zone). Numbers are masked. "
        "Page with `offset` and `limit`; follow `next_offset`."
    ),
)
def call_list(
    request: HttpRequest,
    merchant_id: int | None = Query(None, ge=0, le=MAX_ID, description="the merchant's calls"),
    ticket_id: int | None = Query(None, ge=0, le=MAX_ID, description="the calls on a ticket"),
    direction: str = Query("", description="`inbound` or `outbound`"),
    outcome: str = Query("", description=OUTCOMES),
    started_from: AwareDatetime | None = Query(None, description="calls started at or after this moment"),
    started_before: AwareDatetime | None = Query(None, description="calls started before this moment"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(50, ge=1, le=200),
) -> dict:
    filters = selectors.CallFilters(merchant_id=merchant_id, ticket_id=ticket_id, direction=direction.strip(),
                                    outcome=outcome.strip(), started_from=started_from,
                                    started_before=started_before)
    calls = selectors.call_list_for_user(request.auth, filters)
    rows = list(calls[offset: offset + limit + 1])
    return {
        "items": [call_out(call) for call in rows[:limit]],
        "next_offset": offset + limit if len(rows) > limit else None,
        "count": calls.count(),
    }


@router.get(
    "/calls/{call_record_id}", response={200: CallDetailOut, **ERRORS}, summary="Get a call",
    description="Desk roles: one call (`call_record_id` is its `id` in the call log, not the call centre's "
                "`call_id`) with its merchant, ticket, duration, the call centre's recording "
                "address and the callback it became. The number is masked. 404 `call_not_found` for a call "
                "you may not see.",
)
def call_get(request: HttpRequest, call_record_id: int) -> dict:
    return call_detail(selectors.call_get_for_user(request.auth, call_pk=call_record_id))


@router.post(
    "/calls", response={201: CallOut, **ERRORS}, summary="Log an outbound call",
    description=(
        "A follow-up call you made to a merchant, with its outcome (" + OUTCOMES + "). It counts in the "
        "merchant's contact history and toward the follow-up cap (2 calls per ticket per day), whatever the "
        "gate said; read `/merchants/{id}/contact-summary` before calling. " + IDEMPOTENCY_HEADER_DOC
    ),
)
def call_log(request: HttpRequest, payload: CallIn) -> tuple[int, dict]:
    user = request.auth
    selectors.ensure_desk(user)
    merchant = merchant_get_for_user(user, merchant_id=payload.merchant_id)
    ticket = _merchants_ticket(request, merchant.pk, payload.ticket_id)

    def produce() -> tuple[int, dict]:
        call = services.call_log_outbound(agent=user, merchant=merchant, ticket=ticket, mobile=payload.mobile,
                                          outcome=payload.outcome, note=payload.note)
        return 201, _json(CallOut, call_out(call))

    answer, _replayed = idempotent_create(
        principal=principal(request), scope="call.log", key=idempotency_key(request),
        payload=payload.model_dump(mode="json"), produce=produce,
    )
    return Answer(*answer)


@router.get(
    "/merchants/{merchant_id}/contact-summary", response={200: ContactSummaryOut, **ERRORS},
    summary="Contact summary before a call",
    description="When the merchant was last contacted, how often in the last seven days, and whether a "
                "follow-up call is allowed now (`ticket_id` applies the per-ticket cap). Nothing is logged.",
)
def contact_summary(request: HttpRequest, merchant_id: int,
                    ticket_id: int | None = Query(None, description="the ticket the call is about")) -> dict:
    selectors.ensure_desk(request.auth)
    merchant = merchant_get_for_user(request.auth, merchant_id=merchant_id)
    ticket = _merchants_ticket(request, merchant.pk, ticket_id)
    overview = selectors.contact_overview_for_call(merchant_id=merchant.pk,
                                                   ticket_id=ticket.pk if ticket else None)
    summary, decision = overview.summary, overview.decision
    return {
        "last_contacted_at": summary.last_contacted_at, "last_channel": summary.last_channel,
        "this_week": summary.this_week,
        "decision": {"outcome": decision.outcome.value, "reason": decision.reason.value,
                     "reason_text": overview.reason_text, "until": decision.until},
    }
