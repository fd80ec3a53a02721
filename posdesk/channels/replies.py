"""Where an answer on a ticket reaches the merchant (settings.TICKET_REPLY_ROUTER): on the thread
they wrote on when their channel knows how to answer there (the e-mail thread, their WeChat, the
number they texted from), else None (the ticket service texts the primary mobile)."""

from __future__ import annotations

from posdesk.channels.mail.outbound import reply_route as mail_reply_route
from posdesk.channels.sms.outbound import reply_route as sms_reply_route
from posdesk.channels.wechat.outbound import reply_route as wechat_reply_route
from posdesk.core.taxonomy import Channel
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ReplyRoute

ROUTERS = {Channel.EMAIL: mail_reply_route, Channel.WECHAT: wechat_reply_route, Channel.SMS: sms_reply_route}


def reply_route(ticket: Ticket) -> ReplyRoute | None:
    router = ROUTERS.get(ticket.channel)
    return router(ticket) if router is not None else None
