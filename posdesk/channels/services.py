"""The one intake path every channel adapter calls: store what arrived before acknowledging it,
find the merchant and terminal, and add it to their open ticket or open a new one — exactly once
per provider id, even when the provider delivers the same message twice at the same moment."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from posdesk.accounts.models import User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.channels.models import CallbackTask, InboundMessage, RejectedInbound
from posdesk.channels.phone.callbacks import callback_gate
from posdesk.contact.models import ContactChannel
from posdesk.contact.services import contact_inbound_recorded
from posdesk.core.identifiers import normalise_mobile
from posdesk.core.masking import mask_excerpt
from posdesk.core.taxonomy import OPEN_STATUSES
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.slas.selectors import business_clock, warn_unknown_years
from posdesk.terminals.models import Terminal
from posdesk.tickets.attachments import CheckedFile
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_acknowledge, ticket_append_from_channel, ticket_open_from_channel
from posdesk.triage.services import self_service_reply

logger = logging.getLogger("posdesk.channels")

# on WeChat and SMS a merchant writes in several short messages: within this time they go to the
# same open ticket instead of each opening one
CONVERSATION_CHANNELS = frozenset({ContactChannel.WECHAT, ContactChannel.SMS})


def inbound_store(
    *, channel: str, provider_id: str, payload: bytes, sender: str = "", subject: str = "", text: str = "",
    at: datetime | None = None,
) -> tuple[InboundMessage, bool]:
    """Keep the raw message (its own transaction: it must survive whatever processing does).
    Answers the stored message and whether it is new; a redelivery answers the first one."""
    provider_id = provider_id.strip()[:255]
    if not provider_id:
        raise ValueError("a provider id is required to store an inbound message exactly once")
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                channel=channel, provider_id=provider_id, payload=payload, sender=sender[:255],
                subject=subject[:255], text=text, received_at=at or timezone.now())
        return message, True
    except IntegrityError:
        return InboundMessage.objects.get(channel=channel, provider_id=provider_id), False


def contacts_for_sender(channel: str, sender: str) -> list[MerchantContact]:
    """The merchants' contacts this sender is (by e-mail address, WeChat openid or mobile)."""
    contacts = MerchantContact.objects.select_related("merchant", "user").filter(
        merchant__status=Merchant.Status.ACTIVE)
    if channel == ContactChannel.EMAIL:
        found = contacts.filter(email__iexact=sender.strip()) if sender.strip() else contacts.none()
    elif channel == ContactChannel.WECHAT:
        found = contacts.filter(wechat_openid=sender) if sender else contacts.none()
    else:
        mobile = normalise_mobile(sender)
        found = contacts.filter(mobile=mobile) if mobile else contacts.none()
    return list(found.order_by("-is_primary", "pk"))


def terminal_named_in(text: str, merchant: Merchant) -> Terminal | None:
    """The merchant's terminal whose SN or TID the message mentions (a merchant has a handful)."""
    upper = text.upper()
    for terminal in Terminal.objects.filter(merchant=merchant).only("pk", "sn", "tid", "merchant_id"):
        if (terminal.sn and terminal.sn.upper() in upper) or (terminal.tid and terminal.tid in text):
            return terminal
    return None


def merchant_of(contacts: list[MerchantContact], text: str) -> tuple[Merchant | None, User | None]:
    """One merchant for the sender: theirs if they have one; with several, the one whose MID,
    SN or TID the message names; otherwise unknown (an agent identifies it)."""
    merchants = {c.merchant_id: c for c in contacts}
    if len(merchants) == 1:
        contact = contacts[0]
        return contact.merchant, contact.user
    for contact in contacts:
        if contact.merchant.mid in text or terminal_named_in(text, contact.merchant):
            return contact.merchant, contact.user
    return None, None


def _conversation_ticket(merchant: Merchant, channel: str, now: datetime) -> Ticket | None:
    since = now - timedelta(hours=settings.CHANNEL_CONVERSATION_HOURS)
    return (Ticket.objects.filter(merchant=merchant, channel=channel, status__in=OPEN_STATUSES, updated_at__gte=since)
            .order_by("-updated_at", "-pk").first())


