"""The phone channel (SPEC C3): the call centre's events become the call log, every missed or
abandoned call becomes a callback with its own service standard, and agents log the calls they make.

Events of one call may arrive in any order and more than once (the call centre retries): each
(call id, event) is stored once as an inbound message before it is applied, and applied once."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.channels.models import CallbackTask, CallRecord, InboundMessage
from posdesk.channels.phone.callbacks import callback_gate
from posdesk.channels.selectors import ensure_desk
from posdesk.channels.services import callback_due_at, contacts_for_sender, inbound_store, merchant_of
from posdesk.contact.decision import Purpose
from posdesk.contact.models import ContactChannel
from posdesk.contact.services import contact_call_logged, contact_inbound_recorded
from posdesk.core.errors import Conflict, field_error
from posdesk.core.identifiers import normalise_mobile
from posdesk.core.masking import mask_mobile
from posdesk.core.taxonomy import OPEN_STATUSES
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.tickets.models import Ticket

logger = logging.getLogger("posdesk.channels")

State = CallRecord.State
Outcome = CallRecord.Outcome

CALL_EVENTS = frozenset(State.values)  # the call centre's event names are our call states
UNANSWERED = frozenset({State.MISSED, State.ABANDONED})
MAX_NUMBER_LENGTH = 20  # CallRecord.mobile
MAX_NOTE_LENGTH = 500
# a callback nobody picked up is tried again, up to this many calls in all
MAX_CALLBACK_ATTEMPTS = 3
# a callback not worked yet: in the queue, or held there by the contact gate
WAITING = (CallbackTask.Status.OPEN, CallbackTask.Status.HELD)
# outcomes after which calling back again makes no sense
FINAL_OUTCOMES = frozenset({Outcome.REACHED, Outcome.VOICEMAIL, Outcome.WRONG_NUMBER})


def _caller_number(caller: str) -> str:
    number = normalise_mobile(caller)
    if not number or len(number) > MAX_NUMBER_LENGTH or not number.lstrip("+").isdigit():
        raise field_error("caller", _("The caller's number is missing or not a phone number."), code="invalid_caller")
    return number


def _desk_agent(username: str) -> User | None:
    if not username:
        return None
    agent = User.objects.filter(username=username, is_active=True).first()
    return agent if agent is not None and agent.is_desk else None


def _open_ticket_of(merchant: Merchant | None) -> Ticket | None:
    if merchant is None:
        return None
    return (Ticket.objects.filter(merchant=merchant, status__in=OPEN_STATUSES)
            .order_by("-created_at", "-pk").only("pk", "merchant_id").first())


def _locked_call(*, call_id: str, number: str, at: datetime) -> tuple[CallRecord, bool]:
    """The call's record, locked; created (merchant and open ticket found) on its first event."""
    record = CallRecord.objects.select_for_update().filter(call_id=call_id).first()
    if record is not None:
        return record, False
    merchant, _user = merchant_of(contacts_for_sender(ContactChannel.PHONE, number), "")
    try:
        with transaction.atomic():  # a savepoint: another event of this call may create it first
            record = CallRecord.objects.create(
                call_id=call_id, direction=CallRecord.Direction.INBOUND, state=State.RINGING, mobile=number,
                merchant=merchant, ticket=_open_ticket_of(merchant), started_at=at)
    except IntegrityError:
        return CallRecord.objects.select_for_update().get(call_id=call_id), False
    if merchant is not None:
        # they tried to reach us: a service reply (the callback, an SMS) within the window may go
        contact_inbound_recorded(merchant_id=merchant.pk, channel=ContactChannel.PHONE, at=at)
    return record, True


def _apply(record: CallRecord, event: str, at: datetime) -> list[str]:
    """Move the call on by one event, whatever order the events come in: an answered call was
    not missed, a missed call stays missed when its `ended` follows, and an `ended` that overtook
    its `answered` keeps the call ended."""
    changed = []
    if at < record.started_at:  # the ringing came late, or a later event came first
        record.started_at = at
        changed.append("started_at")
    if event == State.ANSWERED:
        if record.answered_at is None or at < record.answered_at:
            record.answered_at = at
            changed.append("answered_at")
        if record.state in (State.RINGING, *UNANSWERED):
            record.state = State.ANSWERED
            changed.append("state")
    elif event == State.ENDED:
        if record.ended_at is None:
            record.ended_at = at
            changed.append("ended_at")
        if record.state in (State.RINGING, State.ANSWERED):
            record.state = State.ENDED
            changed.append("state")
    elif event in UNANSWERED:
        if record.ended_at is None:
            record.ended_at = at
            changed.append("ended_at")
        if record.answered_at is None and record.state not in UNANSWERED:
            record.state = event
            changed.append("state")
    return changed


