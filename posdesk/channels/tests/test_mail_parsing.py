"""parse_mail against a corpus of mail as it reaches the support mailbox: Chinese merchants on GBK
clients, Foxmail / QQ Mail / Outlook replies, HTML-only mail, attachments, auto-replies, bounces
and broken headers. Pure: no database."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posdesk.channels.mail.parsing import (
    InboundMail,
    MailAttachment,
    build_reply_headers,
    decode_header_text,
    html_to_text,
    new_message_id,
    normalise_message_id,
    parse_mail,
    reply_text_of,
    ticket_number_in,
)

SHANGHAI = timezone(timedelta(hours=8))

# --- the corpus ---------------------------------------------------------------------------

# Foxmail on a shop PC: everything labelled GB2312, but 喆 exists only in GBK.
GBK_MERCHANT_MAIL = b"""Return-Path: <Li.Ming@163.com>
Received: from pc-zheji (unknown [112.10.1.2]) by mx.163.com; Mon, 23 Nov 2026 09:15:02 +0800
Date: Mon, 23 Nov 2026 09:15:00 +0800
From: "=?GBK?B?wO7D9w==?=" <Li.Ming@163.COM>
To: "posdesk" <Support@posdesk.test>
Cc: boss@zheji.example
Subject: =?GB2312?B?UE9Tu/rLor+oyqew3CDTprTwwutBMCChqiCGtLzH0KGz1A==?=
Message-ID: <202611230915001234567@163.com>
X-Mailer: Foxmail 7.2.25.228[cn]
Mime-Version: 1.0
Content-Type: text/plain;
\tcharset="gb2312"
Content-Transfer-Encoding: base64

xPq6w6OsztLDx7XqtcRQT1O7+qOoU046IE45MTBBMTIzNDU2N6OpvfHM7MnPzue/qsq8y6K/qNK7
1rHM4cq+06a08MLrQTCjrMfrvqG/7LSmwO2how0KDQqGtLzH0KGz1CDA7sP3DQoxMzgxMjM0NTY3
OA0K
"""

FOXMAIL_REPLY = b"""Date: Mon, 23 Nov 2026 10:20:00 +0800
From: =?gb2312?B?wO7D9w==?= <li.ming@163.com>
To: support@posdesk.test
Subject: =?utf-8?B?UmU6IFtUMjYxMTIzMzg1Ml0gUE9T5py65Yi35Y2h5aSx6LSl?=
Message-ID: <202611231020000000001@163.com>
In-Reply-To: <posdesk.1.T2611233852@posdesk.test>
References: <202611230915001234567@163.com>
 <posdesk.1.T2611233852@posdesk.test>
X-Mailer: Foxmail 7.2.25.228[cn]
Content-Type: text/plain; charset="GBK"
Content-Transfer-Encoding: 8bit

""" + """已经重启过了，还是不行。

商户：喆记小吃
 
From: posdesk客服
Date: 2026-11-23 10:02
To: 李明
Subject: [T2611233852] POS机刷卡失败
您好，请先重启终端再试。
""".encode("gbk")

QQ_MAIL_REPLY = (
    b"""From: "=?utf-8?B?5p2O5piO?=" <12345678@qq.com>
To: "support" <support@posdesk.test>
Subject: =?utf-8?B?5Zue5aSN77yaW1QyNjExMjMzODUyXSBQT1PmnLrliLfljaHlpLHotKU=?=
Mime-Version: 1.0
Content-Type: multipart/alternative;
\tboundary="----=_NextPart_6540A0B1_0A2B3C4D_5E6F7A8B"
Content-Transfer-Encoding: 8Bit
Date: Mon, 23 Nov 2026 10:31:12 +0800
X-Priority: 3
Message-ID: <tencent_0A1B2C3D4E5F@qq.com>
X-QQ-MIME: TCMime 1.0 by Tencent
In-Reply-To: <posdesk.1.T2611233852@posdesk.test>

This is a multi-part message in MIME format.

------=_NextPart_6540A0B1_0A2B3C4D_5E6F7A8B
Content-Type: text/plain;
\tcharset="utf-8"
Content-Transfer-Encoding: 8bit

"""
    + """重启后可以刷卡了，谢谢！



------------------&nbsp;原始邮件&nbsp;------------------
发件人: "posdesk客服"<support@posdesk.test>;
发送时间: 2026年11月23日(星期一) 上午10:02
收件人: "李明"<12345678@qq.com>;
主题: [T2611233852] POS机刷卡失败