def inbound_process(
    *, message: InboundMessage, text: str, merchant: Merchant | None, actor: User | None = None,
    terminal: Terminal | None = None, thread_ticket: Ticket | None = None, attachments: Iterable[CheckedFile] = (),
    acknowledgement_note: str = "",
) -> Ticket | None:
    """Add a stored message to a ticket, once: the thread's ticket if it is open and the sender's,
    else (WeChat, SMS) the conversation's open ticket, else a new one, whose acknowledgement carries
    `acknowledgement_note` (the queue's wait, for instance). A message already processed
    — a concurrent redelivery — answers its ticket and changes nothing."""
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status != InboundMessage.Status.RECEIVED:
            return locked.ticket
        now = timezone.now()
        ticket = None
        if (thread_ticket is not None and thread_ticket.status in OPEN_STATUSES
                and (thread_ticket.merchant_id == (merchant.pk if merchant else None))):
            ticket = thread_ticket
        elif merchant is not None and message.channel in CONVERSATION_CHANNELS:
            ticket = _conversation_ticket(merchant, message.channel, now)
        if terminal is None and merchant is not None:
            terminal = terminal_named_in(text, merchant)
        if ticket is not None:
            ticket_append_from_channel(ticket=ticket, text=text, channel=message.channel, attachments=attachments,
                                       sender=message.sender if merchant is None else "")
            self_service_reply(ticket=ticket, text=text)  # "did this solve it?" answered on the thread (C5)
            opened = False
        else:
            ticket = ticket_open_from_channel(channel=message.channel, text=text, merchant=merchant,
                                              terminal=terminal, actor=actor, attachments=attachments,
                                              acknowledge=False)
            opened = True
        locked.ticket, locked.merchant = ticket, merchant
        locked.status, locked.processed_at = InboundMessage.Status.PROCESSED, now
        locked.save(update_fields=["ticket", "merchant", "status", "processed_at"])
        if opened and merchant is not None:
            # now linked: the answer goes on the thread they wrote on
            ticket_acknowledge(ticket=ticket, note=acknowledgement_note)
    logger.info("inbound message added to a ticket",
                extra={"channel": message.channel, "inbound_id": message.pk, "ticket_id": ticket.pk})
    return ticket


def inbound_ignore(*, message: InboundMessage, note: str) -> None:
    """Keep it, but open nothing (auto-replies, bounces, follow events)."""
    InboundMessage.objects.filter(pk=message.pk, status=InboundMessage.Status.RECEIVED).update(
        status=InboundMessage.Status.IGNORED, note=note[:300], processed_at=timezone.now())


def inbound_fail(*, message: InboundMessage, note: str) -> None:
    InboundMessage.objects.filter(pk=message.pk, status=InboundMessage.Status.RECEIVED).update(
        status=InboundMessage.Status.FAILED, note=note[:300], processed_at=timezone.now())


def callback_due_at(start: datetime) -> datetime:
    """A callback's deadline: CALLBACK_TARGET_MINUTES business minutes on the default calendar's
    working hours and the China working-day calendar (a call missed on Friday at 17:50 is due on
    Monday morning); plain minutes when no calendar is installed."""
    clock = business_clock()
    minutes = settings.CALLBACK_TARGET_MINUTES
    if clock is None:
        return start + timedelta(minutes=minutes)
    due = clock.add_minutes(start, minutes)
    warn_unknown_years(clock, start, due)
    return due


@transaction.atomic
def callback_request(*, merchant: Merchant, mobile: str, actor: User | None, at: datetime | None = None) -> CallbackTask:
    """The merchant asks to be called back (the queue is long): one waiting request per merchant,
    due within the callback standard; it joins the agents' callback queue through the contact gate
    (an answer to their own request: allowed now)."""
    at = at or timezone.now()
    Merchant.objects.select_for_update().filter(pk=merchant.pk).first()  # one request at a time per merchant
    callbacks_cancel_refused(merchant_id=merchant.pk, at=at)
    open_task = (CallbackTask.objects.filter(merchant=merchant, status__in=(CallbackTask.Status.OPEN,
                                                                            CallbackTask.Status.HELD))
                 .order_by("pk").first())
    if open_task is not None:
        return open_task
    task = CallbackTask.objects.create(merchant=merchant, mobile=mobile, source=CallbackTask.Source.REQUESTED,
                                       due_at=callback_due_at(at), created_at=at)
    contact_inbound_recorded(merchant_id=merchant.pk, channel=ContactChannel.PHONE, at=at)
    callback_gate(task=task, at=at)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, target=task, summary="callback requested")
    return task


# WeChat and SMS messages are processed by a job started after they are stored; if that job never
# ran (a worker down, a crash), the sweep starts it again — nothing accepted is left behind
SWEPT_CHANNELS = (ContactChannel.WECHAT, ContactChannel.SMS)
SWEEP_GRACE = timedelta(minutes=2)