def _callback_open(record: CallRecord, missed_at: datetime) -> CallbackTask | None:
    """One callback per missed call (a repeated or second unanswered event finds the first),
    handed to the contact gate and the outbox on its way to the queue."""
    if CallbackTask.objects.filter(call=record).exists():
        return None
    try:
        with transaction.atomic():
            task = CallbackTask.objects.create(
                call=record, mobile=record.mobile, merchant=record.merchant, due_at=callback_due_at(missed_at),
                created_at=timezone.now())
    except IntegrityError:
        return None
    return callback_gate(task=task)


def _callbacks_cancel(record: CallRecord) -> None:
    """The call was answered after all (its events overtook each other): nothing to call back."""
    CallbackTask.objects.filter(call=record, status__in=WAITING).update(
        status=CallbackTask.Status.CANCELLED, done_at=timezone.now())


def call_event_record(
    *, call_id: str, event: str, caller: str, at: datetime, callee: str = "", agent: str = "",
    recording_url: str = "", payload: bytes = b"",
) -> tuple[CallRecord, bool]:
    """Record one event of the call centre (ringing, answered, ended, missed, abandoned) on the
    call's record. The raw event is stored first (own transaction), so a failure here leaves it to
    the call centre's retry; a repeated event changes nothing. Answers the record and whether this
    event was new. `callee` is the number the merchant dialled (kept in the stored event only);
    `agent` is the username of whoever answered."""
    call_id = call_id.strip()
    if not call_id or len(call_id) > 100:
        raise field_error("call_id", _("The call id is missing or too long."), code="invalid_call_id")
    if event not in CALL_EVENTS:
        raise field_error("event", _("Unknown call event."), code="invalid_call_event")
    if timezone.is_naive(at):
        raise field_error("at", _("Give the time with its zone (ISO 8601)."), code="invalid_time")
    number = _caller_number(caller)
    message, _new = inbound_store(channel=ContactChannel.PHONE, provider_id=f"{call_id}:{event}",
                                  payload=payload, sender=number)
    with transaction.atomic():
        # the claim: one UPDATE that only the first of concurrent twins gets a row from (it waits on
        # the row lock in PostgreSQL, on the write lock in SQLite); a failure below rolls it back, so
        # the call centre's retry applies the event then
        claimed = InboundMessage.objects.filter(pk=message.pk, status=InboundMessage.Status.RECEIVED).update(
            status=InboundMessage.Status.IGNORED, note=f"call event {event}", processed_at=timezone.now())
        if not claimed:
            record = CallRecord.objects.filter(call_id=call_id).first()
            if record is not None:
                return record, False
        record, _created = _locked_call(call_id=call_id, number=number, at=at)
        changed = _apply(record, event, at)
        answered_by = _desk_agent(agent)
        if answered_by is not None and record.agent_id is None:
            record.agent = answered_by
            changed.append("agent")
        if recording_url and recording_url != record.recording_url:
            record.recording_url = recording_url[:500]
            changed.append("recording_url")
        if changed:
            record.save(update_fields=sorted(set(changed)))
        if record.state in UNANSWERED:
            _callback_open(record, at)
        elif event == State.ANSWERED:
            _callbacks_cancel(record)
    logger.info("call event recorded", extra={"call_id": call_id, "event": event, "state": record.state,
                                              "caller": mask_mobile(number)})
    return record, True


# --- the desk's side ---------------------------------------------------------------------------


def _check_outcome(outcome: str) -> None:
    if outcome not in Outcome.values:
        raise field_error("outcome", _("Choose how the call went."), code="invalid_outcome")


def _check_note(note: str) -> str:
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise field_error("note", _("The note is too long (at most 500 characters)."), code="note_too_long")
    return note


def _outbound_call(*, agent: User, number: str, merchant_id: int | None, ticket_id: int | None, outcome: str,
                   note: str, at: datetime, call_id: str) -> CallRecord:
    return CallRecord.objects.create(
        call_id=call_id, direction=CallRecord.Direction.OUTBOUND, state=State.ENDED, mobile=number,
        merchant_id=merchant_id, ticket_id=ticket_id, agent=agent, outcome=outcome, note=note,
        started_at=at, answered_at=at if outcome == Outcome.REACHED else None, ended_at=at)


