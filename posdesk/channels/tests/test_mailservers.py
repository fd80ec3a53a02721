"""The loopback mail servers the e-mail tests stand on: they really speak SMTP and IMAP, start
quickly and give their ports back."""

from __future__ import annotations

import smtplib
import socket
import time
from email.message import EmailMessage

import pytest
from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from posdesk.channels.mail.parsing import parse_mail
from posdesk.channels.tests import mailservers
from posdesk.channels.tests.mailservers import imap_server, smtp_server

# A merchant's Foxmail mail: subject 终端无法联网 and body in GBK.
MERCHANT_MAIL = (
    b"From: =?GBK?B?wO7D9w==?= <li.ming@163.com>\r\n"
    b"To: support@posdesk.test\r\n"
    b"Subject: =?GBK?B?1tW2y87et6jBqs34?=\r\n"
    b"Message-ID: <loopback-1@163.com>\r\n"
    b"Date: Mon, 23 Nov 2026 09:15:00 +0800\r\n"
    b"Content-Type: text/plain; charset=GBK\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n" + "终端无法联网，请处理。\r\n".encode("gbk")
)


def _nothing_listens_on(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True


# --- SMTP ---------------------------------------------------------------------------------


def test_a_mail_sent_with_smtplib_arrives_with_its_envelope_and_bytes() -> None:
    with smtp_server() as smtp:
        # given a reply with a Chinese subject
        message = EmailMessage()
        message["From"] = "support@posdesk.test"
        message["To"] = "li.ming@163.com"
        message["Subject"] = "Re: [T2611233852] 终端无法联网"
        message["Message-ID"] = "<reply-1@posdesk.test>"
        message.set_content("请重启终端后再试。")

        # when it is sent through the loopback server
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            client.send_message(message, to_addrs=["li.ming@163.com", "boss@zheji.example"])
        received = smtp.wait_for(1, timeout=5)

    # then the envelope and the raw message arrived intact
    assert len(received) == 1
    assert received[0].mail_from == "support@posdesk.test"
    assert received[0].recipients == ["li.ming@163.com", "boss@zheji.example"]
    arrived = parse_mail(received[0].raw)
    assert arrived.subject == "Re: [T2611233852] 终端无法联网"
    assert arrived.message_id == "reply-1@posdesk.test"
    assert arrived.body_text == "请重启终端后再试。"


def test_waiting_for_mail_that_never_comes_fails_after_the_timeout() -> None:
    with smtp_server() as smtp, pytest.raises(AssertionError, match="expected 1 message"):
        smtp.wait_for(1, timeout=0.05)


def test_the_smtp_server_starts_fast_and_frees_its_port() -> None:
    started = time.monotonic()
    with smtp_server() as smtp:
        assert time.monotonic() - started < 5
        with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
            assert client.noop()[0] == 250
    assert _nothing_listens_on(smtp.host, smtp.port)


# --- IMAP ---------------------------------------------------------------------------------


def test_a_delivered_mail_is_fetched_back_with_imap_tools() -> None:
    with imap_server() as imap:
        # given a GBK mail from a merchant delivered into the support mailbox
        uid = imap.deliver(MERCHANT_MAIL)

        # when the mailbox is read over IMAP
        with MailBoxUnencrypted(imap.host, imap.port).login(imap.user, imap.password) as mailbox:
            messages = list(mailbox.fetch(mark_seen=False))

    # then exactly that message comes back, byte for byte, with its Chinese subject
    assert [m.uid for m in messages] == [uid]
    assert messages[0].subject == "终端无法联网"
    assert messages[0].obj.as_bytes().replace(b"\r\n", b"\n").startswith(b"From: =?GBK?B?wO7D9w==?=")
    assert parse_mail(messages[0].obj.as_bytes()).body_text == "终端无法联网，请处理。"


def test_mail_can_be_delivered_to_another_folder() -> None:
    with imap_server() as imap:
        imap.deliver(MERCHANT_MAIL, folder="已处理")
        with MailBoxUnencrypted(imap.host, imap.port).login(imap.user, imap.password) as mailbox:
            inbox = list(mailbox.fetch())
            mailbox.folder.set("已处理")
            done = list(mailbox.fetch())
    assert inbox == []
    assert [m.subject for m in done] == ["终端无法联网"]


def test_a_wrong_password_is_refused() -> None:
    with imap_server() as imap, pytest.raises(MailboxLoginError):
        MailBoxUnencrypted(imap.host, imap.port).login(imap.user, "not-the-password")


def test_the_imap_server_starts_fast_and_frees_its_port() -> None:
    started = time.monotonic()
    with imap_server() as imap:
        assert time.monotonic() - started < 5
        assert not _nothing_listens_on(imap.host, imap.port)
    assert _nothing_listens_on(imap.host, imap.port)


def test_a_missing_dovecot_is_an_error_that_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailservers, "DOVECOT", "/nonexistent/sbin/dovecot")
    with pytest.raises(RuntimeError, match="apt-get install dovecot-imapd"), imap_server():
        pass
