"""What a stored WeChat push becomes (run by wechat_process_task after the webhook answered):
a bound follower's text or picture joins the one intake path; an unknown follower is walked
through binding; a new follower is welcomed; everything else is kept and ignored."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from posdesk.accounts.models import User
from posdesk.channels.models import InboundMessage, WeChatBinding
from posdesk.channels.services import (
    contacts_for_sender,
    inbound_fail,
    inbound_ignore,
    inbound_process,
    merchant_of,
)
from posdesk.channels.wechat.binding import (
    CODE_TTL,
    INSTRUCTIONS,
    is_binding_code,
    wechat_binding_answer,
    wechat_binding_use,
    wechat_bound_follower_answer,
    wechat_current_merchant_id,
)
from posdesk.channels.wechat.messages import InboundMessage as PushedMessage
from posdesk.channels.wechat.messages import MalformedMessage, parse_message
from posdesk.contact.models import ContactChannel, ContactPurpose
from posdesk.contact.services import contact_inbound_recorded, contact_request
from posdesk.core.errors import ApplicationError
from posdesk.merchants.models import Merchant, MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_enqueue
from posdesk.tickets.selectors import queue_wait_estimate

logger = logging.getLogger("posdesk.channels")

TICKET_MESSAGE_TYPES = frozenset({"text", "image"})
# beyond this wait the first answer points to self-service in the portal (issue 4 §8)
LONG_WAIT_MINUTES = 30

WELCOME = "您好，欢迎关注 posdesk POS 机售后服务！"
WELCOME_BACK = "您好，欢迎回来！直接在这里描述 POS 机的问题即可报修。"
ALREADY_BOUND = "您已绑定成功，可以直接在这里描述 POS 机的问题。"
UNIDENTIFIED_ACK = "已收到您的报修，工单号 %(number)s。您的微信绑定了多家商户，下次请在消息中注明商户号或终端号。"
QUEUE_EMPTY = "当前无需排队，客服会尽快回复您。"
QUEUE_NOW = "当前排队 %(waiting)d 单，预计约 %(minutes)d 分钟内有客服回复。"
QUEUE_LONG = "当前等待较长，您也可以登录商户服务平台查看常见问题，自助处理。"


def pushed_text(pushed: PushedMessage) -> str:
    """The words a push adds to a ticket. A picture is not fetched (it lives on WeChat's servers
    for three days); its address and media id are kept for the agent."""
    if pushed.msg_type == "image":
        return " ".join(part for part in ("[图片]", pushed.pic_url, f"MediaId {pushed.media_id}"
                                          if pushed.media_id else None) if part)
    return pushed.content


def wechat_process(*, inbound_id: int) -> None:
    """Act on one stored push, once: the stored row is locked and must still be `received`, so a
    task run twice (a redelivery kicks it again) does nothing the second time."""
    message = InboundMessage.objects.filter(pk=inbound_id, channel=ContactChannel.WECHAT).first()
    if message is None or message.status != InboundMessage.Status.RECEIVED:
        return
    try:
        pushed = parse_message(bytes(message.payload))
    except MalformedMessage as exc:  # the webhook parsed it before storing: only a hand-made row
        inbound_fail(message=message, note=f"unreadable payload ({exc.reason})")
        return
    try:
        with transaction.atomic():
            locked = InboundMessage.objects.select_for_update().get(pk=message.pk)
            if locked.status != InboundMessage.Status.RECEIVED:
                return
            if pushed.msg_type == "event":
                _event(locked, pushed)
            elif pushed.msg_type in TICKET_MESSAGE_TYPES:
                _merchant_wrote(locked, pushed)
            else:
                inbound_ignore(message=locked, note=f"{pushed.msg_type} messages are not taken")
    except ApplicationError as exc:  # e.g. a text longer than a ticket takes: kept for an agent
        inbound_fail(message=message, note=f"refused by the ticket service ({exc.code})")
        logger.warning("wechat message not added to a ticket", extra={"inbound_id": message.pk, "code": exc.code})


def _answer_follower(openid: str, body: str) -> None:
    # no merchant is known yet, so there is nobody the contact rules could be asked about; these
    # are answers to what the follower just sent, which the rules always allow anyway
    outbox_enqueue(channel=OutboxMessage.Channel.WECHAT, purpose=OutboxMessage.Purpose.SERVICE_REPLY,
                   recipient=openid, body=body)


def _answer_merchant(contact: MerchantContact, openid: str, body: str) -> None:
    contact_inbound_recorded(merchant_id=contact.merchant_id, channel=ContactChannel.WECHAT)
    contact_request(merchant_id=contact.merchant_id, channel=ContactChannel.WECHAT,
                    purpose=ContactPurpose.SERVICE_REPLY, recipient=openid, body=body)


def _event(message: InboundMessage, pushed: PushedMessage) -> None:
    if pushed.event != "subscribe":
        inbound_ignore(message=message, note=f"event {pushed.event or ''}")
        return
    contacts = contacts_for_sender(ContactChannel.WECHAT, pushed.from_user)
    if contacts:  # followed again after unfollowing: the binding is still there
        _answer_merchant(contacts[0], pushed.from_user, WELCOME_BACK)
    else:
        _answer_follower(pushed.from_user, f"{WELCOME}\n{INSTRUCTIONS}")
    inbound_ignore(message=message, note="subscribe: welcomed")


def _merchant_wrote(message: InboundMessage, pushed: PushedMessage) -> None:
    openid, text = pushed.from_user, pushed_text(pushed)
    contacts = contacts_for_sender(ContactChannel.WECHAT, openid)
    if not contacts:
        answer = wechat_binding_answer(openid=openid, text=text) if pushed.msg_type == "text" else INSTRUCTIONS
        _answer_follower(openid, answer)
        inbound_ignore(message=message, note="follower not bound: binding")
        return
    if pushed.msg_type == "text":
        # binding another shop, confirming its code, or switching between the shops they bound
        answer = wechat_bound_follower_answer(openid=openid, text=text,
                                              bound={c.merchant_id: c.merchant for c in contacts})
        if answer is not None:
            _answer_merchant(contacts[0], openid, answer)
            inbound_ignore(message=message, note="follower's bindings")
            return
    if pushed.msg_type == "text" and is_binding_code(text) and WeChatBinding.objects.filter(
            openid=openid, bound_at__gte=timezone.now() - CODE_TTL).exists():
        # the code sent twice: not a fault report
        _answer_merchant(contacts[0], openid, ALREADY_BOUND)
        inbound_ignore(message=message, note="binding code repeated")
        return
    if not text.strip():
        inbound_ignore(message=message, note="empty message")
        return
    merchant, actor = _reported_for(contacts, openid, text)
    ticket = inbound_process(message=message, text=text, merchant=merchant, actor=actor,
                             acknowledgement_note=_queue_wait_note())
    if ticket is None:
        return
    if merchant is not None:
        wechat_binding_use(openid=openid, merchant=merchant)
    if merchant is None:
        # an unidentified ticket notifies nobody; the follower still learns its number
        _answer_follower(openid, UNIDENTIFIED_ACK % {"number": ticket.number})


def _reported_for(contacts: list[MerchantContact], openid: str, text: str) -> tuple[Merchant | None, User | None]:
    """The merchant a follower's report is for: theirs if they have one; with several, the one
    whose MID, SN or TID it names, else the one they reported for or switched to last."""
    merchant, actor = merchant_of(contacts, text)
    if merchant is None:
        current = wechat_current_merchant_id(openid)
        chosen = next((c for c in contacts if c.merchant_id == current), None)
        if chosen is not None:
            return chosen.merchant, chosen.user
    return merchant, actor


def _queue_wait_note() -> str:
    """How long the queue is, for the acknowledgement of a new ticket (issue 4 §8)."""
    wait = queue_wait_estimate()
    if wait.minutes is None:
        return ""
    if wait.waiting == 0 or wait.minutes == 0:  # nobody was waiting when it was estimated (≤ 1 minute ago)
        lines = [QUEUE_EMPTY]
    else:
        lines = [QUEUE_NOW % {"waiting": wait.waiting, "minutes": wait.minutes}]
    if wait.minutes >= LONG_WAIT_MINUTES:
        lines.append(QUEUE_LONG)
    return "\n".join(lines)