def _check_workable(task: CallbackTask) -> None:
    if task.status == CallbackTask.Status.HELD:
        raise Conflict(_("The contact rules hold this callback; it joins the queue when a call is allowed."),
                       code="callback_held")
    if task.status != CallbackTask.Status.OPEN:
        raise Conflict(_("This callback is already closed."), code="callback_closed")


@transaction.atomic
def callback_take(*, task: CallbackTask, agent: User) -> CallbackTask:
    """The agent takes the callback (it is theirs to call now)."""
    ensure_desk(agent)
    locked = CallbackTask.objects.select_for_update().get(pk=task.pk)
    _check_workable(locked)
    if locked.assignee_id not in (None, agent.pk):
        raise Conflict(_("Another agent has taken this callback."), code="callback_taken")
    if locked.assignee_id is None:
        locked.assignee = agent
        locked.save(update_fields=["assignee"])
    return locked


@transaction.atomic
def callback_complete(*, task: CallbackTask, agent: User, outcome: str, note: str = "") -> CallbackTask:
    """The agent called back. The call is logged (outbound, on the missed call's ticket) and counts
    as a service reply in the merchant's contact history. Reached, voicemail or a wrong number
    close the callback; no answer or busy leave it open for another try, up to
    MAX_CALLBACK_ATTEMPTS calls."""
    ensure_desk(agent)
    _check_outcome(outcome)
    note = _check_note(note)
    locked = CallbackTask.objects.select_for_update(of=("self",)).select_related("call").get(pk=task.pk)
    _check_workable(locked)
    now = timezone.now()
    locked.attempts += 1
    # a callback the merchant asked for (portal, WeChat) returns no call of theirs: it has no ticket
    ticket_id = locked.call.ticket_id if locked.call is not None else None
    _outbound_call(agent=agent, number=locked.mobile, merchant_id=locked.merchant_id, ticket_id=ticket_id,
                   outcome=outcome, note=note, at=now, call_id=f"callback-{locked.pk}-{locked.attempts}")
    if locked.merchant_id is not None:
        contact_call_logged(merchant_id=locked.merchant_id, ticket_id=ticket_id, purpose=Purpose.SERVICE_REPLY,
                            actor=agent, at=now)
    locked.assignee = agent
    locked.outcome = outcome
    fields = ["attempts", "assignee", "outcome"]
    if outcome in FINAL_OUTCOMES or locked.attempts >= MAX_CALLBACK_ATTEMPTS:
        locked.status, locked.done_at = CallbackTask.Status.DONE, now
        fields += ["status", "done_at"]
    locked.save(update_fields=fields)
    if locked.status == CallbackTask.Status.OPEN:
        # the next try is another call to the merchant: the gate decides it again (it may hold it
        # until morning once the merchant's own call is no longer recent)
        callback_gate(task=locked, at=now)
    return locked


def _merchant_number(merchant: Merchant) -> str:
    contact = (MerchantContact.objects.filter(merchant=merchant).exclude(mobile="")
               .order_by("-is_primary", "pk").only("mobile").first())
    return contact.mobile if contact is not None else ""


@transaction.atomic
def call_log_outbound(*, agent: User, merchant: Merchant, outcome: str, ticket: Ticket | None = None,
                      mobile: str = "", note: str = "") -> CallRecord:
    """An agent's outbound follow-up call, logged by hand. It counts as a service follow-up in the
    merchant's contact history whatever the gate said (so it counts toward the caps). Without a
    number, the merchant's primary contact was called."""
    ensure_desk(agent)
    _check_outcome(outcome)
    note = _check_note(note)
    if ticket is not None and ticket.merchant_id != merchant.pk:
        raise field_error("ticket_id", _("This ticket is not the merchant's."), code="ticket_not_merchants")
    number = normalise_mobile(mobile) if mobile.strip() else _merchant_number(merchant)
    if not number or len(number) > MAX_NUMBER_LENGTH or not number.lstrip("+").isdigit():
        raise field_error("mobile", _("Give the number that was called."), code="invalid_mobile")
    now = timezone.now()
    ticket_id = ticket.pk if ticket is not None else None
    record = _outbound_call(agent=agent, number=number, merchant_id=merchant.pk, ticket_id=ticket_id,
                            outcome=outcome, note=note, at=now, call_id=f"out-{uuid.uuid4().hex}")
    contact_call_logged(merchant_id=merchant.pk, ticket_id=ticket_id, purpose=Purpose.SERVICE_FOLLOW_UP,
                        actor=agent, at=now)
    return record
