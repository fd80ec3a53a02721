"""The WeChat Official Account channel end to end (C3, issue 4 §3): the webhook in plaintext,
compatible and safe mode, WeChat's retries, the binding of a follower to a merchant, and the
answers going out through the outbox to a local fake of WeChat's customer-service API."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from posdesk.audit.models import AuditEntry
from posdesk.channels.models import InboundMessage, WeChatBinding
from posdesk.channels.tests.test_wechat_client import FakeWeChat, FakeWeChatServer
from posdesk.channels.wechat import binding, outbound
from posdesk.channels.wechat.binding import (
    CODE_TTL,
    MAX_CODE_ATTEMPTS,
    RESEND_COOLDOWN,
    code_digest,
    wechat_binding_confirm,
    wechat_binding_start,
)
from posdesk.channels.wechat.client import WeChatApiError
from posdesk.channels.wechat.crypto import WeChatCrypto
from posdesk.channels.wechat.intake import wechat_process
from posdesk.channels.wechat.messages import cdata_section, read_xml_fields
from posdesk.channels.wechat.outbound import deliver_wechat, reply_route
from posdesk.channels.wechat.views import ACKNOWLEDGED, NOT_TAKEN
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.merchants.models import MerchantContact
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_deliver_one
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import queue_wait_estimate
from posdesk.tickets.services import ticket_reply

pytestmark = pytest.mark.django_db

URL = "/channels/wechat/"
TOKEN = "posdesk-wechat-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
APP_SECRET = "app-secret-of-the-test-account"
ACCOUNT = "gh_10f6c3c3ac5a"
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"  # the merchant's boss, bound in most tests
STRANGER = "oStrangerNotBound00000000001"
MONDAY_10_SHANGHAI = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
FAULT = "刷卡没反应，屏幕显示A0，终端 N7NL00000001"


# --- the world around the webhook ---------------------------------------------------------------


@pytest.fixture
def fake_wechat(settings: Any) -> Iterator[FakeWeChat]:
    """WeChat's token and customer-service endpoints on loopback (test_wechat_client.py's fake)."""
    fake = FakeWeChat()
    server = FakeWeChatServer(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    settings.WECHAT_API_BASE = server.base_url
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def account(settings: Any, fake_wechat: FakeWeChat, time_machine: Any, monkeypatch: Any) -> None:
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_ENCODING_AES_KEY = ""  # plaintext mode unless a test turns safe mode on
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_APP_SECRET = APP_SECRET
    # a working morning: nothing is held for quiet hours
    time_machine.move_to(MONDAY_10_SHANGHAI, tick=False)
    # each test's fake WeChat has its own tokens: no client (and token) from an earlier test
    monkeypatch.setattr(outbound, "_clients", {})


@pytest.fixture
def safe_mode(settings: Any) -> WeChatCrypto:
    settings.WECHAT_ENCODING_AES_KEY = AES_KEY
    return WeChatCrypto(TOKEN, AES_KEY, APP_ID)


@pytest.fixture
def bound(world: Any) -> MerchantContact:
    world.contact.wechat_openid = OPENID
    world.contact.save(update_fields=["wechat_openid"])
    return world.contact


def now_stamp(seconds_ago: int = 0) -> str:
    return str(int(time.time()) - seconds_ago)  # the frozen clock's


def text_push(content: str, *, openid: str = OPENID, msg_id: str = "24615822416120498") -> str:
    return (
        f"<xml><ToUserName>{cdata_section(ACCOUNT)}</ToUserName>"
        f"<FromUserName>{cdata_section(openid)}</FromUserName>"
        f"<CreateTime>{now_stamp()}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata_section(content)}</Content><MsgId>{msg_id}</MsgId></xml>"
    )


def image_push(*, openid: str = OPENID, msg_id: str = "24615822416120600") -> str:
    return (
        f"<xml><ToUserName>{cdata_section(ACCOUNT)}</ToUserName>"
        f"<FromUserName>{cdata_section(openid)}</FromUserName>"
        f"<CreateTime>{now_stamp()}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/screen/0]]></PicUrl>"
        f"<MediaId><![CDATA[media-42]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def event_push(event: str, *, openid: str = STRANGER) -> str:
    return (
        f"<xml><ToUserName>{cdata_section(ACCOUNT)}</ToUserName>"
        f"<FromUserName>{cdata_section(openid)}</FromUserName>"
        f"<CreateTime>{now_stamp()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event>{cdata_section(event)}</Event></xml>"
    )


def plain_signature(timestamp: str, nonce: str, token: str = TOKEN) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


def post_plain(body: str | bytes, *, timestamp: str | None = None, nonce: str = "1320562132",
               signature: str | None = None) -> Any:
    timestamp = timestamp or now_stamp()
    signature = signature or plain_signature(timestamp, nonce)
    query = f"?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={OPENID}"
    return Client().post(URL + query, data=body, content_type="text/xml")


def post_safe(crypto: WeChatCrypto, xml: str, *, timestamp: str | None = None, nonce: str = "461056294",
              clear_fields: str = "", msg_signature: str | None = None) -> Any:
    """A push as WeChat sends it in safe mode (or compatible mode, with `clear_fields` beside the
    ciphertext): the message encrypted and signed with msg_signature."""
    encrypted, signature, timestamp, nonce = crypto.encrypt(xml, nonce=nonce, timestamp=timestamp or now_stamp())
    body = f"<xml><ToUserName>{cdata_section(ACCOUNT)}</ToUserName>{clear_fields}" \
           f"<Encrypt>{cdata_section(encrypted)}</Encrypt></xml>"
    query = (f"?signature={plain_signature(timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
             f"&openid={OPENID}&encrypt_type=aes&msg_signature={msg_signature or signature}")
    return Client().post(URL + query, data=body, content_type="text/xml")


@pytest.fixture
def deliver(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """deliver(post, ...) → the webhook's answer, after what it left for after the commit ran:
    processing, then the outbox sending to the fake WeChat and the SMS backend."""

    def run(post: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            answer = post(*args, **kwargs)
        return answer

    return run


def sent_to(fake: FakeWeChat, openid: str) -> list[str]:
    """What the fake WeChat was asked to show the follower, in order."""
    sent = [json.loads(r.body) for r in fake.of("/cgi-bin/message/custom/send")]
    return [s["text"]["content"] for s in sent if s["touser"] == openid]


def passive_reply(answer: Any) -> dict[str, str]:
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/xml")
    return read_xml_fields(answer.content)


def nothing_stored() -> bool:
    return not InboundMessage.objects.exists() and not Ticket.objects.exists()


# --- server URL verification --------------------------------------------------------------------


def test_url_verification_answers_the_echostr(db: Any) -> None:
    timestamp, nonce = now_stamp(), "20260123"
    query = f"?signature={plain_signature(timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}&echostr=71a2c9e0"

    answer = Client().get(URL + query)

    assert answer.status_code == 200
    assert answer.content == b"71a2c9e0"
    assert answer["Content-Type"].startswith("text/plain")


def test_url_verification_with_a_forged_signature_is_refused(db: Any) -> None:
    timestamp = now_stamp()
    query = f"?signature={plain_signature(timestamp, '1', token='guessed')}&timestamp={timestamp}&nonce=1&echostr=x"

    answer = Client().get(URL + query)

    assert answer.status_code == 403
    assert b"x" not in answer.content


def test_the_endpoint_does_not_exist_without_a_token(db: Any, settings: Any) -> None:
    settings.WECHAT_TOKEN = ""

    assert Client().get(URL).status_code == 404
    assert post_plain(text_push(FAULT)).status_code == 404


def test_the_webhook_needs_no_csrf_token(db: Any, bound: MerchantContact) -> None:
    client = Client(enforce_csrf_checks=True)
    timestamp, nonce = now_stamp(), "7"
    query = f"?signature={plain_signature(timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"

    answer = client.post(URL + query, data=text_push(FAULT), content_type="text/xml")

    assert answer.status_code == 200


# --- messages in, tickets out -------------------------------------------------------------------


def test_a_plaintext_message_from_a_bound_follower_opens_a_ticket_and_is_answered(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    # when the merchant's boss writes to the Official Account
    answer = deliver(post_plain, text_push(FAULT))

    # then WeChat gets the passive acknowledgement at once, addressed back to the follower
    reply = passive_reply(answer)
    assert (reply["ToUserName"], reply["FromUserName"]) == (OPENID, ACCOUNT)
    assert (reply["MsgType"], reply["Content"]) == ("text", ACKNOWLEDGED)
    # and a ticket is open for the merchant and terminal the message names
    ticket = Ticket.objects.get()
    assert (ticket.merchant, ticket.terminal, ticket.channel) == (world.merchant, world.terminal, "wechat")
    assert ticket.description == FAULT
    stored = InboundMessage.objects.get()
    assert (stored.status, stored.ticket, stored.sender) == ("processed", ticket, OPENID)
    assert stored.provider_id == "24615822416120498"
    # and the real answer went through the customer-service API, with the ticket's number
    [acknowledgement] = sent_to(fake_wechat, OPENID)
    assert f"工单号 {ticket.number}" in acknowledgement
    assert acknowledgement.endswith("\n当前无需排队，客服会尽快回复您。")  # nobody was waiting ahead of them


def test_the_first_answer_tells_the_queues_estimated_wait(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat, open_ticket: Any
) -> None:
    # given 3 tickets waiting and none answered in the last hour, but earlier first answers took 45 minutes
    for _ in range(3):
        waiting = open_ticket(merchant=world.other_merchant)
        Ticket.objects.filter(pk=waiting.pk).update(created_at=MONDAY_10_SHANGHAI - timedelta(hours=2))
    answered = open_ticket(merchant=world.other_merchant)
    Ticket.objects.filter(pk=answered.pk).update(
        created_at=MONDAY_10_SHANGHAI - timedelta(hours=5), status="in_progress",
        first_response_at=MONDAY_10_SHANGHAI - timedelta(hours=5) + timedelta(minutes=45))

    deliver(post_plain, text_push(FAULT))

    [acknowledgement] = sent_to(fake_wechat, OPENID)
    assert "当前排队 3 单，预计约 45 分钟内有客服回复" in acknowledgement  # the three ahead of them
    assert "自助" in acknowledgement  # a long wait points to self-service


def test_an_empty_queue_is_told_as_no_wait(world: Any, bound: MerchantContact, deliver: Any,
                                          fake_wechat: FakeWeChat) -> None:
    # given the estimate of this minute, made while nobody was waiting (it is cached for the minute)
    assert queue_wait_estimate().waiting == 0

    deliver(post_plain, text_push(FAULT))

    assert sent_to(fake_wechat, OPENID)[0].endswith("\n当前无需排队，客服会尽快回复您。")


def test_a_follower_bound_to_two_merchants_names_the_one_in_trouble(
    world: Any, bound: MerchantContact, say: Any, fake_wechat: FakeWeChat
) -> None:
    # given the boss's WeChat is bound to contacts of two merchants
    MerchantContact.objects.filter(pk=world.other_contact.pk).update(wechat_openid=OPENID)

    # when one message names neither and the next names the other merchant's MID
    say("机器坏了", openid=OPENID)
    say(f"商户号 {world.other_merchant.mid} 的机器也坏了", openid=OPENID)

    # then the first opens an unidentified ticket (an agent links it) and they learn its number
    unidentified, identified = Ticket.objects.order_by("pk")
    assert unidentified.merchant is None
    assert sent_to(fake_wechat, OPENID)[0].startswith(f"已收到您的报修，工单号 {unidentified.number}")
    assert identified.merchant == world.other_merchant


def test_a_picture_is_kept_by_its_address_without_fetching_it(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    answer = deliver(post_plain, image_push())

    assert passive_reply(answer)["Content"] == ACKNOWLEDGED
    ticket = Ticket.objects.get()
    assert ticket.description == "[图片] http://mmbiz.qpic.cn/mmbiz_jpg/screen/0 MediaId media-42"
    # nothing but WeChat's API was called: the picture stays where it is
    assert {r.path for r in fake_wechat.requests} == {"/cgi-bin/token", "/cgi-bin/message/custom/send"}


def test_messages_within_the_conversation_join_the_open_ticket(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    deliver(post_plain, text_push(FAULT, msg_id="1001"))
    deliver(post_plain, image_push(msg_id="1002"))

    ticket = Ticket.objects.get()
    assert [m.ticket_id for m in InboundMessage.objects.order_by("pk")] == [ticket.pk, ticket.pk]
    assert ticket.events.filter(kind="reply", body__startswith="[图片]").exists()
    # one acknowledgement for the ticket, not one per message
    assert len(sent_to(fake_wechat, OPENID)) == 1


def test_an_agents_reply_reaches_the_merchant_in_wechat(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat,
    django_capture_on_commit_callbacks: Any,
) -> None:
    deliver(post_plain, text_push(FAULT))
    ticket = Ticket.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=world.agent, body="请先重启终端，再签到一次。")

    # the whole answer (WeChat carries it, unlike an SMS-sized notice)
    assert sent_to(fake_wechat, OPENID)[-1] == f"您的工单 {ticket.number} 有新回复：\n\n请先重启终端，再签到一次。"


def test_a_safe_mode_message_becomes_a_ticket_and_the_passive_reply_decrypts_with_the_same_crypto(
    world: Any, bound: MerchantContact, safe_mode: WeChatCrypto, deliver: Callable[..., Any],
    fake_wechat: FakeWeChat,
) -> None:
    answer = deliver(post_safe, safe_mode, text_push(FAULT))

    # the passive reply is an encrypted envelope that the account's own crypto opens
    assert answer.status_code == 200
    envelope = read_xml_fields(answer.content)
    reply = read_xml_fields(safe_mode.decrypt_message(
        answer.content, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]))
    assert (reply["ToUserName"], reply["Content"]) == (OPENID, ACKNOWLEDGED)
    assert FAULT.encode() not in answer.content
    ticket = Ticket.objects.get()
    assert (ticket.merchant, ticket.description) == (world.merchant, FAULT)
    # the stored payload is the message that was signed, not the envelope
    assert bytes(InboundMessage.objects.get().payload) == text_push(FAULT).encode()
    assert f"工单号 {ticket.number}" in sent_to(fake_wechat, OPENID)[0]


def test_compatible_mode_reads_only_the_encrypted_message(
    world: Any, bound: MerchantContact, safe_mode: WeChatCrypto, deliver: Callable[..., Any]
) -> None:
    # given clear fields beside the ciphertext that say something else (nobody signed them)
    clear = (f"<FromUserName>{cdata_section(STRANGER)}</FromUserName>"
             "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[转账给我]]></Content><MsgId>1</MsgId>")

    deliver(post_safe, safe_mode, text_push(FAULT), clear_fields=clear)

    stored = InboundMessage.objects.get()
    assert (stored.sender, stored.text, stored.provider_id) == (OPENID, FAULT, "24615822416120498")
    assert Ticket.objects.get().description == FAULT


def test_wechats_three_tries_store_one_message_and_open_one_ticket(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    # when WeChat sends the same message three times (it missed our first answers)
    answers = [deliver(post_plain, text_push(FAULT), nonce=nonce) for nonce in ("1", "2", "3")]

    # then the first is acknowledged and the retries are told "success", which stops them
    assert passive_reply(answers[0])["Content"] == ACKNOWLEDGED
    assert [a.content for a in answers[1:]] == [b"success", b"success"]
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert len(sent_to(fake_wechat, OPENID)) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_open_one_ticket(
    world: Any, bound: MerchantContact, fake_wechat: FakeWeChat, tmp_path: Any
) -> None:
    with racing_database(tmp_path):
        # when WeChat's three tries arrive at the same moment
        answers = run_together(*[lambda n=n: post_plain(text_push(FAULT), nonce=str(n)) for n in range(3)])

        # then all are answered, one of them with the acknowledgement, and one ticket exists
        assert all(getattr(a, "status_code", None) == 200 for a in answers), answers
        assert sorted(a.content == b"success" for a in answers) == [False, True, True]
        assert InboundMessage.objects.count() == 1
        assert Ticket.objects.count() == 1
        assert InboundMessage.objects.get().status == "processed"


def test_the_webhook_answers_before_processing_and_within_a_second(
    world: Any, bound: MerchantContact, django_capture_on_commit_callbacks: Any
) -> None:
    # when a message arrives (processing left for after the commit, as a worker would do it)
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        started = time.perf_counter()
        answer = post_plain(text_push(FAULT))
        elapsed = time.perf_counter() - started

    # then it was answered quickly, with the message stored and nothing processed yet
    assert answer.status_code == 200
    assert elapsed < 1.0
    assert InboundMessage.objects.get().status == "received"
    assert not Ticket.objects.exists()
    # and the processing job it left behind opens the ticket
    for callback in after_commit:
        callback()
    assert Ticket.objects.count() == 1


def test_a_message_type_we_cannot_take_is_answered_and_kept(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any]
) -> None:
    voice = text_push("").replace("<MsgType><![CDATA[text]]></MsgType>", "<MsgType><![CDATA[voice]]></MsgType>")

    answer = deliver(post_plain, voice)

    assert passive_reply(answer)["Content"] == NOT_TAKEN
    assert InboundMessage.objects.get().status == "ignored"
    assert not Ticket.objects.exists()


def test_processing_a_message_twice_changes_nothing(world: Any, bound: MerchantContact, deliver: Any) -> None:
    deliver(post_plain, text_push(FAULT))
    message = InboundMessage.objects.get()

    wechat_process(inbound_id=message.pk)

    assert Ticket.objects.count() == 1
    assert OutboxMessage.objects.filter(channel="wechat").count() == 1


# --- refusals: nothing stored -------------------------------------------------------------------


def test_a_forged_signature_is_refused_and_nothing_stored(bound: MerchantContact, caplog: Any) -> None:
    timestamp = now_stamp()

    answer = post_plain(text_push(FAULT), signature=plain_signature(timestamp, "1320562132", token="guess"))

    assert answer.status_code == 403
    assert nothing_stored()
    # the refusal is logged, without the sender's data
    assert "inbound call rejected" in caplog.text
    assert OPENID not in caplog.text


def test_a_replayed_push_older_than_five_minutes_is_refused(bound: MerchantContact) -> None:
    # given a genuine, correctly signed push captured 301 seconds ago
    answer = post_plain(text_push(FAULT), timestamp=now_stamp(seconds_ago=301))

    assert answer.status_code == 403
    assert nothing_stored()


def test_a_push_just_inside_five_minutes_is_taken(bound: MerchantContact) -> None:
    assert post_plain(text_push(FAULT), timestamp=now_stamp(seconds_ago=300)).status_code == 200


@pytest.mark.parametrize("body", [
    b"<xml><ToUserName>gh_1</ToUserName><FromUserName>o",  # cut off
    b"not xml at all",
    b"<feed><ToUserName>gh_1</ToUserName></feed>",  # another shape
    b"<xml><ToUserName>gh_1</ToUserName></xml>",  # fields missing
    b"<xml><FromUserName>o</FromUserName><FromUserName>p</FromUserName></xml>",
], ids=["truncated", "not_xml", "bad_root", "missing_fields", "duplicate_field"])
def test_malformed_xml_is_refused_with_400_and_nothing_stored(bound: MerchantContact, body: bytes) -> None:
    assert post_plain(body).status_code == 400
    assert nothing_stored()


def test_an_xml_external_entity_is_refused_and_never_resolved(bound: MerchantContact) -> None:
    xxe = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
           f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
           f"<CreateTime>{now_stamp()}</CreateTime><MsgType>text</MsgType>"
           "<Content>&secret;</Content><MsgId>1</MsgId></xml>")

    answer = post_plain(xxe)

    assert answer.status_code == 400
    assert b"root:" not in answer.content
    assert nothing_stored()


def test_an_oversized_body_is_refused_before_it_is_read(bound: MerchantContact) -> None:
    answer = post_plain(text_push("长" * 30_000))

    assert answer.status_code == 413
    assert nothing_stored()


def test_a_safe_mode_push_with_a_forged_msg_signature_is_refused(
    bound: MerchantContact, safe_mode: WeChatCrypto
) -> None:
    answer = post_safe(safe_mode, text_push(FAULT), msg_signature="0" * 40)

    assert answer.status_code == 403
    assert nothing_stored()


def test_a_safe_mode_push_encrypted_with_another_key_is_refused(bound: MerchantContact, safe_mode: Any) -> None:
    impostor = WeChatCrypto(TOKEN, "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", APP_ID)

    answer = post_safe(impostor, text_push(FAULT))

    assert answer.status_code == 403
    assert nothing_stored()


def test_a_replayed_safe_mode_push_is_refused(bound: MerchantContact, safe_mode: WeChatCrypto) -> None:
    answer = post_safe(safe_mode, text_push(FAULT), timestamp=now_stamp(seconds_ago=3600))

    assert answer.status_code == 403
    assert nothing_stored()


def test_a_plaintext_push_is_refused_when_the_account_uses_safe_mode(
    bound: MerchantContact, safe_mode: WeChatCrypto
) -> None:
    # a plaintext signature covers no body: with a key configured, only encrypted pushes count
    assert post_plain(text_push(FAULT)).status_code == 403
    assert nothing_stored()


def test_a_safe_mode_push_with_an_xxe_envelope_is_refused_with_400(
    bound: MerchantContact, safe_mode: WeChatCrypto
) -> None:
    timestamp, nonce = now_stamp(), "5"
    body = '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
    query = (f"?timestamp={timestamp}&nonce={nonce}&encrypt_type=aes"
             f"&msg_signature={plain_signature(timestamp, nonce)}")

    answer = Client().post(URL + query, data=body, content_type="text/xml")

    assert answer.status_code == 400
    assert nothing_stored()


# --- events -------------------------------------------------------------------------------------


def test_a_new_follower_is_welcomed_and_told_how_to_bind(
    db: Any, deliver: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    answer = deliver(post_plain, event_push("subscribe"))

    assert answer.content == b"success"
    [welcome] = sent_to(fake_wechat, STRANGER)
    assert "欢迎" in welcome and "商户号" in welcome
    assert InboundMessage.objects.get().status == "ignored"
    assert not Ticket.objects.exists()


def test_a_bound_follower_who_follows_again_is_welcomed_back(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    deliver(post_plain, event_push("subscribe", openid=OPENID))

    assert sent_to(fake_wechat, OPENID) == ["您好，欢迎回来！直接在这里描述 POS 机的问题即可报修。"]
    assert OutboxMessage.objects.get().merchant == world.merchant  # through the contact gate


def test_an_unfollow_is_kept_and_ignored(db: Any, deliver: Callable[..., Any], fake_wechat: FakeWeChat) -> None:
    answer = deliver(post_plain, event_push("unsubscribe"))

    assert answer.content == b"success"
    assert InboundMessage.objects.get().status == "ignored"
    assert not OutboxMessage.objects.exists()


# --- binding a follower to a merchant -----------------------------------------------------------


def sms_code() -> str:
    sms = OutboxMessage.objects.filter(channel="sms", purpose="login_code").latest("pk")
    found = re.search(r"验证码 (\d{6})", sms.body)
    assert found, sms.body
    return found.group(1)


@pytest.fixture
def say(deliver: Callable[..., Any]) -> Callable[..., Any]:
    """say(text) → the stranger writes `text` to the account (each a new message)."""
    counter = iter(range(10_000, 99_999))

    def write(text: str, openid: str = STRANGER) -> Any:
        return deliver(post_plain, text_push(text, openid=openid, msg_id=str(next(counter))))

    return write


def test_an_unbound_follower_opens_no_ticket_and_learns_how_to_bind(
    world: Any, say: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    say(FAULT)

    assert not Ticket.objects.exists()
    assert "商户号" in sent_to(fake_wechat, STRANGER)[0]
    assert InboundMessage.objects.get().status == "ignored"


def test_binding_by_mid_texts_a_code_to_the_registered_mobile_and_binds_on_the_code(
    world: Any, say: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    # when the follower sends the merchant's MID
    say(world.merchant.mid)

    # then a code goes by SMS to the registered mobile, and WeChat shows only the masked mobile
    sms = OutboxMessage.objects.get(channel="sms")
    assert (sms.purpose, sms.recipient) == ("login_code", "13812345678")
    [told] = sent_to(fake_wechat, STRANGER)
    assert told.startswith("验证码已发送至 138****5678")
    assert "13812345678" not in told
    pending = WeChatBinding.objects.get(openid=STRANGER)
    assert pending.code_digest == code_digest(STRANGER, sms_code())  # only the digest is kept
    assert pending.code_expires_at == MONDAY_10_SHANGHAI + CODE_TTL

    # when the follower sends the code back
    say(sms_code())

    # then the contact is bound, recorded in the audit log, and told so
    world.contact.refresh_from_db()
    assert world.contact.wechat_openid == STRANGER
    pending.refresh_from_db()
    assert pending.bound_at == MONDAY_10_SHANGHAI
    assert AuditEntry.objects.filter(object_type="merchants.merchantcontact", object_id=str(world.contact.pk),
                                     summary__contains="WeChat").exists()
    assert f"「{world.merchant.name}」" in sent_to(fake_wechat, STRANGER)[-1]

    # and what they write next opens a ticket for their merchant
    say(FAULT)
    assert Ticket.objects.get().merchant == world.merchant


def test_binding_by_mobile_binds_the_contacts_with_that_mobile(
    world: Any, say: Callable[..., Any], fake_wechat: FakeWeChat
) -> None:
    say("138 1234 5678")
    say(sms_code())

    world.contact.refresh_from_db()
    assert world.contact.wechat_openid == STRANGER
    world.other_contact.refresh_from_db()
    assert world.other_contact.wechat_openid == ""


def test_a_wrong_code_is_refused_with_the_tries_left(world: Any, say: Any, fake_wechat: FakeWeChat) -> None:
    say(world.merchant.mid)
    wrong = f"{(int(sms_code()) + 1) % 10**6:06d}"

    say(wrong)

    assert sent_to(fake_wechat, STRANGER)[-1] == f"验证码不正确，还可以再试 {MAX_CODE_ATTEMPTS - 1} 次。"
    world.contact.refresh_from_db()
    assert world.contact.wechat_openid == ""


def test_five_wrong_codes_spend_the_code(world: Any, say: Any, fake_wechat: FakeWeChat) -> None:
    say(world.merchant.mid)
    right = sms_code()
    wrong = f"{(int(right) + 1) % 10**6:06d}"

    for _ in range(MAX_CODE_ATTEMPTS):
        say(wrong)
    say(right)

    assert "错误次数过多" in sent_to(fake_wechat, STRANGER)[-2]
    assert sent_to(fake_wechat, STRANGER)[-1] == "请先回复商户号或登记的手机号获取验证码。"
    world.contact.refresh_from_db()
    assert world.contact.wechat_openid == ""


def test_a_code_older_than_ten_minutes_has_expired(
    world: Any, say: Any, fake_wechat: FakeWeChat, time_machine: Any
) -> None:
    say(world.merchant.mid)
    code = sms_code()

    time_machine.move_to(MONDAY_10_SHANGHAI + CODE_TTL + timedelta(seconds=1), tick=False)
    say(code)

    world.contact.refresh_from_db()
    assert world.contact.wechat_openid == ""
    assert sent_to(fake_wechat, STRANGER)[-1].startswith("验证码已过期")


def test_an_unknown_mid_reveals_nothing_and_sends_no_sms(
    world: Any, say: Any, fake_wechat: FakeWeChat
) -> None:
    say("898330169999999")

    assert not OutboxMessage.objects.filter(channel="sms").exists()
    told = sent_to(fake_wechat, STRANGER)[-1]
    assert "*" not in told and "898330169999999" not in told


def test_codes_are_sent_at_most_once_a_minute(world: Any, say: Any, fake_wechat: FakeWeChat) -> None:
    say(world.merchant.mid)
    say(world.merchant.mid)

    assert OutboxMessage.objects.filter(channel="sms").count() == 1
    assert sent_to(fake_wechat, STRANGER)[-1] == "操作太频繁，请 1 分钟后再试。"


def test_a_new_code_after_the_cooldown_replaces_the_old_one(
    world: Any, time_machine: Any, monkeypatch: Any
) -> None:
    codes = iter([111111, 222222])
    monkeypatch.setattr(binding.secrets, "randbelow", lambda _upper: next(codes))
    wechat_binding_start(openid=STRANGER, identifier=world.merchant.mid)
    time_machine.move_to(MONDAY_10_SHANGHAI + RESEND_COOLDOWN, tick=False)

    wechat_binding_start(openid=STRANGER, identifier=world.merchant.mid)

    assert sms_code() == "222222"
    assert wechat_binding_confirm(openid=STRANGER, code="111111").startswith("验证码不正确")
    assert wechat_binding_confirm(openid=STRANGER, code="２２２２２２").startswith("绑定成功")  # full-width


def test_a_bound_follower_repeating_the_code_opens_no_ticket(
    world: Any, say: Any, fake_wechat: FakeWeChat
) -> None:
    say(world.merchant.mid)
    code = sms_code()
    say(code)

    say(code)

    assert not Ticket.objects.exists()
    assert sent_to(fake_wechat, STRANGER)[-1] == "您已绑定成功，可以直接在这里描述 POS 机的问题。"


# --- the answer's way back ----------------------------------------------------------------------


def test_reply_route_answers_in_wechat_to_the_follower_who_wrote(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any]
) -> None:
    deliver(post_plain, text_push(FAULT))
    ticket = Ticket.objects.get()

    route = reply_route(ticket)

    assert route is not None
    assert (route.channel, route.recipient) == ("wechat", OPENID)


def test_reply_route_leaves_other_tickets_to_sms(world: Any, bound: MerchantContact, open_ticket: Any) -> None:
    assert reply_route(open_ticket(channel="portal")) is None


def test_reply_route_falls_back_to_sms_after_wechats_48_hour_window(
    world: Any, bound: MerchantContact, deliver: Callable[..., Any], time_machine: Any
) -> None:
    deliver(post_plain, text_push(FAULT))
    ticket = Ticket.objects.get()

    time_machine.move_to(MONDAY_10_SHANGHAI + timedelta(hours=48, seconds=1), tick=False)

    assert reply_route(ticket) is None


def test_reply_route_needs_a_bound_follower(world: Any, bound: MerchantContact, deliver: Any) -> None:
    deliver(post_plain, text_push(FAULT))
    ticket = Ticket.objects.get()
    MerchantContact.objects.filter(pk=bound.pk).update(wechat_openid="")

    assert reply_route(ticket) is None


def test_deliver_wechat_sends_through_the_customer_service_api(db: Any, fake_wechat: FakeWeChat) -> None:
    message = OutboxMessage.objects.create(channel="wechat", purpose="service_reply", recipient=OPENID,
                                           body="您的工单 T2611230001 已解决。")

    deliver_wechat(message)

    [token] = fake_wechat.of("/cgi-bin/token")
    assert (token.query["appid"], token.query["secret"]) == (APP_ID, APP_SECRET)
    [sent] = fake_wechat.of("/cgi-bin/message/custom/send")
    assert json.loads(sent.body) == {"touser": OPENID, "msgtype": "text",
                                     "text": {"content": "您的工单 T2611230001 已解决。"}}


def test_the_access_token_is_reused_across_deliveries(db: Any, fake_wechat: FakeWeChat) -> None:
    for n in range(3):
        deliver_wechat(OutboxMessage(channel="wechat", purpose="service_reply", recipient=OPENID, body=f"第{n}条"))

    assert len(fake_wechat.of("/cgi-bin/token")) == 1
    assert len(fake_wechat.of("/cgi-bin/message/custom/send")) == 3


def test_a_wechat_api_error_is_raised_so_the_outbox_retries(db: Any, fake_wechat: FakeWeChat) -> None:
    fake_wechat.send_errors = [{"errcode": -1, "errmsg": "system error"}]
    message = OutboxMessage.objects.create(channel="wechat", purpose="service_reply", recipient=OPENID, body="hi")

    with pytest.raises(WeChatApiError):
        deliver_wechat(message)

    # through the outbox: the failure is recorded and the message waits for its retry
    fake_wechat.send_errors = [{"errcode": -1, "errmsg": "system error"}]
    assert outbox_deliver_one(message_id=message.pk) == "pending"
    message.refresh_from_db()
    assert message.attempts == 1 and "WeChatApiError" in message.last_error
    assert APP_SECRET not in message.last_error


def test_delivery_without_credentials_fails_loudly(db: Any, settings: Any) -> None:
    settings.WECHAT_APP_SECRET = ""

    with pytest.raises(RuntimeError, match="not configured"):
        deliver_wechat(OutboxMessage(channel="wechat", purpose="service_reply", recipient=OPENID, body="hi"))


def test_one_client_serves_each_account(db: Any, settings: Any) -> None:
    first = outbound._client()
    assert outbound._client() is first

    settings.WECHAT_APP_ID = "wx0000000000000001"

    assert outbound._client() is not first