您好，请先重启终端再试。
""".encode()
    + b"""
------=_NextPart_6540A0B1_0A2B3C4D_5E6F7A8B
Content-Type: text/html;
\tcharset="utf-8"
Content-Transfer-Encoding: 8bit

"""
    + "<div>重启后可以刷卡了，谢谢！</div><div><br></div><div>原始邮件略</div>".encode()
    + b"""
------=_NextPart_6540A0B1_0A2B3C4D_5E6F7A8B--
"""
)

OUTLOOK_REPLY = b"""From: Wang Fang <Wang.Fang@example.com>
To: posdesk Support <support@posdesk.test>
Subject: RE: [T2611233852] Blank receipts
Date: Mon, 23 Nov 2026 02:40:00 +0000
Message-ID: <TY2PR01MB1234ABCD@TY2PR01MB1234.jpnprd01.prod.outlook.com>
References: <posdesk.1.T2611233852@posdesk.test>
In-Reply-To: <posdesk.1.T2611233852@posdesk.test>
Content-Type: multipart/alternative; boundary="_000_TY2PR01MB1234_"
MIME-Version: 1.0

--_000_TY2PR01MB1234_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

The terminal still prints blank receipts after the paper change.

Wang Fang

________________________________
From: posdesk Support <support@posdesk.test>
Sent: Monday, November 23, 2026 10:02 AM
To: Wang Fang <Wang.Fang@example.com>
Subject: [T2611233852] Blank receipts

Please check that the thermal side of the roll faces the print head.

--_000_TY2PR01MB1234_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><body><p>The terminal still prints blank receipts after the paper change.</p></body></html>

--_000_TY2PR01MB1234_--
"""

# An HTML-only mail from a web form, charset only in the <meta> tag, a quote in <blockquote>.
HTML_ONLY_MAIL = b"""From: noreply@shop-crm.example
Reply-To: Zhao Lei <zhao.lei@shop-crm.example>
To: support@posdesk.test
Subject: =?utf-8?B?44CQVDI2MTEyMzM4NTLjgJHnu4jnq6/miZPljbDnqbrnmb0=?=
Date: Tue, 24 Nov 2026 08:00:00 +0800
Message-ID: <form-88231@shop-crm.example>
MIME-Version: 1.0
Content-Type: text/html
Content-Transfer-Encoding: 8bit

""" + """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>工单更新</title><style>p { color: red; }</style></head>
<body><script>alert("x")</script>
<p>终端&nbsp;SN：<b>N910A1234567</b></p>
<p>打印出来是空白的。<br>换了纸也一样。</p>
<table><tr><td>门店</td><td>喆记小吃</td></tr></table>
<div>在 2026年11月23日 10:02，posdesk客服 写道：</div>
<blockquote><p>请检查打印纸方向。</p></blockquote>
</body></html>
""".encode("gbk")

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"

MAIL_WITH_ATTACHMENTS = (
    b"""From: Li Ming <li.ming@163.com>
To: support@posdesk.test
Subject: =?GBK?B?ucrVz9XVxqwuanBn?=
Date: Mon, 23 Nov 2026 11:00:00 +0800
Message-ID: <att-1@163.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-boundary"

--mixed-boundary
Content-Type: multipart/related; boundary="related-boundary"

--related-boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

"""
    + base64.encodebytes("照片和发票见附件。".encode())
    + b"""
--related-boundary
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-ID: <logo@163.com>
Content-Disposition: inline

"""
    + base64.encodebytes(PNG_BYTES)
    + b"""
--related-boundary--

--mixed-boundary
Content-Type: image/jpeg; name="=?GBK?B?ucrVz9XVxqwuanBn?="
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="=?GBK?B?ucrVz9XVxqwuanBn?="

"""
    + base64.encodebytes(JPEG_BYTES)
    + b"""
--mixed-boundary
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf

"""
    + base64.encodebytes(PDF_BYTES)
    + b"""
--mixed-boundary
Content-Type: image/png
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
 filename*0*=gbk''%B9%CA%D5%CF;
 filename*1*=%CD%BC.png

"""
    + base64.encodebytes(PNG_BYTES)
    + b"""
--mixed-boundary
Content-Type: text/plain; charset=utf-8; name="log.txt"
Content-Disposition: attachment; filename="C:\\\\Users\\\\shop\\\\log.txt"

