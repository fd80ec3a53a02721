"""SMS in (上行): merchants' replies pushed by the gateway are stored before the push is
acknowledged, then processed once each — a "TD" / 退订 reply opts the merchant out of marketing
SMS at once (SPEC C4), anything else goes to the sender's open ticket or opens one."""

from __future__ import annotations

import json
import logging
from functools import partial

from django.db import transaction

from posdesk.channels.models import InboundMessage
from posdesk.channels.services import (
    contacts_for_sender,
    inbound_fail,
    inbound_ignore,
    inbound_process,
    inbound_store,
    merchant_of,
)
from posdesk.channels.sms.callbacks import parse_inbound_messages
from posdesk.channels.sms.providers import is_unsubscribe
from posdesk.channels.tasks import sms_process_task
from posdesk.contact.models import ContactChannel, ContactPurpose, ContactSource
from posdesk.contact.services import contact_opt_out
from posdesk.core.errors import ApplicationError
from posdesk.core.identifiers import normalise_mobile
from posdesk.core.masking import mask_mobile
from posdesk.merchants.models import Merchant

logger = logging.getLogger("posdesk.channels")

UNSUBSCRIBE_NOTE = "TD"


def sms_inbound_receive(*, body: bytes) -> list[InboundMessage]:
    """Store every reply of one push (Aliyun SmsUp JSON, already authenticated) and hand each
    one not processed yet to the worker after the commit. A reply pushed again is found by its
    sequence id and stored once; it is handed out again only if its processing never finished.
    Raises callbacks.CallbackRejected when the push is malformed, before storing anything."""
    replies = parse_inbound_messages(body)
    raw_items = json.loads(body)  # parse_inbound_messages proved it is a list of objects

    stored = []
    for reply, raw_item in zip(replies, raw_items, strict=True):
        message, _created = inbound_store(
            channel=ContactChannel.SMS, provider_id=reply.provider_message_id, sender=reply.mobile,
            text=reply.text, at=reply.received_at,
            payload=json.dumps(raw_item, ensure_ascii=False).encode("utf-8"),
        )
        if message.status == InboundMessage.Status.RECEIVED:
            transaction.on_commit(partial(sms_process_task.delay, message.pk))
        stored.append(message)
    return stored


def sms_process(*, inbound_id: int) -> None:
    """Process one stored SMS reply, once (a second call changes nothing)."""
    message = InboundMessage.objects.get(pk=inbound_id, channel=ContactChannel.SMS)
    if message.status != InboundMessage.Status.RECEIVED:
        return
    if is_unsubscribe(message.text):
        _unsubscribe(message)
        return
    if not message.text.strip():
        inbound_ignore(message=message, note="empty reply")
        return
    merchant, user = merchant_of(contacts_for_sender(ContactChannel.SMS, message.sender), message.text)
    try:
        inbound_process(message=message, text=message.text, merchant=merchant, actor=user)
    except ApplicationError as exc:  # e.g. a text over the ticket's limit: kept, shown as failed
        inbound_fail(message=message, note=exc.code)
        logger.warning("sms reply could not be added to a ticket",
                       extra={"inbound_id": message.pk, "code": exc.code})


def _unsubscribe(message: InboundMessage) -> None:
    """Every merchant with a contact on that mobile stops getting marketing SMS now — whether or
    not the merchant is active, since a refusal must hold if they become active again. Service
    texts (replies, incident notices) still reach them, and no ticket is opened."""
    mobile = normalise_mobile(message.sender)
    with transaction.atomic():
        locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status != InboundMessage.Status.RECEIVED:
            return
        merchants = (list(Merchant.objects.filter(contacts__mobile=mobile).distinct().order_by("pk"))
                     if mobile else [])
        for merchant in merchants:
            contact_opt_out(merchant=merchant, channel=ContactChannel.SMS, purpose=ContactPurpose.MARKETING,
                            source=ContactSource.SMS_REPLY, actor=None,
                            note=f"SMS reply {locked.provider_id}")
        note = UNSUBSCRIBE_NOTE if merchants else f"{UNSUBSCRIBE_NOTE}: no merchant has this mobile"
        inbound_ignore(message=locked, note=note)
    logger.info("sms opt-out from marketing",
                extra={"inbound_id": message.pk, "sender": mask_mobile(mobile), "merchants": len(merchants)})
