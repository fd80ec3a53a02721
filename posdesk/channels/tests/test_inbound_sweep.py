"""A stored WeChat or SMS message whose processing job never ran is processed by the sweep: nothing
accepted is left behind, and nothing is processed twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from posdesk.channels.models import InboundMessage
from posdesk.channels.services import inbound_store
from posdesk.channels.tasks import inbound_sweep_task
from posdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _stored(world, *, channel: str, provider_id: str, at: datetime, text: str = "终端签到失败，屏幕显示A0") -> InboundMessage:
    sender = "13812345678" if channel == "sms" else "o-bound-follower"
    if channel == "wechat":
        world.contact.wechat_openid = sender
        world.contact.save(update_fields=["wechat_openid"])
    payload = b"{}"
    if channel == "wechat":  # what the webhook stores: the (decrypted) push
        payload = (f"<xml><ToUserName><![CDATA[gh_posdesk]]></ToUserName><FromUserName><![CDATA[{sender}]]>"
                   f"</FromUserName><CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                   f"<Content><![CDATA[{text}]]></Content><MsgId>{provider_id}</MsgId></xml>").encode()
    message, _new = inbound_store(channel=channel, provider_id=provider_id, payload=payload, sender=sender, text=text,
                                  at=at)
    return message


@pytest.mark.parametrize("channel", ["sms", "wechat"])
def test_a_message_whose_job_never_ran_is_processed_by_the_sweep(world, time_machine, channel):
    # given a message stored three minutes ago whose processing job was lost (a worker down)
    time_machine.move_to(MONDAY_10, tick=False)
    message = _stored(world, channel=channel, provider_id="6054768590064713728", at=MONDAY_10 - timedelta(minutes=3))
    # when the sweep runs
    assert inbound_sweep_task() == 1
    # then it is in a ticket of the merchant, and a second sweep finds nothing
    message.refresh_from_db()
    assert message.status == InboundMessage.Status.PROCESSED
    assert message.ticket.merchant == world.merchant and message.ticket.channel == channel
    assert inbound_sweep_task() == 0
    assert Ticket.objects.count() == 1


def test_the_sweep_leaves_fresh_and_finished_messages_alone(world, time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    fresh = _stored(world, channel="sms", provider_id="sms-fresh", at=MONDAY_10 - timedelta(seconds=30))
    done = _stored(world, channel="sms", provider_id="sms-done", at=MONDAY_10 - timedelta(minutes=10))
    InboundMessage.objects.filter(pk=done.pk).update(status=InboundMessage.Status.IGNORED)
    email = _stored(world, channel="email", provider_id="mail-1@163.com", at=MONDAY_10 - timedelta(minutes=10))
    assert inbound_sweep_task() == 0  # e-mail is picked up by the mailbox fetch itself
    fresh.refresh_from_db(), email.refresh_from_db()
    assert fresh.status == email.status == InboundMessage.Status.RECEIVED
    assert not Ticket.objects.exists()
