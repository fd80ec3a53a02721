"""E-mail in: the support mailbox read over IMAP (a periodic fetch, or IMAP IDLE for `mail_fetch
--idle`), every new message stored before it is marked \\Seen, then added to the ticket of its
thread or to a new one through the one intake path (channels/services.py).

Nothing is lost: a message is marked \\Seen only after it is stored, so a crash or an unreachable
database leaves it unseen for the next fetch; a message fetched twice is stored once (its
Message-ID is the provider id); a message stored but not yet processed is picked up by the next
fetch. Auto-replies and bounces are kept but never open a ticket nor get an answer (no loops).

A message over MAX_MAIL_BYTES (never downloaded: its size is asked first) or that is not a MIME
message at all is refused: recorded as a RejectedInbound (no InboundMessage, no ticket), marked
\\Seen so it is not refused again at every fetch, and left in the mailbox for whoever reads it."""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.utils import parseaddr

from django.conf import settings
from django.db.models import Q
from imap_tools import MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxFetchError, MailboxFlagError
from imap_tools.mailbox import BaseMailBox
from imap_tools.utils import check_command_status

from posdesk.channels.mail.parsing import InboundMail, is_mime_message, parse_mail
from posdesk.channels.models import InboundMessage, RejectedInbound
from posdesk.channels.services import (
    contacts_for_sender,
    inbound_ignore,
    inbound_process,
    inbound_rejection_record,
    inbound_store,
    merchant_of,
)
from posdesk.contact.models import ContactChannel
from posdesk.core.errors import ValidationFailed
from posdesk.core.masking import mask_email
from posdesk.core.taxonomy import OPEN_STATUSES
from posdesk.merchants.models import Merchant
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.attachments import MAX_FILES_PER_UPLOAD, CheckedFile, check_upload
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import MAX_TEXT

logger = logging.getLogger("posdesk.channels.mail")

# a mailbox that does not answer within this many seconds is reported down, not waited for
IMAP_TIMEOUT_SECONDS = 30.0
# RFC 2177: re-issue IDLE well within 29 minutes, or the server may log us off
IDLE_TIMEOUT_SECONDS = 600.0
IDLE_RETRY_SECONDS = 30.0
_FETCH_BULK = 50  # messages per FETCH command: a few round trips, bounded memory
_IMAP_ERRORS = (OSError, imaplib.IMAP4.error, ImapToolsError)
_MAX_MERGE_HOPS = 5
# A mail larger than this is refused unread: six photos of the ticket's 10 MiB limit, base64-encoded,
# fit; what is larger would only be dropped attachment by attachment after costing the memory.
MAX_MAIL_BYTES = 80 * 1024 * 1024
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class MailboxUnavailable(RuntimeError):
    """The support mailbox could not be reached or refused us: nothing was taken from it."""


class _RawMailMessage(MailMessage):
    """imap-tools' message that also keeps the bytes the server sent: those are stored, not a
    re-serialisation that could refold headers or re-encode a merchant's 8-bit GBK text."""

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


# --- fetching -----------------------------------------------------------------------------


def mail_fetch(*, limit: int = 200) -> int:
    """Store up to `limit` unseen messages of the support mailbox, then add every stored e-mail
    still waiting (these and any a crash left behind) to tickets. Answers how many messages were
    new. Raises MailboxUnavailable when the mailbox cannot be read (the e-mails already stored are
    processed all the same). Off (0) when settings.IMAP_HOST is empty."""
    if not settings.IMAP_HOST:
        return 0
    try:
        with _mailbox_session() as box:
            return _store_unseen(box, limit=limit)
    finally:
        _process_received(limit=limit)


