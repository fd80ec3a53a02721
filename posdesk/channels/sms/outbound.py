"""SMS out: the outbox's sender for the SMS channel (settings.OUTBOX_BACKENDS["sms"]) and the
delivery receipts the gateway pushes back for what it sent.

An answer on a ticket the merchant opened or wrote to by SMS goes back by SMS to the number they
wrote from (`reply_route`, one of settings.TICKET_REPLY_ROUTER's channels).

The provider is chosen by settings.SMS_BACKEND: "local" (the embedded default: one JSON line per
message in settings.SMS_LOCAL_FILE and a masked log line) or "aliyun" (dysmsapi SendSms with the
ALIYUN_SMS_* settings). Every attempt of a message is sent with the reference `outbox-<id>` and the
message's idempotency key (Aliyun's OutId), so a receipt finds its message even when the answer to
SendSms was lost, and a provider that honours the key sends a message once however often a dead
worker's message is handed out again (see providers.py; Aliyun does not)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from posdesk.channels.models import InboundMessage
from posdesk.channels.sms.aliyun import DEFAULT_TIMEOUT, AliyunSmsProvider
from posdesk.channels.sms.callbacks import DeliveryReceipt
from posdesk.channels.sms.providers import LocalSmsProvider, SmsError, SmsProvider
from posdesk.contact.models import ContactChannel
from posdesk.core.identifiers import normalise_mobile
from posdesk.core.masking import mask_mobile
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ReplyRoute

logger = logging.getLogger("posdesk.outbox")

REFERENCE_PREFIX = "outbox-"
SMS_SIGNATURE = "【posdesk】"


def reply_route(ticket: Ticket) -> ReplyRoute | None:
    """Answer an SMS ticket on the thread the merchant wrote on: to the number of the latest SMS
    the ticket holds (a shop assistant's phone, say, not the owner's primary mobile). Only a sender
    the ticket's merchant was known by — or an unknown sender an agent has since identified as that
    merchant — is answered: after an agent moved the ticket to another merchant, the earlier writer
    gets nothing. None (the ticket service texts the primary mobile) when no such SMS exists, as
    for a ticket being opened (not saved yet)."""
    if ticket.channel != ContactChannel.SMS or ticket.merchant_id is None or ticket.pk is None:
        return None
    sender = (
        InboundMessage.objects.filter(ticket=ticket, channel=ContactChannel.SMS,
                                      status=InboundMessage.Status.PROCESSED)
        .filter(Q(merchant_id=ticket.merchant_id) | Q(merchant__isnull=True)).exclude(sender="")
        .order_by("-received_at", "-pk").values_list("sender", flat=True).first()
    )
    mobile = normalise_mobile(sender or "")
    return ReplyRoute(channel=ContactChannel.SMS, recipient=mobile, body_prefix=SMS_SIGNATURE) if mobile else None


def outbox_reference(message_id: int) -> str:
    return f"{REFERENCE_PREFIX}{message_id}"


def outbox_id_of(reference: str) -> int | None:
    """The outbox id in a reference we sent (`outbox-42` → 42); None for anything else."""
    if not reference.startswith(REFERENCE_PREFIX):
        return None
    digits = reference[len(REFERENCE_PREFIX):]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


@functools.cache
def aliyun_http_client() -> httpx.Client:
    """One client per process: its connection pool keeps the TLS connection to dysmsapi open
    between messages of a drain instead of a handshake for every SMS."""
    return httpx.Client(timeout=DEFAULT_TIMEOUT)


def sms_provider() -> SmsProvider:
    backend = settings.SMS_BACKEND
    if backend == "local":
        return LocalSmsProvider(settings.SMS_LOCAL_FILE)
    if backend == "aliyun":
        return AliyunSmsProvider(
            access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
            access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
            sign_name=settings.ALIYUN_SMS_SIGN_NAME,
            template_code=settings.ALIYUN_SMS_TEMPLATE_CODE,
            endpoint=settings.ALIYUN_SMS_ENDPOINT,
            http=aliyun_http_client(),
        )
    raise ImproperlyConfigured(f"Unknown SMS_BACKEND {backend!r}: use 'local' or 'aliyun'.")


def deliver_sms(message: OutboxMessage) -> None:
    """Send one outbox message; raise to have the outbox try again later.

    A message the provider already accepted (its id is stored) is not sent again: a worker that
    died between the provider's answer and the outbox marking it sent leaves it claimed, the
    sweep hands it out again, and the merchant must not get the text twice. A worker that died
    before the id was stored sends again with the same idempotency key, which a provider that
    honours it answers with the first result instead of a second text."""
    if message.provider_message_id:
        logger.info("sms already accepted by the provider; not sent again",
                    extra={"outbox_id": message.pk, "provider_message_id": message.provider_message_id})
        return
    provider = sms_provider()
    try:
        result = provider.send(
            mobile=message.recipient,
            text=message.body,
            reference=outbox_reference(message.pk),
            idempotency_key=message.idempotency_key,
        )
    except SmsError as exc:
        # The outbox stores str(exc) as last_error: say there whether trying again can help, so an
        # admin looking at a dead letter sees a bad number apart from an outage.
        verdict = "retryable" if exc.retryable else "not retryable, needs a person"
        raise SmsError(f"{verdict} [{exc.provider or provider.name} {exc.code}]: {exc}", code=exc.code,
                       retryable=exc.retryable, provider=exc.provider) from exc
    message.provider = result.provider[:20]
    message.provider_message_id = result.provider_message_id[:100]
    message.save(update_fields=["provider", "provider_message_id"])
    logger.info("sms to %s accepted by the provider", mask_mobile(message.recipient),
                extra={"outbox_id": message.pk, "purpose": message.purpose, "provider": result.provider,
                       "provider_message_id": message.provider_message_id,
                       "recipient": mask_mobile(message.recipient)})


def sms_receipts_record(*, receipts: Iterable[DeliveryReceipt]) -> int:
    """Record the gateway's delivery receipts on the SMS they report: found by the provider's id,
    else by our reference (when the answer to the send was lost, the receipt also tells us the
    provider's id; the reference is the idempotency key, or `outbox-<id>` for messages sent before
    there was one). Idempotent — a receipt pushed again writes the same values — and a delivered
    message stays delivered. Receipts for messages we do not know are ignored. Answers how many
    messages a receipt was recorded on."""
    recorded = 0
    for receipt in receipts:
        sms = OutboxMessage.objects.filter(channel=OutboxMessage.Channel.SMS)
        match = Q(provider_message_id=receipt.provider_message_id)
        outbox_id = outbox_id_of(receipt.reference)
        if outbox_id is not None:
            match |= Q(pk=outbox_id, provider_message_id="")
        elif receipt.reference:  # Aliyun echoes the OutId: the message's idempotency key
            match |= Q(idempotency_key=receipt.reference, provider_message_id="")
        message = sms.filter(match).order_by("pk").only("pk", "provider_message_id").first()
        if message is None:
            logger.info("sms receipt for an unknown message ignored",
                        extra={"provider_message_id": receipt.provider_message_id,
                               "recipient": mask_mobile(receipt.mobile)})
            continue
        changes: dict[str, object] = {"provider_message_id": receipt.provider_message_id[:100]}
        if receipt.delivered:
            changes.update(delivered_at=receipt.reported_at, delivery_error="")
            OutboxMessage.objects.filter(pk=message.pk).update(**changes)
        else:
            error = " ".join(part for part in (receipt.error_code, receipt.error_message) if part)
            changes.update(delivery_error=(error or "undelivered")[:200])
            OutboxMessage.objects.filter(pk=message.pk, delivered_at__isnull=True).update(**changes)
        recorded += 1
    return recorded
