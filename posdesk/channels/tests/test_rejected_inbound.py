"""Bad input on every inbound channel (issue 4): forged or stale signatures, malformed XML, JSON or
MIME, oversized bodies and calls for another account are refused with the right status, logged,
and recorded once as a RejectedInbound — nothing else of them is stored (no InboundMessage, no
ticket, no call). The record keeps no personal data in clear, never fails the answer, is bounded
under a flood and purged after the retention; administrators alone read it in the admin."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from imap_tools import MailBoxUnencrypted

from posdesk.channels import services
from posdesk.channels.mail import inbox
from posdesk.channels.mail.inbox import mail_fetch
from posdesk.channels.mail.parsing import is_mime_message
from posdesk.channels.models import CallbackTask, CallRecord, InboundMessage, RejectedInbound
from posdesk.channels.services import inbound_rejection_purge, inbound_rejection_record
from posdesk.channels.sms.callbacks import MAX_CALLBACK_BYTES, callback_signature
from posdesk.channels.tasks import rejected_inbound_purge_task
from posdesk.channels.tests.mailservers import ImapServer, imap_server
from posdesk.channels.wechat.crypto import WeChatCrypto
from posdesk.channels.wechat.messages import cdata_section
from posdesk.core.masking import mask_excerpt
from posdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

Reason = RejectedInbound.Reason
MONDAY_10_SHANGHAI = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MOBILE = "13812345678"
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


@pytest.fixture(autouse=True)
def _monday_morning(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_10_SHANGHAI, tick=False)


def stored() -> tuple[int, int, int, int]:
    """Everything an accepted call could leave behind."""
    return (
        InboundMessage.objects.count(),
        Ticket.objects.count(),
        CallRecord.objects.count(),
        CallbackTask.objects.count(),
    )


def the_one_rejection(
    caplog: Any, *, channel: str, reason: str, status: int | None, code: str
) -> RejectedInbound:
    """The single row recorded, as expected, and the single log line that tells it."""
    row = RejectedInbound.objects.get()
    assert (row.channel, row.reason, row.status, row.code) == (channel, reason, status, code)
    logged = [r for r in caplog.records if r.getMessage() == "inbound call rejected"]
    assert [(r.channel, r.reason, r.code, r.status) for r in logged] == [(channel, reason, code, status)]
    assert logged[0].levelno == logging.WARNING
    return row


# --- WeChat ------------------------------------------------------------------------------------

WECHAT_URL = "/channels/wechat/"
TOKEN = "posdesk-wechat-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx2c2769f8efd9abc2"
ACCOUNT = "gh_10f6c3c3ac5a"


@pytest.fixture
def wechat(settings: Any) -> Any:
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_ENCODING_AES_KEY = ""
    settings.WECHAT_APP_ID = APP_ID
    settings.WECHAT_ACCOUNT_ID = ""
    return settings


def _stamp(seconds_ago: int = 0) -> str:
    return str(int(time.time()) - seconds_ago)


def _text_push(content: str = "刷卡没反应", *, to: str = ACCOUNT) -> str:
    return (
        f"<xml><ToUserName>{cdata_section(to)}</ToUserName><FromUserName>{cdata_section(OPENID)}</FromUserName>"
        f"<CreateTime>{_stamp()}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata_section(content)}</Content><MsgId>24615822416120498</MsgId></xml>"
    )


def _plain_signature(timestamp: str, nonce: str, token: str = TOKEN) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324


def _post_plain(body: str | bytes, *, timestamp: str | None = None, signature: str | None = None) -> Any:
    timestamp, nonce = timestamp or _stamp(), "1320562132"
    query = (
        f"?signature={signature or _plain_signature(timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
    )
    return Client().post(WECHAT_URL + query, data=body, content_type="text/xml")


def _post_safe(
    crypto: WeChatCrypto, xml: str, *, timestamp: str | None = None, msg_signature: str = ""
) -> Any:
    encrypted, signature, timestamp, nonce = crypto.encrypt(
        xml, nonce="461056294", timestamp=timestamp or _stamp()
    )
    body = f"<xml><ToUserName>{cdata_section(ACCOUNT)}</ToUserName><Encrypt>{cdata_section(encrypted)}</Encrypt></xml>"
    query = (
        f"?signature={_plain_signature(timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
        f"&encrypt_type=aes&msg_signature={msg_signature or signature}"
    )
    return Client().post(WECHAT_URL + query, data=body, content_type="text/xml")


def _safe_mode(settings: Any) -> WeChatCrypto:
    settings.WECHAT_ENCODING_AES_KEY = AES_KEY
    return WeChatCrypto(TOKEN, AES_KEY, APP_ID)


WECHAT_CASES: dict[str, tuple[Callable[[Any], Any], str, int, str]] = {
    "forged signature": (
        lambda s: _post_plain(_text_push(), signature="0" * 40),
        Reason.BAD_SIGNATURE,
        403,
        "bad_signature",
    ),
    "forged URL verification": (
        lambda s: Client().get(WECHAT_URL + f"?signature={'0' * 40}&timestamp={_stamp()}&nonce=1&echostr=x"),
        Reason.BAD_SIGNATURE,
        403,
        "bad_signature",
    ),
    "plaintext while in safe mode": (
        lambda s: (_safe_mode(s), _post_plain(_text_push()))[1],
        Reason.BAD_SIGNATURE,
        403,
        "plaintext_refused",
    ),
    "forged msg_signature": (
        lambda s: _post_safe(_safe_mode(s), _text_push(), msg_signature="0" * 40),
        Reason.BAD_SIGNATURE,
        403,
        "bad_signature",
    ),
    "replayed push": (
        lambda s: _post_plain(_text_push(), timestamp=_stamp(301)),
        Reason.STALE_TIMESTAMP,
        403,
        "stale_timestamp",
    ),
    "replayed safe-mode push": (
        lambda s: _post_safe(_safe_mode(s), _text_push(), timestamp=_stamp(3600)),
        Reason.STALE_TIMESTAMP,
        403,
        "stale_timestamp",
    ),
    "not XML": (lambda s: _post_plain(b"not xml at all"), Reason.MALFORMED_BODY, 400, "not_xml"),
    "XML external entity": (
        lambda s: _post_plain(
            '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>'
        ),
        Reason.MALFORMED_BODY,
        400,
        "forbidden_xml",
    ),
    "fields missing": (
        lambda s: _post_plain(b"<xml><ToUserName>gh_1</ToUserName></xml>"),
        Reason.MALFORMED_BODY,
        400,
        "missing_field",
    ),
    "envelope without Encrypt": (
        lambda s: (
            _safe_mode(s),
            Client().post(
                WECHAT_URL + f"?timestamp={_stamp()}&nonce=5&encrypt_type=aes",
                data="<xml><Nope/></xml>",
                content_type="text/xml",
            ),
        )[1],
        Reason.MALFORMED_BODY,
        400,
        "bad_envelope",
    ),
    "oversized": (lambda s: _post_plain(_text_push("长" * 30_000)), Reason.OVERSIZED, 413, "too_large"),
    "another account's push": (
        lambda s: (setattr(s, "WECHAT_ACCOUNT_ID", "gh_0000000000ab"), _post_plain(_text_push()))[1],
        Reason.UNKNOWN_ACCOUNT,
        403,
        "unknown_account",
    ),
    "encrypted for another AppID": (
        lambda s: (_safe_mode(s), _post_safe(WeChatCrypto(TOKEN, AES_KEY, "wx0another0app"), _text_push()))[
            1
        ],
        Reason.UNKNOWN_ACCOUNT,
        403,
        "bad_app_id",
    ),
}


@pytest.mark.parametrize("case", list(WECHAT_CASES))
def test_a_refused_wechat_push_is_answered_recorded_once_and_logged_and_stores_nothing_else(
    wechat: Any, caplog: Any, case: str
) -> None:
    # given the WeChat channel and nothing stored yet
    send, reason, status, code = WECHAT_CASES[case]
    before = stored()

    # when the bad push arrives
    answer = send(wechat)

    # then it is refused with its status, recorded once, logged, and nothing else is stored
    assert answer.status_code == status
    assert answer.content == b""  # WeChat reads no error body
    row = the_one_rejection(caplog, channel="wechat", reason=reason, status=status, code=code)
    assert row.remote_addr == "127.0.0.1"
    assert stored() == before


def test_an_oversized_wechat_push_is_recorded_by_its_announced_size_without_being_read(
    wechat: Any, caplog: Any
) -> None:
    body = _text_push("长" * 30_000).encode()

    _post_plain(body)

    row = the_one_rejection(caplog, channel="wechat", reason=Reason.OVERSIZED, status=413, code="too_large")
    assert (row.body_bytes, row.body_sha256, row.excerpt) == (len(body), "", "")


def test_a_malformed_push_keeps_its_digest_and_a_masked_excerpt_without_personal_data(
    wechat: Any, caplog: Any
) -> None:
    # given a push cut off in the middle: a follower's openid, a name and a mobile in it
    body = f"<xml><FromUserName>{OPENID}</FromUserName><Content>张老板 {MOBILE}".encode()

    # when it arrives
    assert _post_plain(body).status_code == 400

    # then its size and digest are kept, and an excerpt that shows its shape only
    row = the_one_rejection(
        caplog, channel="wechat", reason=Reason.MALFORMED_BODY, status=400, code="not_xml"
    )
    assert (row.body_bytes, row.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert row.excerpt.startswith("<xml><FromUserName>")
    for personal in (OPENID, MOBILE, "张老板", "5678"):
        assert personal not in row.excerpt
        assert personal not in caplog.text


def test_a_signature_refusal_keeps_no_excerpt(wechat: Any, caplog: Any) -> None:
    _post_plain(_text_push(f"我的电话 {MOBILE}"), signature="0" * 40)

    assert RejectedInbound.objects.get().excerpt == ""


def test_a_push_to_our_own_account_is_taken_when_the_account_is_configured(wechat: Any) -> None:
    wechat.WECHAT_ACCOUNT_ID = ACCOUNT

    answer = _post_plain(_text_push())

    assert answer.status_code == 200
    assert not RejectedInbound.objects.exists()
    assert InboundMessage.objects.count() == 1


# --- SMS (up-link and delivery receipts) -------------------------------------------------------

SMS_SECRET = "secret-shared-with-the-signing-proxy"
SMS_URLS = {"up": "/channels/sms/aliyun/up", "report": "/channels/sms/aliyun/report"}


@pytest.fixture
def sms(settings: Any) -> Any:
    settings.SMS_CALLBACK_SECRET = SMS_SECRET
    return settings


def _sms_items(push: str) -> list[dict[str, Any]]:
    if push == "up":
        return [
            {
                "phone_number": MOBILE,
                "send_time": "2026-11-23 09:59:00",
                "content": "刷卡机坏了",
                "sign_name": "杭州收单服务",
                "dest_code": "1234",
                "sequence_id": 1234567890,
            }
        ]
    return [
        {
            "phone_number": MOBILE,
            "send_time": "2026-11-23 10:00:00",
            "report_time": "2026-11-23 10:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": "900619746936498^0",
            "out_id": "",
        }
    ]


def _signed(body: bytes, *, seconds_ago: int = 0, secret: str = SMS_SECRET) -> dict[str, str]:
    stamp = str(int(timezone.now().timestamp()) - seconds_ago)
    return {"X-Posdesk-Timestamp": stamp, "X-Posdesk-Signature": callback_signature(secret, stamp, body)}


def _good(push: str) -> bytes:
    return json.dumps(_sms_items(push), ensure_ascii=False).encode()


# case → (body for the push, headers for the body, reason, status, code)
SMS_CASES: dict[str, tuple[Callable[[str], bytes], Callable[[bytes], dict[str, str]], str, int, str]] = {
    "forged signature": (
        _good,
        lambda b: _signed(b, secret="a-guess"),
        Reason.BAD_SIGNATURE,
        403,
        "bad_signature",
    ),
    "unsigned": (_good, lambda b: {}, Reason.BAD_SIGNATURE, 403, "missing_signature"),
    "no timestamp": (
        _good,
        lambda b: {"X-Posdesk-Signature": _signed(b)["X-Posdesk-Signature"]},
        Reason.BAD_SIGNATURE,
        403,
        "missing_timestamp",
    ),
    "replayed": (
        _good,
        lambda b: _signed(b, seconds_ago=600),
        Reason.STALE_TIMESTAMP,
        403,
        "stale_timestamp",
    ),
    "not JSON": (lambda p: b"[{not json", _signed, Reason.MALFORMED_BODY, 400, "malformed_json"),
    "not a list": (lambda p: b'{"content": "TD"}', _signed, Reason.MALFORMED_BODY, 400, "not_a_list"),
    "malformed item": (
        lambda p: json.dumps([*_sms_items(p), {"phone_number": MOBILE}]).encode(),
        _signed,
        Reason.MALFORMED_BODY,
        400,
        "malformed_item",
    ),
    "oversized": (
        lambda p: b"[" + b" " * MAX_CALLBACK_BYTES + b"]",
        _signed,
        Reason.OVERSIZED,
        413,
        "body_too_large",
    ),
}


@pytest.mark.parametrize("push", list(SMS_URLS))
@pytest.mark.parametrize("case", list(SMS_CASES))
def test_a_refused_sms_push_is_answered_recorded_once_and_logged_and_stores_nothing_else(
    sms: Any, caplog: Any, push: str, case: str
) -> None:
    # given the SMS webhooks and nothing stored yet
    body_for, headers_for, reason, status, code = SMS_CASES[case]
    body = body_for(push)
    before = stored()

    # when the bad push arrives
    answer = Client().post(
        SMS_URLS[push], data=body, content_type="application/json", headers=headers_for(body)
    )

    # then it is refused in the error shape, recorded once, logged, and nothing else is stored
    assert answer.status_code == status
    assert set(answer.json()) == {"code", "message", "detail"}
    assert answer.json()["code"] == code
    row = the_one_rejection(caplog, channel="sms", reason=reason, status=status, code=code)
    assert row.body_bytes == len(body)
    assert stored() == before


def test_an_sms_refusal_says_why_in_chinese_and_in_english_on_request(sms: Any) -> None:
    body = _good("up")
    headers = _signed(body, secret="a-guess")

    chinese = Client().post(SMS_URLS["up"], data=body, content_type="application/json", headers=headers)
    english = Client().post(
        SMS_URLS["up"],
        data=body,
        content_type="application/json",
        headers={**headers, "Accept-Language": "en"},
    )

    assert chinese.json() == {"code": "bad_signature", "message": "请求未签名，或签名不符。", "detail": None}
    assert english.json()["message"] == "The call is not signed, or its signature does not match."
    assert RejectedInbound.objects.count() == 2


def test_a_malformed_sms_item_is_named_in_the_detail(sms: Any) -> None:
    body = json.dumps([*_sms_items("up"), {"phone_number": MOBILE}]).encode()

    answer = Client().post(SMS_URLS["up"], data=body, content_type="application/json", headers=_signed(body))

    assert answer.json()["detail"] == {"item": 1}
    row = RejectedInbound.objects.get()
    assert MOBILE not in row.excerpt and row.excerpt.startswith('[{"phone_number": "###########"')


def test_an_oversized_sms_push_is_never_read(sms: Any) -> None:
    body = b"[" + b" " * MAX_CALLBACK_BYTES + b"]"

    Client().post(SMS_URLS["report"], data=body, content_type="application/json", headers=_signed(body))

    row = RejectedInbound.objects.get()
    assert (row.body_bytes, row.body_sha256, row.excerpt) == (len(body), "", "")


# --- phone (the call centre's webhook) -----------------------------------------------------------

PHONE_URL = "/channels/phone/events"
PHONE_SECRET = "call-centre-shared-secret"


@pytest.fixture
def phone(settings: Any) -> Any:
    settings.PHONE_WEBHOOK_SECRET = PHONE_SECRET
    return settings


def _call_event(**changes: Any) -> bytes:
    event = {
        "call_id": "CC-1001",
        "event": "missed",
        "caller": MOBILE,
        "callee": "4008200000",
        "at": timezone.now().isoformat(),
        **changes,
    }
    return json.dumps(event).encode()


def _phone_signed(body: bytes, *, seconds_ago: int = 0, secret: str = PHONE_SECRET) -> dict[str, str]:
    return _signed(body, seconds_ago=seconds_ago, secret=secret)


PHONE_CASES: dict[str, tuple[bytes, Callable[[bytes], dict[str, str]], str, int, str]] = {
    "forged signature": (
        _call_event(),
        lambda b: {**_phone_signed(b), "X-Posdesk-Signature": "f" * 64},
        Reason.BAD_SIGNATURE,
        403,
        "bad_signature",
    ),
    "another secret": (
        _call_event(),
        lambda b: _phone_signed(b, secret="not-ours"),
        Reason.BAD_SIGNATURE,
        403,
        "bad_signature",
    ),
    "unsigned": (_call_event(), lambda b: {}, Reason.BAD_SIGNATURE, 403, "missing_signature"),
    "replayed": (
        _call_event(),
        lambda b: _phone_signed(b, seconds_ago=600),
        Reason.STALE_TIMESTAMP,
        403,
        "stale_timestamp",
    ),
    "not JSON": (b"{not json", _phone_signed, Reason.MALFORMED_BODY, 400, "malformed_json"),
    "unknown event": (
        _call_event(event="hung_up"),
        _phone_signed,
        Reason.MALFORMED_BODY,
        400,
        "malformed_event",
    ),
    "caller not a number": (
        _call_event(caller="not a number"),
        _phone_signed,
        Reason.MALFORMED_BODY,
        400,
        "invalid_caller",
    ),
    "oversized": (
        b'{"pad": "' + b"x" * MAX_CALLBACK_BYTES + b'"}',
        _phone_signed,
        Reason.OVERSIZED,
        413,
        "body_too_large",
    ),
}


@pytest.mark.parametrize("case", list(PHONE_CASES))
def test_a_refused_call_event_is_answered_recorded_once_and_logged_and_stores_nothing_else(
    phone: Any, caplog: Any, case: str
) -> None:
    # given the call centre's webhook and nothing stored yet
    body, headers_for, reason, status, code = PHONE_CASES[case]
    before = stored()

    # when the bad event arrives
    answer = Client().post(PHONE_URL, data=body, content_type="application/json", headers=headers_for(body))

    # then it is refused in the error shape, recorded once, logged, and nothing else is stored
    assert answer.status_code == status
    assert set(answer.json()) == {"code", "message", "detail"}
    assert answer.json()["code"] == code
    the_one_rejection(caplog, channel="phone", reason=reason, status=status, code=code)
    assert stored() == before
    assert MOBILE not in caplog.text


def test_an_oversized_call_event_is_refused_before_it_is_read(phone: Any) -> None:
    body = b'{"pad": "' + b"x" * MAX_CALLBACK_BYTES + b'"}'

    Client().post(PHONE_URL, data=body, content_type="application/json", headers=_phone_signed(body))

    row = RejectedInbound.objects.get()
    assert (row.body_bytes, row.body_sha256) == (len(body), "")


def test_a_malformed_call_event_names_the_fields_in_the_detail(phone: Any) -> None:
    body = _call_event(event="hung_up")

    answer = Client().post(PHONE_URL, data=body, content_type="application/json", headers=_phone_signed(body))

    assert answer.json()["detail"] == {"fields": ["event"]}
    assert answer.json()["message"] == "请求内容的格式不正确。"


def test_a_good_call_event_records_no_rejection(phone: Any, world: Any) -> None:
    body = _call_event()

    answer = Client().post(PHONE_URL, data=body, content_type="application/json", headers=_phone_signed(body))

    assert answer.status_code == 200
    assert not RejectedInbound.objects.exists()
    assert CallRecord.objects.count() == 1


# --- e-mail (the support mailbox) ---------------------------------------------------------------

OUR_ADDRESS = "support@posdesk.test"


@pytest.fixture
def imap(settings: Any) -> Iterator[ImapServer]:
    with imap_server(user=OUR_ADDRESS) as server:
        settings.IMAP_HOST, settings.IMAP_PORT, settings.IMAP_SSL = server.host, server.port, False
        settings.IMAP_USER, settings.IMAP_PASSWORD, settings.IMAP_FOLDER = (
            server.user,
            server.password,
            "INBOX",
        )
        settings.DEFAULT_FROM_EMAIL = f"posdesk <{OUR_ADDRESS}>"
        yield server


def _mail(message_id: str, body: str = "终端 N7NL00000001 无法联网，请处理。") -> bytes:
    message = EmailMessage()
    message["From"] = "李明 <li.ming@163.com>"
    message["To"] = OUR_ADDRESS
    message["Subject"] = "终端无法联网"
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(body)
    return message.as_bytes()


def _unseen(imap: ImapServer) -> int:
    with MailBoxUnencrypted(imap.host, imap.port).login(imap.user, imap.password) as box:
        return len(box.uids("UNSEEN", charset=None))


def test_a_message_that_is_not_mime_is_refused_recorded_once_and_the_mail_beside_it_still_lands(
    imap: ImapServer, caplog: Any
) -> None:
    # given bytes that are no e-mail at all, with a merchant's mobile in them, beside a real mail
    garbage = f"\x01\x02 not a message: call {MOBILE}\r\n\r\n".encode()
    imap.deliver(garbage)
    imap.deliver(_mail("real@163.com"))

    # when the mailbox is fetched
    new = mail_fetch()

    # then the real mail is stored, the other refused, recorded once and logged, and both are seen
    assert new == 1
    assert list(InboundMessage.objects.values_list("provider_id", flat=True)) == ["real@163.com"]
    row = the_one_rejection(
        caplog, channel="email", reason=Reason.MALFORMED_BODY, status=None, code="not_mime"
    )
    assert (row.body_bytes, row.body_sha256, row.remote_addr) == (
        len(garbage),
        hashlib.sha256(garbage).hexdigest(),
        None,
    )
    assert MOBILE not in row.excerpt
    assert _unseen(imap) == 0

    # and the next fetch does not refuse it again
    assert mail_fetch() == 0
    assert RejectedInbound.objects.count() == 1


def test_an_oversized_mail_is_refused_without_being_downloaded(
    imap: ImapServer, caplog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a mailbox limit of 4 KiB, a mail over it and one within it
    monkeypatch.setattr(inbox, "MAX_MAIL_BYTES", 4096)
    big = _mail("big@163.com", body="很长的描述" * 600)
    imap.deliver(big)
    imap.deliver(_mail("small@163.com"))
    downloaded: list[bytes] = []
    real_is_mime = inbox.is_mime_message
    monkeypatch.setattr(inbox, "is_mime_message", lambda raw: downloaded.append(raw) or real_is_mime(raw))
    before = Ticket.objects.count()

    # when the mailbox is fetched
    assert mail_fetch() == 1

    # then the big one was never downloaded, only recorded by its size; the small one became a ticket
    assert len(downloaded) == 1 and b"small@163.com" in downloaded[0]
    row = the_one_rejection(
        caplog, channel="email", reason=Reason.OVERSIZED, status=None, code="mail_too_large"
    )
    assert row.body_bytes > 4096 and row.body_sha256 == ""
    assert list(InboundMessage.objects.values_list("provider_id", flat=True)) == ["small@163.com"]
    assert Ticket.objects.count() == before + 1
    assert _unseen(imap) == 0


@pytest.mark.parametrize(
    ("raw", "mime"),
    [
        (b"", False),
        (b"not an email at all\n\nfoo", False),
        (b"\xff\xfe\x00garbage", False),
        (b'{"json": 1}', False),
        (b"<html><body>hi</body></html>", False),
        (b"Subject: \xb2\xe2\xca\xd4\n\nGBK body without a From", True),
        (b"From: a@b.c\r\n", True),
    ],
)
def test_only_bytes_with_a_mail_header_are_taken_as_a_message(raw: bytes, mime: bool) -> None:
    assert is_mime_message(raw) is mime


# --- the record itself ---------------------------------------------------------------------------


def test_the_excerpt_shows_the_shape_and_hides_numbers_chinese_addresses_and_openids() -> None:
    body = f'[{{"phone_number": "{MOBILE}", "content": "张老板 刷卡", "mail": "li.ming@163.com", "id": "{OPENID}"}}]'

    excerpt = mask_excerpt(body.encode(), limit=200)

    assert (
        excerpt
        == '[{"phone_number": "###########", "content": "*** **", "mail": "l***@###.com", "id": "oyO…"}]'
    )


def test_recording_a_rejection_never_fails_the_answer(
    db: Any, caplog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database that refuses the row
    def refuse(**_fields: Any) -> RejectedInbound:
        raise RuntimeError("database went away")

    monkeypatch.setattr(RejectedInbound.objects, "create", refuse)

    # when a rejection is recorded
    row = inbound_rejection_record(
        channel="sms",
        reason=Reason.BAD_SIGNATURE,
        code="bad_signature",
        status=403,
        body=b"[]",
        remote_addr="203.0.113.7",
    )

    # then nothing is raised, and the log tells both the rejection and the failure
    assert row is None
    messages = [r.getMessage() for r in caplog.records]
    assert "inbound call rejected" in messages and "rejected inbound call not recorded" in messages


def test_a_flood_records_a_bounded_number_of_rows_a_minute_and_logs_every_call(
    db: Any, caplog: Any, monkeypatch: pytest.MonkeyPatch, time_machine: Any
) -> None:
    # given room for three rows a minute
    monkeypatch.setattr(services, "REJECTIONS_RECORDED_PER_MINUTE", 3)

    def knock() -> RejectedInbound | None:
        return inbound_rejection_record(
            channel="wechat", reason=Reason.BAD_SIGNATURE, code="bad_signature", status=403, body=b"<xml/>"
        )

    # when five forged calls arrive in one minute, then one the next minute
    for _ in range(5):
        knock()
    rows_in_the_first_minute = RejectedInbound.objects.count()
    time_machine.shift(timedelta(minutes=1))
    knock()

    # then three rows, then one more; every call was logged
    assert rows_in_the_first_minute == 3
    assert RejectedInbound.objects.count() == 4
    assert [r.getMessage() for r in caplog.records].count("inbound call rejected") == 6


def test_a_remote_address_that_is_not_an_ip_is_left_empty(db: Any) -> None:
    row = inbound_rejection_record(
        channel="phone",
        reason=Reason.MALFORMED_BODY,
        code="malformed_json",
        status=400,
        body=b"{",
        remote_addr="unix-socket",
    )

    assert row is not None and row.remote_addr is None


def test_the_purge_forgets_rejections_older_than_the_retention(db: Any, settings: Any) -> None:
    # given rejections of 31, 29 and 0 days ago, and a retention of 30 days
    settings.REJECTED_INBOUND_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (31, 31, 29, 0):
        RejectedInbound.objects.create(
            channel="sms", reason=Reason.BAD_SIGNATURE, status=403, received_at=now - timedelta(days=days)
        )

    # when the purge runs, a batch of one row at a time
    purged = inbound_rejection_purge(batch=1)

    # then the two older than 30 days are gone
    assert purged == 2
    assert sorted((now - r).days for r in RejectedInbound.objects.values_list("received_at", flat=True)) == [
        0,
        29,
    ]


def test_the_purge_job_is_scheduled_and_uses_the_retention_setting(db: Any, settings: Any) -> None:
    settings.REJECTED_INBOUND_RETENTION_DAYS = 7
    RejectedInbound.objects.create(
        channel="wechat", reason=Reason.OVERSIZED, status=413, received_at=timezone.now() - timedelta(days=8)
    )

    assert rejected_inbound_purge_task() == 1
    schedule = django_settings.CELERY_BEAT_SCHEDULE["rejected-inbound-purge"]
    assert schedule["task"] == rejected_inbound_purge_task.name


# --- the admin: administrators only, read-only ----------------------------------------------------

CHANGELIST = "/admin/channels/rejectedinbound/"


@pytest.fixture
def rejections(db: Any) -> list[RejectedInbound]:
    now = timezone.now()
    return [
        RejectedInbound.objects.create(
            channel=channel,
            reason=reason,
            status=status,
            code=reason,
            remote_addr="203.0.113.7",
            received_at=now - timedelta(minutes=i),
        )
        for i, (channel, reason, status) in enumerate(
            [
                ("wechat", Reason.BAD_SIGNATURE, 403),
                ("sms", Reason.MALFORMED_BODY, 400),
                ("phone", Reason.OVERSIZED, 413),
            ]
            * 10
        )
    ]


def test_an_administrator_reads_the_rejections_and_filters_them_by_channel_and_reason(
    world: Any, rejections: list[RejectedInbound], django_assert_max_num_queries: Any
) -> None:
    client = Client()
    client.force_login(world.admin)

    with django_assert_max_num_queries(12):
        everything = client.get(CHANGELIST)
    filtered = client.get(CHANGELIST, {"channel__exact": "sms", "reason__exact": "malformed_body"})

    assert everything.status_code == 200
    assert filtered.status_code == 200
    shown = list(filtered.context["cl"].result_list)
    assert len(shown) == 10 and {(r.channel, r.reason) for r in shown} == {("sms", "malformed_body")}


def test_an_administrator_can_neither_add_change_nor_delete_a_rejection(
    world: Any, rejections: list[RejectedInbound]
) -> None:
    client = Client()
    client.force_login(world.admin)
    row = rejections[0]

    detail = client.get(f"{CHANGELIST}{row.pk}/change/")
    changed = client.post(f"{CHANGELIST}{row.pk}/change/", {"reason": "oversized"})

    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert changed.status_code == 403
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RejectedInbound.objects.filter(pk=row.pk, reason=row.reason).exists()


@pytest.mark.parametrize("role", ["merchant", "agent", "technician", "vendor", "supervisor"])
def test_no_other_role_reads_the_rejections(world: Any, rejections: list[RejectedInbound], role: str) -> None:
    client = Client()
    client.force_login(world.users[role])

    answer = client.get(CHANGELIST)

    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


def test_a_supervisor_let_into_the_admin_still_does_not_read_the_rejections(
    world: Any, rejections: list[RejectedInbound]
) -> None:
    # given a supervisor made staff, with every permission on the model
    from django.contrib.auth.models import Permission

    world.supervisor.is_staff = True
    world.supervisor.save(update_fields=["is_staff"])
    world.supervisor.user_permissions.set(Permission.objects.filter(codename__endswith="rejectedinbound"))
    client = Client()
    client.force_login(world.supervisor)

    # when they open the list, then it is forbidden, and the admin index does not list it
    assert client.get(CHANGELIST).status_code == 403
    assert b"rejectedinbound" not in client.get("/admin/").content
