"""A WeChat follower who runs several shops binds each of them from WeChat, and their reports go to
the shop they mean: the one whose MID, SN or TID the message names, else the one they bound,
reported for or switched to last (they switch by sending its MID)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from posdesk.channels.models import InboundMessage, WeChatBinding
from posdesk.channels.tests import test_wechat_channel as wechat
from posdesk.channels.tests.test_wechat_channel import STRANGER, sent_to, sms_code
from posdesk.channels.tests.test_wechat_client import FakeWeChat
from posdesk.channels.wechat.binding import RESEND_COOLDOWN
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

# the WeChat channel's fixtures: its account (autouse), the fake WeChat, and a follower writing
account, fake_wechat, deliver, say = wechat.account, wechat.fake_wechat, wechat.deliver, wechat.say


def bind(say: Callable[..., Any], identifier: str) -> None:
    say(identifier)
    say(sms_code())


@pytest.fixture
def two_shops(world: Any, say: Callable[..., Any], time_machine: Any) -> None:
    """The follower bound world.merchant, then (a minute later) world.other_merchant from WeChat."""
    bind(say, world.merchant.mid)
    time_machine.shift(RESEND_COOLDOWN + timedelta(seconds=1))
    bind(say, f"绑定 {world.other_merchant.mid}")


def last_ticket() -> Ticket:
    return Ticket.objects.latest("pk")


def test_a_bound_follower_binds_a_second_shop_with_a_code_to_its_registered_mobile(
    world: Any, say: Callable[..., Any], fake_wechat: FakeWeChat, time_machine: Any
) -> None:
    # given a follower bound to their first shop
    bind(say, world.merchant.mid)
    time_machine.shift(RESEND_COOLDOWN + timedelta(seconds=1))

    # when they send the second shop's MID
    say(f"绑定 {world.other_merchant.mid}")

    # then a code goes to the second shop's registered mobile (shown masked), and nothing is reported
    code_sms = OutboxMessage.objects.filter(channel="sms", purpose="login_code").latest("pk")
    assert code_sms.recipient == world.other_contact.mobile
    assert sent_to(fake_wechat, STRANGER)[-1].startswith("验证码已发送至 139****1111")
    assert not Ticket.objects.exists()

    # when they send the code back
    say(sms_code())

    # then both shops' contacts carry their openid, and the second shop is the one they mean next
    world.contact.refresh_from_db()
    world.other_contact.refresh_from_db()
    assert (world.contact.wechat_openid, world.other_contact.wechat_openid) == (STRANGER, STRANGER)
    assert WeChatBinding.objects.get(openid=STRANGER).current_merchant == world.other_merchant
    told = sent_to(fake_wechat, STRANGER)[-1]
    assert f"「{world.other_merchant.name}」已加入您绑定的商户" in told
    assert not Ticket.objects.exists()
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"ignored"}


def test_a_report_naming_no_shop_goes_to_the_one_bound_last(
    world: Any, two_shops: None, say: Callable[..., Any]
) -> None:
    say("机器坏了，刷不了卡")

    assert last_ticket().merchant == world.other_merchant


def test_a_report_naming_a_shop_goes_there_and_makes_it_the_current_one(
    world: Any, two_shops: None, say: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    # when the follower names the first shop by a terminal's SN, then writes again without naming one
    say("终端 N7NL00000001 打印机不出纸")
    first_shop_ticket = last_ticket()
    say("换了纸还是不行")

    # then both messages are the first shop's: the second joins its open ticket
    assert first_shop_ticket.merchant == world.merchant
    assert Ticket.objects.count() == 1
    assert first_shop_ticket.events.filter(body="换了纸还是不行").exists()
    assert WeChatBinding.objects.get(openid=STRANGER).current_merchant == world.merchant
    assert any(first_shop_ticket.number in told for told in sent_to(fake_wechat, STRANGER))  # acknowledged in WeChat


def test_sending_a_bound_shops_mid_switches_to_it(
    world: Any, two_shops: None, say: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    codes_before = OutboxMessage.objects.filter(purpose="login_code").count()

    # when the follower sends the first shop's MID alone
    say(world.merchant.mid)

    # then they are told the switch, no code is sent and nothing is reported
    assert sent_to(fake_wechat, STRANGER)[-1] == (
        f"已切换到「{world.merchant.name}」（商户号 {world.merchant.mid}），之后未注明商户号的报修都记在该商户名下。")
    assert OutboxMessage.objects.filter(purpose="login_code").count() == codes_before
    assert not Ticket.objects.exists()

    # and their next report goes to that shop
    say("机器坏了")
    assert last_ticket().merchant == world.merchant


def test_a_second_shop_is_not_bound_without_its_code(
    world: Any, say: Callable[..., Any], fake_wechat: FakeWeChat, time_machine: Any
) -> None:
    # given a follower bound to their first shop who asked to bind a second one
    bind(say, world.merchant.mid)
    time_machine.shift(RESEND_COOLDOWN + timedelta(seconds=1))
    say(world.other_merchant.mid)
    wrong = f"{(int(sms_code()) + 1) % 10**6:06d}"

    # when they send a wrong code
    say(wrong)

    # then the second shop is not bound, they are told, and reports still go to the first shop
    world.other_contact.refresh_from_db()
    assert world.other_contact.wechat_openid == ""
    assert sent_to(fake_wechat, STRANGER)[-1].startswith("验证码不正确")
    say("机器坏了")
    assert last_ticket().merchant == world.merchant


def test_an_unknown_mid_from_a_bound_follower_binds_nothing(
    world: Any, say: Callable[..., Any], fake_wechat: FakeWeChat, time_machine: Any
) -> None:
    bind(say, world.merchant.mid)
    time_machine.shift(RESEND_COOLDOWN + timedelta(seconds=1))

    say("898330160129999")

    assert sent_to(fake_wechat, STRANGER)[-1].startswith("未能发送验证码")
    assert OutboxMessage.objects.filter(purpose="login_code").count() == 1
    assert not Ticket.objects.exists()
