"""Sending WeChat customer-service messages from the outbox, and where a ticket's answer goes when
the merchant wrote to us on WeChat."""

from __future__ import annotations

import threading
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from posdesk.channels.models import InboundMessage
from posdesk.channels.wechat.client import WeChatClient
from posdesk.contact.models import ContactChannel
from posdesk.core.taxonomy import Channel
from posdesk.merchants.models import MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ReplyRoute

# WeChat accepts customer-service messages only within 48 hours of the follower's last message;
# after that the send fails for good (45015), so the answer goes by SMS instead.
SERVICE_WINDOW = timedelta(hours=48)

# One client per account and API base: it caches the access token, and WeChat retires the old
# token whenever a new one is fetched, so fetching one per message would fail other workers' sends.
_clients: dict[tuple[str, str, str], WeChatClient] = {}
_clients_lock = threading.Lock()


def _client() -> WeChatClient:
    key = (settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET, settings.WECHAT_API_BASE)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = WeChatClient(key[0], key[1], base_url=key[2])
        return client


def deliver_wechat(message: OutboxMessage) -> None:
    """Send one outbox message to a follower (recipient = openid). A WeChatApiError is raised as
    it is: the outbox retries with back-off and dead-letters what never goes."""
    if not settings.WECHAT_APP_ID or not settings.WECHAT_APP_SECRET:
        raise RuntimeError("WeChat delivery is not configured (WECHAT_APP_ID / WECHAT_APP_SECRET)")
    _client().send_text(message.recipient, message.body)


def reply_route(ticket: Ticket) -> ReplyRoute | None:
    """Answer a ticket opened on WeChat in WeChat, to the merchant's follower who wrote most
    recently (on this ticket first, else on any of theirs) while WeChat still lets us write to
    them; None (the ticket service sends SMS) when no bound follower wrote within 48 hours."""
    if ticket.channel != Channel.WECHAT or ticket.merchant_id is None:
        return None
    bound = set(
        MerchantContact.objects.filter(merchant_id=ticket.merchant_id).exclude(wechat_openid="")
        .values_list("wechat_openid", flat=True)
    )
    if not bound:
        return None
    recent = InboundMessage.objects.filter(
        channel=ContactChannel.WECHAT, sender__in=bound, received_at__gte=timezone.now() - SERVICE_WINDOW)
    # the message being processed is not linked to its new ticket yet: it is the latest of all
    # (a ticket being opened, not saved yet, has no messages of its own)
    senders = recent.order_by("-received_at", "-pk").values_list("sender", flat=True)
    writer = (senders.filter(ticket=ticket).first() if ticket.pk is not None else None) or senders.first()
    return ReplyRoute(channel=Channel.WECHAT, recipient=writer, full_text=True) if writer else None