TRANS 0001 A0
--mixed-boundary--
"""
)

DSN_BOUNCE = b"""Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.posdesk.test>
To: support@posdesk.test
Subject: Undelivered Mail Returned to Sender
Date: Mon, 23 Nov 2026 10:05:00 +0800
Message-ID: <20261123020500.AB12@mx.posdesk.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="AB12.1700000000/mx.posdesk.test"

--AB12.1700000000/mx.posdesk.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.posdesk.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@closed-shop.example>: host mx.closed-shop.example said: 550 5.1.1 User unknown

--AB12.1700000000/mx.posdesk.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.posdesk.test

Final-Recipient: rfc822; nobody@closed-shop.example
Action: failed
Status: 5.1.1

--AB12.1700000000/mx.posdesk.test
Content-Description: Undelivered Message
Content-Type: message/rfc822

From: support@posdesk.test
To: nobody@closed-shop.example
Subject: [T2611233852] Your ticket
Message-ID: <posdesk.1.T2611233852@posdesk.test>

Our original text that must not become the body.

--AB12.1700000000/mx.posdesk.test--
"""

MAILER_DAEMON_PLAIN = b"""From: MAILER-DAEMON@qq.com
To: support@posdesk.test
Subject: =?utf-8?B?6YCA5L+h?=
Date: Mon, 23 Nov 2026 10:05:00 +0800
Content-Type: text/plain; charset=utf-8

The mailbox is full.
"""

# Everything a careless client or a spam tool gets wrong at once.
MALFORMED_MAIL = (
    b"""Subject: """
    + "终端坏了 [T2611233852]".encode("gbk")  # raw 8-bit header, no encoded word
    + b"""
From: "unterminated <broken@@example..com
To: ;;;, <>, "=?x-unknown-charset?B?5p2O5piO?=" <Someone@Example.com>
Date: Yesterday at lunch
Message-ID: no-brackets-here@example.com
References: garbage <good-id@example.com> <
In-Reply-To:
X-Broken: =?GBK?B?***?=
Content-Type: text/plain; charset="gb2312
Content-Transfer-Encoding: base64