def inbound_waiting(*, now: datetime | None = None, limit: int = 500) -> list[tuple[int, str]]:
    """(id, channel) of stored WeChat and SMS messages still unprocessed after SWEEP_GRACE, oldest first."""
    before = (now or timezone.now()) - SWEEP_GRACE
    return list(InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED, channel__in=SWEPT_CHANNELS,
                                              received_at__lt=before)
                .order_by("received_at", "pk").values_list("pk", "channel")[:limit])


def callbacks_cancel_refused(*, merchant_id: int | None = None, at: datetime | None = None) -> int:
    """A held callback whose outbox message the gate refused at its re-check (the merchant opted out
    meanwhile, a cap filled) or that died in the outbox will never be released: cancel it, so it
    neither hides from the queue for ever nor stands in for the merchant's next request."""
    refused = OutboxMessage.objects.filter(
        status__in=(OutboxMessage.Status.WITHHELD, OutboxMessage.Status.DEAD)).values("pk")
    held = CallbackTask.objects.filter(status=CallbackTask.Status.HELD, outbox_message_id__in=refused)
    if merchant_id is not None:
        held = held.filter(merchant_id=merchant_id)
    return held.update(status=CallbackTask.Status.CANCELLED, done_at=at or timezone.now())


# --- refused calls ------------------------------------------------------------------------------

# A flood of forged calls writes at most this many rows a minute per channel and process (the log
# line is written for every one); the purge keeps settings.REJECTED_INBOUND_RETENTION_DAYS.
REJECTIONS_RECORDED_PER_MINUTE = 600
_rejection_counts: dict[str, tuple[int, int]] = {}  # channel → (minute, rows recorded in it)
_rejection_counts_lock = threading.Lock()


def _rejection_room(channel: str, now: datetime) -> bool:
    minute = int(now.timestamp()) // 60
    with _rejection_counts_lock:
        window, count = _rejection_counts.get(channel, (minute, 0))
        if window != minute:
            window, count = minute, 0
        _rejection_counts[channel] = (window, count + 1)
    return count < REJECTIONS_RECORDED_PER_MINUTE


def _ip_address(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def inbound_rejection_record(
    *,
    channel: str,
    reason: str,
    status: int | None,
    code: str = "",
    body: bytes | None = None,
    declared_bytes: int = 0,
    remote_addr: str | None = None,
) -> RejectedInbound | None:
    """Log and record one inbound call a channel refused; nothing else of it is stored. `body` is
    what was read — None when the call was refused before reading it (oversized), `declared_bytes`
    then being its announced size; only its size, SHA-256 and, for a malformed body, a masked
    excerpt are kept. One INSERT, and it never raises: the refusal is answered whatever happens
    here (a failure is logged; past REJECTIONS_RECORDED_PER_MINUTE the call is only logged)."""
    now = timezone.now()
    size = len(body) if body is not None else max(declared_bytes, 0)
    # the reason and the sizes only: the body may hold merchants' mobiles and texts
    logger.warning(
        "inbound call rejected",
        extra={
            "channel": channel,
            "reason": reason,
            "code": code,
            "status": status,
            "bytes": size,
            "remote_addr": remote_addr,
        },
    )
    if not _rejection_room(channel, now):
        return None
    excerpt = mask_excerpt(body) if body and reason == RejectedInbound.Reason.MALFORMED_BODY else ""
    try:
        with transaction.atomic():
            return RejectedInbound.objects.create(
                channel=channel,
                reason=reason,
                code=code[:40],
                status=status,
                remote_addr=_ip_address(remote_addr),
                received_at=now,
                body_bytes=min(size, 2**31 - 1),
                body_sha256=hashlib.sha256(body).hexdigest() if body is not None else "",
                excerpt=excerpt,
            )
    except Exception:  # the refusal must be answered; the log line above already tells it
        logger.exception("rejected inbound call not recorded", extra={"channel": channel, "reason": reason})
        return None


def inbound_rejection_purge(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete the refused calls older than settings.REJECTED_INBOUND_RETENTION_DAYS, a batch at a
    time so that what a flood left never holds one long transaction. Answers how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.REJECTED_INBOUND_RETENTION_DAYS)
    purged = 0
    while True:
        expired = list(
            RejectedInbound.objects.filter(received_at__lt=cutoff)
            .order_by("received_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not expired:
            return purged
        purged += RejectedInbound.objects.filter(pk__in=expired).delete()[0]