def mail_idle(
    *, stop: threading.Event | None = None, timeout: float = IDLE_TIMEOUT_SECONDS,
    retry_seconds: float = IDLE_RETRY_SECONDS,
) -> None:
    """Listen on the support mailbox with IMAP IDLE and fetch (mail_fetch) as soon as the server
    signals new mail, until `stop` is set (or the process is interrupted). A lost connection is
    logged and opened again after `retry_seconds`; the periodic fetch covers the gap."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            with _mailbox_session() as box:
                mail_fetch()  # what arrived before we started listening
                while not stop.is_set():
                    if _server_signalled(box, timeout=timeout):
                        mail_fetch()
        except MailboxUnavailable:
            pass  # logged where it was raised
        except Exception:
            logger.exception("e-mail intake (IMAP IDLE) failed; listening again shortly")
        stop.wait(retry_seconds)


def _server_signalled(box: BaseMailBox, *, timeout: float) -> bool:
    """IDLE for up to `timeout` seconds: whether the server reported a change (EXISTS, RECENT …).
    A report that arrives just as IDLE ends comes with the end of it; imap-tools' idle.wait()
    drops those, and the server never repeats them, so they are counted here."""
    box.idle.start()
    try:
        during = box.idle.poll(timeout=timeout)
    finally:
        _result, as_it_ended = box.idle.stop()
    return bool(during or as_it_ended)


def _connect() -> BaseMailBox:
    host, port, timeout = settings.IMAP_HOST, settings.IMAP_PORT, IMAP_TIMEOUT_SECONDS
    if settings.IMAP_SSL:
        # imaplib's own default context does not check the certificate; this one does
        box: BaseMailBox = MailBox(host, port, timeout=timeout, ssl_context=ssl.create_default_context())
    else:
        box = MailBoxUnencrypted(host, port, timeout=timeout)
    box.email_message_class = _RawMailMessage
    try:
        box.login(settings.IMAP_USER, settings.IMAP_PASSWORD, initial_folder=settings.IMAP_FOLDER)
    except BaseException:
        with suppress(*_IMAP_ERRORS):
            box.client.shutdown()
        raise
    return box


@contextmanager
def _mailbox_session() -> Iterator[BaseMailBox]:
    """A logged-in mailbox with settings.IMAP_FOLDER selected; IMAP and network failures come
    out as MailboxUnavailable, logged without credentials."""
    where = f"{settings.IMAP_HOST}:{settings.IMAP_PORT}/{settings.IMAP_FOLDER}"
    try:
        box = _connect()
    except _IMAP_ERRORS as error:
        logger.error("support mailbox %s unreachable: %s: %s", where, type(error).__name__, error)
        raise MailboxUnavailable(f"the support mailbox {where} is unreachable: {error}") from error
    try:
        yield box
    except _IMAP_ERRORS as error:
        logger.error("support mailbox %s failed: %s: %s", where, type(error).__name__, error)
        raise MailboxUnavailable(f"reading the support mailbox {where} failed: {error}") from error
    finally:
        with suppress(*_IMAP_ERRORS):
            box.logout()


def _store_unseen(box: BaseMailBox, *, limit: int) -> int:
    """Store the unseen messages (peeking: fetching does not mark them), then mark \\Seen what was
    stored — also when a later message fails, so the stored ones are not fetched again."""
    stored_uids: list[str] = []  # and the refused ones: marked \Seen alike
    new = 0
    uidvalidity = ""
    unseen = box.uids("UNSEEN", charset=None)[:limit]
    sizes = _sizes(box, unseen)
    try:
        wanted = []
        for uid in unseen:
            if sizes.get(uid, 0) > MAX_MAIL_BYTES:
                inbound_rejection_record(
                    channel=ContactChannel.EMAIL,
                    reason=RejectedInbound.Reason.OVERSIZED,
                    code="mail_too_large",
                    status=None,
                    declared_bytes=sizes[uid],
                )
                stored_uids.append(uid)
            else:
                wanted.append(uid)
        fetching = box.fetch(uid_list=wanted, mark_seen=False, bulk=_FETCH_BULK) if wanted else ()
        for fetched in fetching:
            raw = fetched.raw if isinstance(fetched, _RawMailMessage) else fetched.obj.as_bytes()
            if not is_mime_message(raw):
                inbound_rejection_record(
                    channel=ContactChannel.EMAIL,
                    reason=RejectedInbound.Reason.MALFORMED_BODY,
                    code="not_mime",
                    status=None,
                    body=raw,
                )
                if fetched.uid:
                    stored_uids.append(fetched.uid)
                continue
            mail = parse_mail(raw)
            provider_id = mail.message_id
            if not provider_id:
                uidvalidity = uidvalidity or str(box.folder.status(settings.IMAP_FOLDER, ["UIDVALIDITY"])
                                                 .get("UIDVALIDITY", ""))
                provider_id = f"imap:{uidvalidity}:{fetched.uid}"
            _message, created = inbound_store(
                channel=ContactChannel.EMAIL, provider_id=provider_id, payload=raw, sender=mail.from_address,
                subject=mail.subject, text=mail.body_text)
            new += created
            if fetched.uid:
                stored_uids.append(fetched.uid)
    finally:
        _mark_seen(box, stored_uids)
    if new:
        logger.info("e-mails stored", extra={"channel": ContactChannel.EMAIL, "count": new})
    return new


def _sizes(box: BaseMailBox, uids: list[str]) -> dict[str, int]:
    """RFC822.SIZE of each message, asked before any is downloaded."""
    if not uids:
        return {}
    result = box.client.uid("FETCH", ",".join(uids), "(RFC822.SIZE)")
    check_command_status(result, MailboxFetchError)
    sizes = {}
    for line in result[1]:
        text = line[0] if isinstance(line, tuple) else line
        uid, size = _UID.search(text or b""), _SIZE.search(text or b"")
        if uid and size:
            sizes[uid.group(1).decode()] = int(size.group(1))
    return sizes


def _mark_seen(box: BaseMailBox, uids: list[str]) -> None:
    # A plain UID STORE: imap-tools' flag() also EXPUNGEs, which would purge what others marked \Deleted.
    if uids:
        result = box.client.uid("STORE", ",".join(uids), "+FLAGS", r"(\Seen)")
        check_command_status(result, MailboxFlagError)


def _process_received(*, limit: int) -> None:
    waiting = InboundMessage.objects.filter(
        channel=ContactChannel.EMAIL, status=InboundMessage.Status.RECEIVED)
    for message in waiting.order_by("received_at", "pk")[:limit]:
        try:
            mail_process(message)
        except Exception:  # one message must not hold up the others; it stays received and is retried
            logger.exception("e-mail not processed", extra={"inbound_id": message.pk})


# --- processing ---------------------------------------------------------------------------


def mail_process(message: InboundMessage) -> Ticket | None:
    """Add one stored e-mail to a ticket, exactly once: the ticket of its thread (Message-ID,
    In-Reply-To, References, else the ticket number in the subject) if that ticket is the sender's,
    else a new one — unidentified (merchant None) when the sender is no merchant's contact.
    Auto-replies, bounces and our own mail are kept but open nothing and are never answered."""
    if message.status != InboundMessage.Status.RECEIVED:
        return message.ticket
    mail = parse_mail(bytes(message.payload))
    if mail.is_auto or mail.is_bounce:
        inbound_ignore(message=message, note="bounce" if mail.is_bounce else "auto-reply")
        logger.info("e-mail ignored", extra={"inbound_id": message.pk, "bounce": mail.is_bounce})
        return None
    sender = mail.from_address or message.sender
    if sender and sender == _our_address():
        inbound_ignore(message=message, note="sent from our own address")
        return None
    contacts = contacts_for_sender(ContactChannel.EMAIL, sender)
    merchant, actor = merchant_of(contacts, f"{mail.subject}\n{mail.body_text}")
    thread_ticket = _thread_ticket(mail, merchant=merchant, sender=sender)
    text = _ticket_text(mail, threaded=thread_ticket is not None and thread_ticket.status in OPEN_STATUSES)
    attachments, refused = _checked_attachments(mail)
    if not text:
        if not attachments:
            inbound_ignore(message=message, note="empty: no text and no accepted attachment")
            return None
        text = "\n".join(f"[{file.name}]" for file in attachments)
    if refused:
        note = "attachments dropped: " + "; ".join(refused)
        InboundMessage.objects.filter(pk=message.pk).update(note=note[:300])
    ticket = inbound_process(message=message, text=text, merchant=merchant, actor=actor,
                             thread_ticket=thread_ticket, attachments=attachments)
    logger.info("e-mail added to a ticket", extra={
        "inbound_id": message.pk, "ticket_id": ticket.pk if ticket else None, "sender": mask_email(sender),
        "identified": merchant is not None, "threaded": thread_ticket is not None})
    return ticket


def _our_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].strip().lower()


def _ticket_text(mail: InboundMail, *, threaded: bool) -> str:
    """A reply on an open thread adds its new words (quotes and signature trimmed); anything else
    is a report in its own right: subject and body."""
    if threaded:
        text = mail.reply_text
    else:
        text = "\n\n".join(part for part in (mail.subject, mail.body_text) if part.strip())
    text = text.strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _checked_attachments(mail: InboundMail) -> tuple[list[CheckedFile], list[str]]:
    """The attachments the ticket accepts (tickets/attachments.py: photos and PDF within the size
    limit, at most MAX_FILES_PER_UPLOAD) and why each other one was dropped."""
    accepted: list[CheckedFile] = []
    refused: list[str] = []
    for attachment in mail.attachments:
        if len(accepted) >= MAX_FILES_PER_UPLOAD:
            refused.append(f"{attachment.filename} (more than {MAX_FILES_PER_UPLOAD} files)")
            continue
        try:
            accepted.append(check_upload(attachment.filename, attachment.data))
        except ValidationFailed as error:
            refused.append(f"{attachment.filename} ({error.code})")
    return accepted, refused


def _thread_ticket(mail: InboundMail, *, merchant: Merchant | None, sender: str) -> Ticket | None:
    """The ticket this mail continues, if the sender may write into it: by a message id it answers
    (one of the merchant's earlier mails, or one of our replies), else by the number in the subject."""
    ids = mail.thread_ids
    candidates: list[Ticket | None] = []
    if ids:
        earlier_mail = InboundMessage.objects.filter(
            channel=ContactChannel.EMAIL, provider_id__in=ids, ticket__isnull=False)
        earlier = dict(earlier_mail.values_list("provider_id", "ticket_id"))
        ours = _our_mail_tickets(ids)
        for message_id in ids:  # nearest first
            ticket_id = earlier.get(message_id) or ours.get(message_id)
            if ticket_id:
                candidates.append(Ticket.objects.filter(pk=ticket_id).first())
    if mail.ticket_number:
        candidates.append(Ticket.objects.filter(number=mail.ticket_number).first())
    for candidate in candidates:
        ticket = _unmerged(candidate)
        if ticket is not None and _may_write_into(ticket, merchant=merchant, sender=sender):
            return ticket
    return None


def _our_mail_tickets(ids: list[str]) -> dict[str, int]:
    """Our sent e-mails among these message ids → their tickets: by provider_message_id (indexed,
    set when sent), else by the Message-ID header written when the reply was queued."""
    sent = OutboxMessage.objects.filter(channel=OutboxMessage.Channel.EMAIL, ticket_id__isnull=False)
    found = dict(sent.filter(provider_message_id__in=ids).values_list("provider_message_id", "ticket_id"))
    missing = [i for i in ids if i not in found]
    if missing:
        bracketed = {f"<{i}>": i for i in missing}
        by_header = Q(**{"headers__Message-ID__in": list(bracketed)})
        for header, ticket_id in sent.filter(by_header).values_list("headers__Message-ID", "ticket_id"):
            if header in bracketed:
                found[bracketed[header]] = ticket_id
    return found


def _unmerged(ticket: Ticket | None) -> Ticket | None:
    """A duplicate merged into another ticket continues there."""
    for _hop in range(_MAX_MERGE_HOPS):
        if ticket is None or ticket.merged_into_id is None:
            return ticket
        ticket = Ticket.objects.filter(pk=ticket.merged_into_id).first()
    return ticket


def _may_write_into(ticket: Ticket, *, merchant: Merchant | None, sender: str) -> bool:
    """A known sender writes into their merchant's tickets only. An unknown sender writes only into
    an unidentified ticket that this same address opened or wrote to — quoting someone else's
    ticket number or message id adds nothing to it."""
    if merchant is not None:
        return ticket.merchant_id == merchant.pk
    if ticket.merchant_id is not None or not sender:
        return False
    return InboundMessage.objects.filter(
        ticket=ticket, channel=ContactChannel.EMAIL, sender__iexact=sender).exists()