"""
    + base64.encodebytes("付款后小票打不出来".encode("gbk"))[:-3]
    + b"!!\n"
)


def _auto_reply(extra_header: str, subject: str = "Re: [T2611233852] POS") -> bytes:
    return (
        f"From: li.ming@163.com\nTo: support@posdesk.test\nSubject: {subject}\n{extra_header}\n"
        "Content-Type: text/plain; charset=utf-8\n\nI am on holiday until Monday.\n"
    ).encode()


# --- merchants' mail ----------------------------------------------------------------------


def test_a_gbk_mail_labelled_gb2312_is_decoded_without_mojibake() -> None:
    # given a Foxmail message whose GB2312 label hides a GBK-only character (喆)
    # when it is parsed
    mail = parse_mail(GBK_MERCHANT_MAIL)

    # then subject, sender and body read as the merchant wrote them
    assert mail.subject == "POS机刷卡失败 应答码A0 — 喆记小吃"
    assert mail.from_name == "李明"
    assert mail.from_address == "li.ming@163.com"
    assert mail.to_addresses == ["support@posdesk.test"]
    assert mail.cc_addresses == ["boss@zheji.example"]
    assert mail.message_id == "202611230915001234567@163.com"
    assert mail.date == datetime(2026, 11, 23, 9, 15, tzinfo=SHANGHAI)
    assert mail.body_text == (
        "您好，我们店的POS机（SN: N910A1234567）今天上午开始刷卡一直提示应答码A0，请尽快处理。\n\n"
        "喆记小吃 李明\n13812345678"
    )
    assert mail.reply_text == mail.body_text
    assert mail.ticket_number == ""
    assert (mail.is_auto, mail.is_bounce) == (False, False)
    assert mail.attachments == []
    assert mail.thread_ids == []


def test_a_foxmail_reply_keeps_only_the_new_words_and_its_thread() -> None:
    # given a Foxmail reply with the From:/Date:/To:/Subject: block of the quoted message
    # when it is parsed
    mail = parse_mail(FOXMAIL_REPLY)

    # then the ticket is found from the subject and the history is trimmed
    assert mail.subject == "Re: [T2611233852] POS机刷卡失败"
    assert mail.ticket_number == "T2611233852"
    assert mail.reply_text == "已经重启过了，还是不行。\n\n商户：喆记小吃"
    assert "请先重启终端再试" in mail.body_text
    assert mail.in_reply_to == "posdesk.1.T2611233852@posdesk.test"
    assert mail.references == ["202611230915001234567@163.com", "posdesk.1.T2611233852@posdesk.test"]
    assert mail.thread_ids == ["posdesk.1.T2611233852@posdesk.test", "202611230915001234567@163.com"]


def test_a_qq_mail_reply_prefers_the_plain_part_and_drops_the_original() -> None:
    # given a QQ Mail reply (plain + HTML alternative, "原始邮件" separator with literal &nbsp;)
    # when it is parsed
    mail = parse_mail(QQ_MAIL_REPLY)

    # then the plain part is the body and only the new sentence is the reply
    assert mail.subject == "回复：[T2611233852] POS机刷卡失败"
    assert mail.ticket_number == "T2611233852"
    assert mail.from_name == "李明"
    assert mail.from_address == "12345678@qq.com"
    assert mail.body_text.startswith("重启后可以刷卡了，谢谢！\n\n------------------&nbsp;原始邮件")
    assert "原始邮件略" not in mail.body_text  # the HTML alternative is not appended
    assert mail.reply_text == "重启后可以刷卡了，谢谢！"
    assert mail.attachments == []


def test_an_outlook_reply_is_cut_at_its_rule_and_header_block() -> None:
    # given an Outlook reply in UTC with the "____" rule above From:/Sent:/To:/Subject:
    # when it is parsed
    mail = parse_mail(OUTLOOK_REPLY)

    # then the date stays aware, the address is lower-cased and the history is gone
    assert mail.date == datetime(2026, 11, 23, 10, 40, tzinfo=SHANGHAI)
    assert mail.date.utcoffset() == timedelta(0)
    assert mail.from_address == "wang.fang@example.com"
    assert mail.from_name == "Wang Fang"
    assert mail.ticket_number == "T2611233852"
    assert mail.reply_text == "The terminal still prints blank receipts after the paper change.\n\nWang Fang"
    assert "thermal side" in mail.body_text


def test_an_html_only_mail_becomes_text_with_its_quote_marked() -> None:
    # given an HTML-only mail whose charset is declared only in <meta>, with a <blockquote> quote
    # when it is parsed
    mail = parse_mail(HTML_ONLY_MAIL)

    # then scripts, styles and the title are gone, blocks are lines, the quote is history
    assert mail.body_text.splitlines() == [
        "终端 SN：N910A1234567",
        "",
        "打印出来是空白的。",
        "换了纸也一样。",
        "",
        "门店 喆记小吃",
        "",
        "在 2026年11月23日 10:02，posdesk客服 写道：",
        "",
        "> 请检查打印纸方向。",
    ]
    assert mail.reply_text == "终端 SN：N910A1234567\n\n打印出来是空白的。\n换了纸也一样。\n\n门店 喆记小吃"
    assert mail.ticket_number == "T2611233852"
    assert mail.from_address == "noreply@shop-crm.example"
    assert mail.reply_to_address == "zhao.lei@shop-crm.example"


def test_html_that_the_parser_cannot_follow_still_gives_its_text() -> None:
    # given markup that is broken in several ways
    html = "<p>终端<b>离线<!-- 未闭合注释 <p>第二段</p><![CDATA[x]]><p a='1\" b>"

    # when it is converted
    text = html_to_text(html)

    # then the readable words survive
    assert text.startswith("终端离线")


# --- attachments --------------------------------------------------------------------------


def test_attachments_keep_their_bytes_and_decoded_chinese_names() -> None:
    # given a mail with an inline image, an encoded-word name, RFC 2231 names (one continued, in
    # GBK) and a text attachment named with a Windows path
    # when it is parsed
    mail = parse_mail(MAIL_WITH_ATTACHMENTS)

    # then every attachment is there, in order, with its exact bytes; the body is only the text
    assert mail.body_text == "照片和发票见附件。"
    assert mail.attachments == [
        MailAttachment("attachment-1.png", "image/png", PNG_BYTES),
        MailAttachment("故障照片.jpg", "image/jpeg", JPEG_BYTES),
        MailAttachment("发票.pdf", "application/pdf", PDF_BYTES),
        MailAttachment("故障图.png", "image/png", PNG_BYTES),
        MailAttachment("log.txt", "text/plain", b"TRANS 0001 A0"),
    ]
    filename, content_type, data = mail.attachments[2]  # a plain tuple for callers that unpack
    assert (filename, content_type, data[:5]) == ("发票.pdf", "application/pdf", b"%PDF-")


# --- auto-replies and bounces ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        _auto_reply("Auto-Submitted: auto-replied"),
        _auto_reply("Auto-Submitted: auto-generated; owner-email=it@shop.example"),
        _auto_reply("X-Autoreply: yes"),
        _auto_reply("X-Autorespond: Out of office"),
        _auto_reply("Precedence: bulk"),
        _auto_reply("Precedence: junk"),
        _auto_reply("Precedence: list"),
        _auto_reply(
            "X-Mailer: QQMail", "=?utf-8?B?6Ieq5Yqo5Zue5aSNOiBbVDI2MTEyMzM4NTJdIFBPU+acuuWIt+WNoeWksei0pQ==?="
        ),
        _auto_reply("X-Mailer: Outlook", "Automatic reply: [T2611233852] POS"),
        _auto_reply("X-Mailer: Outlook", "=?gb2312?B?19S2r7TwuLQ6IFtUMjYxMTIzMzg1Ml0gtPLTob/VsNc=?="),
        _auto_reply("X-Mailer: Notes", "Out of Office: [T2611233852] POS"),
        _auto_reply("X-Mailer: Zimbra", "Auto Reply: holiday"),
        _auto_reply("X-Mailer: Gmail", "Re: 自动答复：休假中"),
    ],
)
def test_auto_replies_are_recognised(raw: bytes) -> None:
    assert parse_mail(raw).is_auto is True


@pytest.mark.parametrize(
    "raw",
    [
        _auto_reply("Auto-Submitted: no"),
        _auto_reply("Precedence: first-class"),
        _auto_reply("X-Mailer: Foxmail", "关于终端自动回复功能的问题"),
        _auto_reply("X-Mailer: Foxmail", "Re: [T2611233852] the office is out of paper rolls"),
        # "答复:" is Outlook's Chinese "RE:", not an auto-reply
        _auto_reply("X-Mailer: Outlook", "=?gb2312?B?tPC4tDogW1QyNjExMjMzODUyXSC08tOhv9Ww1w==?="),
    ],
)
def test_a_person_writing_is_not_taken_for_an_auto_reply(raw: bytes) -> None:
    assert parse_mail(raw).is_auto is False


def test_a_delivery_status_report_is_a_bounce_whose_body_is_the_notice() -> None:
    # given a Postfix DSN carrying our original message
    # when it is parsed
    mail = parse_mail(DSN_BOUNCE)

    # then it is a bounce; the notice is the body, the report and original are attachments
    assert mail.is_bounce is True
    assert mail.is_auto is True
    assert mail.body_text.startswith("This is the mail system at host mx.posdesk.test.")
    assert "must not become the body" not in mail.body_text
    assert [a.content_type for a in mail.attachments] == ["message/delivery-status", "message/rfc822"]
    assert [a.filename for a in mail.attachments] == ["attachment-1.bin", "attachment-2.eml"]
    assert b"Status: 5.1.1" in mail.attachments[0].data
    original = parse_mail(mail.attachments[1].data)
    assert original.message_id == "posdesk.1.T2611233852@posdesk.test"
    assert original.ticket_number == "T2611233852"


@pytest.mark.parametrize(
    "raw",
    [
        MAILER_DAEMON_PLAIN,
        b"From: Postmaster <postmaster@shop.example>\nSubject: failure\n\nquota exceeded\n",
        b"Return-Path: < >\nFrom: someone@shop.example\nSubject: hello\n\nx\n",
    ],
)
def test_mailer_daemon_postmaster_and_null_return_path_are_bounces(raw: bytes) -> None:
    assert parse_mail(raw).is_bounce is True


def test_a_read_receipt_report_is_not_a_bounce() -> None:
    raw = (
        b"From: li.ming@163.com\nReturn-Path: <li.ming@163.com>\n"
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n"
        b"--b\nContent-Type: text/plain\n\nYour message was displayed.\n--b--\n"
    )
    assert parse_mail(raw).is_bounce is False


# --- ticket numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("[T2611233852] 刷卡失败", "T2611233852"),
        ("工单 T2611233852 进度如何", "T2611233852"),
        ("工单T2611233852号", "T2611233852"),
        ("Re: 回复：【T2611233852】打印空白", "T2611233852"),
        ("关于工单 t2611233852", "T2611233852"),
        ("Ｒｅ：［Ｔ２６１１２３３８５２］", "T2611233852"),  # typed full-width on a phone
        ("ref T2611220001, now [T2611233852]", "T2611233852"),  # the bracketed tag wins
        ("T26112300012", "T26112300012"),  # five-digit day sequence
        ("快递单号 ST2611233852", ""),
        ("T2613233852 month 13", ""),
        ("T2611323852 day 32", ""),
        ("订单 T261123 太短", ""),
        ("流水 T261123385212345678 too long", ""),
        ("", ""),
    ],
)
def test_the_ticket_number_is_found_in_the_subject(subject: str, expected: str) -> None:
    assert ticket_number_in(subject) == expected


# --- reply trimming -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("好的\n> 请重启\n> 终端", "好的"),
        ("好的\n\n-----Original Message-----\nFrom: a\n请重启", "好的"),
        ("好的\n-----原始邮件-----\n发件人: a\n请重启", "好的"),
        ("好的\n\nOn Mon, Nov 23, 2026 at 10:02 AM posdesk <support@posdesk.test> wrote:\n> 请重启", "好的"),
        (
            "好的\n\nOn Mon, Nov 23, 2026 at 10:02 AM posdesk Support <\nsupport@posdesk.test> wrote:\n> x",
            "好的",
        ),
        ("好的\n\n在 2026年11月23日，10:02，posdesk客服 <support@posdesk.test> 写道：\n\n> 请重启", "好的"),
        ("好的\n\nposdesk客服 <support@posdesk.test> 于2026年11月23日周一 10:02写道：\n> 请重启", "好的"),
        ("好的\n\n发件人：posdesk客服\n发送时间：2026年11月23日 10:02\n收件人：李明\n主题：工单", "好的"),
        ("好的\n\nFrom: posdesk\nSent: Monday\nTo: Li\nSubject: x\n\nold", "好的"),
        ("好的\n-- \n李明 喆记小吃 13812345678", "好的"),
        ("好的\n\n发自我的iPhone\n\n------------------ 原始邮件 ------------------", "好的"),
        ("好的\n\nSent from my HUAWEI P60", "好的"),
        (
            "On Mon, 23 Nov 2026 posdesk wrote:\n> 请重启终端\n\n重启了，还是不行\n\n-- \n李明",
            "重启了，还是不行",
        ),
        ("From: 我们门店的收银台\n打印机不出纸", "From: 我们门店的收银台\n打印机不出纸"),
        ("小票上写道：\n交易失败", "小票上写道：\n交易失败"),
        (
            "-----Original Message-----\nFrom: shop\n终端坏了",
            "-----Original Message-----\nFrom: shop\n终端坏了",
        ),
        ("", ""),
    ],
)
def test_reply_text_trims_quoted_history_and_signatures(body: str, expected: str) -> None:
    assert reply_text_of(body) == expected


# --- headers: ids, dates, encoded words ------------------------------------------------------


def test_malformed_headers_are_read_as_far_as_they_go() -> None:
    # given a mail with a raw 8-bit subject, broken addresses, date, ids, charset and base64
    # when it is parsed
    mail = parse_mail(MALFORMED_MAIL)

    # then nothing raises and every readable field is read
    assert mail.subject == "终端坏了 [T2611233852]"
    assert mail.ticket_number == "T2611233852"
    assert mail.date is None
    assert mail.message_id == "no-brackets-here@example.com"
    assert mail.references == ["good-id@example.com"]
    assert mail.in_reply_to == ""
    assert "someone@example.com" in mail.to_addresses
    assert mail.body_text.startswith("付款后小票")


def test_a_line_without_a_colon_ends_the_headers_but_not_the_parse() -> None:
    # given a header block interrupted by a line that is not a header
    raw = b"Subject: [T2611233852] paper\nthis line has no colon\nFrom: li.ming@163.com\n\nbody\n"

    # when it is parsed
    mail = parse_mail(raw)

    # then the headers before it are read and the rest is kept as text
    assert mail.ticket_number == "T2611233852"
    assert mail.from_address == ""
    assert mail.body_text == "this line has no colon\nFrom: li.ming@163.com\n\nbody"


@pytest.mark.parametrize(
    ("content_type", "expected_reply"),
    [
        ("text/plain; charset=utf-8; format=flowed", "终端在营业高峰时 经常掉线"),
        ("text/plain; charset=utf-8; format=flowed; delsp=yes", "终端在营业高峰时经常掉线"),
        ("text/plain; charset=utf-8", "终端在营业高峰时\n经常掉线"),
    ],
)
def test_format_flowed_lines_are_joined_as_the_sender_wrote_them(
    content_type: str, expected_reply: str
) -> None:
    # given a body wrapped by a flowed client (trailing space = soft break), with a signature
    raw = f"Content-Type: {content_type}\n\n终端在营业高峰时 \n经常掉线\n-- \n李明\n".encode()

    # when it is parsed
    mail = parse_mail(raw)

    # then soft breaks are undone (the space kept or, with DelSp, removed) and "-- " still cuts
    assert mail.body_text == f"{expected_reply}\n--\n李明"
    assert mail.reply_text == expected_reply


def test_raw_8bit_gbk_in_the_sender_name_is_decoded() -> None:
    raw = b"From: " + "喆记小吃".encode("gbk") + b" <Shop@163.com>\nSubject: x\n\nbody\n"
    mail = parse_mail(raw)
    assert (mail.from_name, mail.from_address) == ("喆记小吃", "shop@163.com")


def test_an_encoded_word_split_inside_a_character_is_joined_before_decoding() -> None:
    # given "终端无法联网" in GB2312 cut after five bytes, the first character pair split across words
    header = "=?GB2312?B?1tW2y84=?=\r\n =?GB2312?B?3reowarN+A==?="

    # when it is decoded
    # then the bytes are joined first, so no character is lost
    assert decode_header_text(header) == "终端无法联网"
    assert parse_mail(f"Subject: {header}\n\nx\n".encode()).subject == "终端无法联网"


def test_an_undecodable_encoded_word_is_left_as_written() -> None:
    assert decode_header_text("a =?GBK?B?***?= b") == "a =?GBK?B?***?= b"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("<Abc.123@Host.Example>", "Abc.123@Host.Example"),
        ("  <abc@host>  (Li Ming's message of Monday)", "abc@host"),
        ("abc@host", "abc@host"),
        ("<abc\r\n @host>", "abc@host"),
        ("", ""),
    ],
)
def test_message_ids_are_normalised_without_brackets(header: str, expected: str) -> None:
    assert normalise_message_id(header) == expected


def test_a_date_without_a_known_zone_is_read_as_utc() -> None:
    mail = parse_mail(b"Date: Mon, 23 Nov 2026 02:00:00 -0000\n\nx\n")
    assert mail.date == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_empty_input_gives_an_empty_mail() -> None:
    assert parse_mail(b"") == InboundMail()


# --- our replies --------------------------------------------------------------------------


def test_reply_headers_thread_to_the_merchants_message_and_tag_the_ticket() -> None:
    # given the merchant's message, itself a reply in a thread
    # when we build the headers of our answer
    headers = build_reply_headers(
        "T2611233852",
        "<202611231020000000001@163.com>",
        ["<posdesk.1.T2611233852@posdesk.test>", "202611230915001234567@163.com"],
        subject="回复：Re: [T2611233852] POS机刷卡失败",
    )

    # then earlier prefixes and tags collapse into one "Re: [T…]" and the thread grows by one id
    assert headers == {
        "Subject": "Re: [T2611233852] POS机刷卡失败",
        "In-Reply-To": "<202611231020000000001@163.com>",
        "References": (
            "<posdesk.1.T2611233852@posdesk.test> <202611230915001234567@163.com> "
            "<202611231020000000001@163.com>"
        ),
    }


def test_reply_headers_without_an_original_message_only_tag_the_subject() -> None:
    assert build_reply_headers("T2611233852", "", []) == {"Subject": "Re: [T2611233852]"}


def test_a_long_thread_keeps_its_root_and_newest_references() -> None:
    thread = [f"m{i}@host" for i in range(30)]
    headers = build_reply_headers("T2611233852", "new@host", thread, subject="x")
    references = headers["References"].split()
    assert len(references) == 20
    assert references[0] == "<m0@host>"
    assert references[-2:] == ["<m29@host>", "<new@host>"]


def test_new_message_ids_are_unique_and_in_our_domain() -> None:
    ids = {new_message_id("posdesk.test") for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert value.startswith("<") and value.endswith("@posdesk.test>")
        assert parse_mail(f"Message-ID: {value}\n\nx\n".encode()).message_id == normalise_message_id(value)


@pytest.mark.parametrize("domain", ["", "  ", "posdesk test", "<x>", "a@b"])
def test_a_message_id_needs_a_real_domain(domain: str) -> None:
    with pytest.raises(ValueError, match="not a mail domain"):
        new_message_id(domain)


# --- properties ---------------------------------------------------------------------------


def _assert_well_formed(mail: InboundMail) -> None:
    assert isinstance(mail, InboundMail)
    for text in (mail.subject, mail.body_text, mail.reply_text, mail.from_address, mail.message_id):
        assert isinstance(text, str)
        assert "\x00" not in text
    assert mail.from_address == mail.from_address.lower()
    assert mail.date is None or mail.date.tzinfo is not None
    assert all(isinstance(a.data, bytes) and a.filename for a in mail.attachments)
    assert all("<" not in i and ">" not in i for i in mail.thread_ids)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_mail_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    _assert_well_formed(parse_mail(raw))


_HEADER_NAMES = st.sampled_from(
    [
        "Subject",
        "From",
        "To",
        "Cc",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "Return-Path",
    ]
)
_HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "multipart/mixed; boundary=b",
            "multipart/report; report-type=delivery-status; boundary=b",
            "text/html; charset=gbk",
            "message/rfc822",
            "base64",
            "quoted-printable",
            "attachment; filename*0*=gbk''%B9; filename*1*=%CA",
            "=?GBK?B?1tW2?=",
            "=?utf-8?Q?=E5=8F?=",
            "<>",
        ]
    ),
)

_BODY_LINES = st.one_of(
    st.text(max_size=60), st.sampled_from(["--b", "--b--", "Content-Type: text/plain", ""])
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=12),
    st.lists(_BODY_LINES, max_size=20),
)
def test_parse_mail_never_raises_on_mail_shaped_garbage(
    headers: list[tuple[str, str]], body: list[str]
) -> None:
    raw = "\n".join([*(f"{name}: {value}" for name, value in headers), "", *body])
    for encoding in ("utf-8", "gb18030"):
        _assert_well_formed(parse_mail(raw.encode(encoding, "surrogatepass")))


@given(st.text(max_size=80))
def test_reply_subjects_are_stable_when_replied_to_again(subject: str) -> None:
    first = build_reply_headers("T2611233852", "a@b", [], subject=subject)["Subject"]
    assert first.startswith("Re: [T2611233852]")
    assert build_reply_headers("T2611233852", "a@b", [], subject=first)["Subject"] == first
    assert ticket_number_in(first) == "T2611233852"


@pytest.mark.parametrize(
    ("html", "expected_reply"),
    [
        (  # QQ Mail: one <div> per line, the original behind a dashed "原始邮件" line
            "<div>第一行</div><div>第二行</div><div><br></div>"
            "<div style='font-size:12px'>------------------&nbsp;原始邮件&nbsp;------------------</div>"
            "<div><b>发件人:</b> posdesk客服</div><div><b>发送时间:</b> 2026年11月23日</div><div>请重启</div>",
            "第一行\n第二行",
        ),
        (  # Outlook on the web: the history under <hr> and a bold From:/Sent: block
            "<div dir='ltr'><p>Still offline.</p></div><hr style='display:inline-block'>"
            "<div id='divRplyFwdMsg'><font><b>From:</b> posdesk Support<br><b>Sent:</b> Monday<br>"
            "<b>To:</b> Wang Fang<br><b>Subject:</b> [T2611233852]</font></div><div>Please restart.</div>",
            "Still offline.",
        ),
        (  # Gmail: attribution line in gmail_quote, the quote in <blockquote>
            "<div dir='ltr'>收到，谢谢</div><br><div class='gmail_quote'><div class='gmail_attr'>"
            "posdesk客服 &lt;support@posdesk.test&gt; 于2026年11月23日周一 10:02写道：<br></div>"
            "<blockquote class='gmail_quote'>请重启</blockquote></div>",
            "收到，谢谢",
        ),
    ],
)
def test_html_replies_from_webmail_clients_lose_their_history(html: str, expected_reply: str) -> None:
    assert reply_text_of(html_to_text(html)) == expected_reply
