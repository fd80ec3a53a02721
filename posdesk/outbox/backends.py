"""Delivery backends per channel. The embedded default for SMS writes the message to the log
(phone masked) instead of calling a provider; issue C3 adds the real providers."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from posdesk.core.masking import mask_mobile
from posdesk.outbox.models import OutboxMessage

logger = logging.getLogger("posdesk.outbox")


class DeliveryError(Exception):
    pass


def deliver_sms(message: OutboxMessage) -> None:
    if settings.SMS_BACKEND == "local":
        logger.info(
            "sms (local backend) to %s: %s", mask_mobile(message.recipient), message.body,
            extra={"outbox_id": message.pk, "purpose": message.purpose},
        )
        return
    raise DeliveryError(f"unknown SMS backend {settings.SMS_BACKEND!r}")


def deliver_email(message: OutboxMessage) -> None:
    send_mail(message.subject, message.body, None, [message.recipient])


def deliver_wechat(message: OutboxMessage) -> None:
    raise DeliveryError("WeChat delivery is not configured")


BACKENDS = {
    OutboxMessage.Channel.SMS: deliver_sms,
    OutboxMessage.Channel.EMAIL: deliver_email,
    OutboxMessage.Channel.WECHAT: deliver_wechat,
}
