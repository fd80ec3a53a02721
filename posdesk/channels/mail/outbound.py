"""E-mail out: where an answer on an e-mail ticket goes (the merchant's own thread) and the sender
the outbox calls (Django mail; SMTP in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage

from posdesk.channels.mail.parsing import (
    build_reply_headers,
    new_message_id,
    normalise_message_id,
    parse_mail,
)
from posdesk.channels.models import InboundMessage
from posdesk.contact.models import ContactChannel
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ReplyRoute

# OutboxMessage.subject and .provider_message_id are bounded columns (PostgreSQL refuses longer values)
_SUBJECT_MAX = OutboxMessage._meta.get_field("subject").max_length or 200
_PROVIDER_ID_MAX = OutboxMessage._meta.get_field("provider_message_id").max_length or 100


def reply_route(ticket: Ticket) -> ReplyRoute | None:
    """Answer an e-mail ticket on the thread the merchant wrote last: to that mail's sender, as a
    reply to it (In-Reply-To / References, "Re: [T…]" subject), under a Message-ID of our own that
    the intake recognises when they answer. None when the ticket has no processed inbound e-mail
    (the ticket service then texts the merchant), as for a ticket being opened (not saved yet)."""
    if ticket.channel != ContactChannel.EMAIL or ticket.pk is None:
        return None
    latest = (
        InboundMessage.objects.filter(ticket=ticket, channel=ContactChannel.EMAIL,
                                      status=InboundMessage.Status.PROCESSED)
        .exclude(sender="").order_by("-received_at", "-pk").first()
    )
    if latest is None:
        return None
    mail = parse_mail(bytes(latest.payload))
    thread = build_reply_headers(ticket.number, mail.message_id, mail.references,
                                 subject=mail.subject or latest.subject)
    headers = {"Message-ID": new_message_id(settings.MAIL_DOMAIN)}
    headers.update({name: thread[name] for name in ("In-Reply-To", "References") if name in thread})
    return ReplyRoute(channel=ContactChannel.EMAIL, recipient=latest.sender,
                      subject=thread["Subject"][:_SUBJECT_MAX], headers=headers, full_text=True)


def deliver_email(message: OutboxMessage) -> None:
    """Send one outbox e-mail with its thread headers. The Message-ID is fixed before the first
    attempt and kept (also as provider_message_id, the intake's indexed way back to the ticket), so
    a retry after a lost answer sends the same message again rather than a second one."""
    headers = dict(message.headers or {})
    if not headers.get("Message-ID"):
        headers["Message-ID"] = new_message_id(settings.MAIL_DOMAIN)
    provider_id = normalise_message_id(headers["Message-ID"])[:_PROVIDER_ID_MAX]
    if headers != message.headers or provider_id != message.provider_message_id:
        message.headers, message.provider_message_id = headers, provider_id
        OutboxMessage.objects.filter(pk=message.pk).update(headers=headers, provider_message_id=provider_id)
    EmailMessage(subject=message.subject, body=message.body, to=[message.recipient], headers=headers).send()
