"""The e-mail channel end to end, against a real IMAP server (Dovecot) and a real SMTP server
(aiosmtpd) on loopback: a merchant's mail becomes a ticket, the agent's answer reaches them on
their thread, their answer joins the same ticket — exactly once, without loops, and without an
unknown sender writing into someone else's ticket."""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from imap_tools import MailBoxUnencrypted
from PIL import Image

from posdesk.channels.mail import inbox
from posdesk.channels.mail.inbox import MailboxUnavailable, mail_fetch, mail_idle, mail_process
from posdesk.channels.mail.outbound import deliver_email, reply_route
from posdesk.channels.mail.parsing import parse_mail
from posdesk.channels.models import InboundMessage
from posdesk.channels.services import inbound_store
from posdesk.channels.tests.mailservers import ImapServer, SmtpServer, free_port, imap_server, smtp_server
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_deliver_one
from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.services import ticket_reply, ticket_transition

pytestmark = pytest.mark.django_db

MERCHANT_ADDRESS = "li.ming@163.com"
OUR_ADDRESS = "support@posdesk.test"
MONDAY_10_SHANGHAI = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


# --- fixtures and mail ----------------------------------------------------------------------


@pytest.fixture
def imap() -> Iterator[ImapServer]:
    with imap_server(user=OUR_ADDRESS) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Any, imap: ImapServer, smtp: SmtpServer) -> Any:
    settings.IMAP_HOST, settings.IMAP_PORT, settings.IMAP_SSL = imap.host, imap.port, False
    settings.IMAP_USER, settings.IMAP_PASSWORD, settings.IMAP_FOLDER = imap.user, imap.password, "INBOX"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = smtp.host, smtp.port
    settings.MAIL_DOMAIN = "posdesk.test"
    settings.DEFAULT_FROM_EMAIL = f"posdesk <{OUR_ADDRESS}>"
    return settings


@pytest.fixture
def merchant_mail(world: Any) -> Any:
    """The world's merchant contact writes from MERCHANT_ADDRESS."""
    world.contact.email = MERCHANT_ADDRESS
    world.contact.save(update_fields=["email"])
    return world


@pytest.fixture
def daytime(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_10_SHANGHAI, tick=True)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _mail(
    *, message_id: str, subject: str = "终端无法联网", body: str = "终端 N7NL00000001 无法联网，请处理。",
    sender: str = f"李明 <{MERCHANT_ADDRESS}>", in_reply_to: str = "", references: str = "",
    headers: dict[str, str] | None = None, attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = OUR_ADDRESS
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message["Date"] = "Mon, 23 Nov 2026 09:15:00 +0800"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def _receive(raw: bytes) -> Ticket | None:
    """Stored and processed as mail_fetch would, without the IMAP round trip."""
    mail = parse_mail(raw)
    message, _created = inbound_store(channel="email", provider_id=mail.message_id, payload=raw,
                                      sender=mail.from_address, subject=mail.subject)
    return mail_process(message)


def _unseen(imap: ImapServer) -> list[str]:
    with MailBoxUnencrypted(imap.host, imap.port).login(imap.user, imap.password) as box:
        return [m.subject for m in box.fetch("UNSEEN", mark_seen=False)]


def _replies(ticket: Ticket) -> list[str]:
    replies = ticket.events.filter(kind=TicketEvent.Kind.REPLY).order_by("pk")
    return list(replies.values_list("body", flat=True))


# --- end to end -----------------------------------------------------------------------------


def test_a_merchants_mail_becomes_a_ticket_the_agents_answer_arrives_threaded_and_their_reply_joins_it(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer, smtp: SmtpServer, daytime: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    world = merchant_mail
    # given a Chinese mail with a photo of the receipt in the support mailbox
    imap.deliver(_mail(message_id="first-1@163.com", attachments=(("小票.png", "image/png", _png()),)))

    # when the mailbox is fetched (and the outbox sends what the commit left)
    with django_capture_on_commit_callbacks(execute=True):
        assert mail_fetch() == 1

    # then one e-mail ticket for the merchant holds the words, the terminal and the photo
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.merchant, ticket.terminal) == ("email", world.merchant, world.terminal)
    assert ticket.description == "终端无法联网\n\n终端 N7NL00000001 无法联网，请处理。"
    assert ticket.created_by == world.merchant_user
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert (attachment.original_name, attachment.content_type) == ("小票.png", "image/png")
    assert _unseen(imap) == []
    # and the acknowledgement answers on the merchant's thread, not by SMS
    acknowledgement = parse_mail(smtp.wait_for(1)[0].raw)
    assert acknowledgement.in_reply_to == "first-1@163.com" and ticket.number in acknowledgement.body_text

    # when an agent answers and the outbox sends what the commit left
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=world.agent, body="请重启终端后再试。")
    received = smtp.wait_for(2)

    # then the merchant gets the whole answer by mail on their own thread
    assert received[1].recipients == [MERCHANT_ADDRESS]
    answer = parse_mail(received[1].raw)
    assert answer.subject == f"Re: [{ticket.number}] 终端无法联网"
    assert answer.in_reply_to == "first-1@163.com"
    assert answer.from_address == OUR_ADDRESS
    assert "请重启终端后再试" in answer.body_text
    assert answer.message_id.endswith("@posdesk.test")

    # when the merchant answers that mail, quoting it
    imap.deliver(_mail(
        message_id="second-2@163.com", subject=f"回复：{answer.subject}",
        body=f"重启后可以了，谢谢！\n\n在 2026年11月23日 10:05，posdesk <{OUR_ADDRESS}> 写道：\n> {answer.body_text}\n",
        in_reply_to=f"<{answer.message_id}>", references=f"<first-1@163.com> <{answer.message_id}>",
    ))
    assert mail_fetch() == 1

    # then their words, without the quote, join the same ticket
    assert Ticket.objects.count() == 1
    assert _replies(ticket)[-1] == "重启后可以了，谢谢！"
    assert InboundMessage.objects.filter(ticket=ticket, status="processed").count() == 2


def test_the_next_answer_replies_to_the_merchants_latest_mail(
    mail_settings: Any, merchant_mail: Any, daytime: None
) -> None:
    # given an e-mail ticket the merchant has written to twice
    ticket = _receive(_mail(message_id="one@163.com"))
    assert ticket is not None
    _receive(_mail(message_id="two@163.com", subject=f"Re: [{ticket.number}] 终端无法联网", body="还是不行",
                   in_reply_to="<one@163.com>", references="<one@163.com>"))

    # when the answer's route is asked for
    route = reply_route(ticket)

    # then it answers the latest mail, under a new Message-ID of ours
    assert route is not None
    assert (route.channel, route.recipient) == ("email", MERCHANT_ADDRESS)
    assert route.subject == f"Re: [{ticket.number}] 终端无法联网"
    assert route.headers["In-Reply-To"] == "<two@163.com>"
    assert route.headers["References"] == "<one@163.com> <two@163.com>"
    assert route.headers["Message-ID"].endswith("@posdesk.test>")


def test_an_email_ticket_without_mail_to_answer_is_answered_by_sms(
    mail_settings: Any, merchant_mail: Any, open_ticket: Any, daytime: None
) -> None:
    # given an e-mail ticket an agent typed in (no mail from the merchant)
    ticket = open_ticket(channel="email")
    assert reply_route(ticket) is None

    # when the agent answers
    ticket_reply(ticket=ticket, actor=merchant_mail.agent, body="已安排工程师上门。")

    # then the answer goes by SMS, nothing by e-mail
    channels = set(OutboxMessage.objects.filter(ticket_id=ticket.pk).values_list("channel", flat=True))
    assert channels == {"sms"}


def test_a_reply_on_a_thread_of_the_merchants_own_mail_joins_its_ticket(
    mail_settings: Any, merchant_mail: Any
) -> None:
    # given a ticket opened by a mail
    ticket = _receive(_mail(message_id="report@163.com"))

    # when the merchant follows up on their own mail, without the ticket number
    again = _receive(_mail(message_id="follow@163.com", subject="Re: 终端无法联网", body="补充：错误码 A0",
                           in_reply_to="<report@163.com>", references="<report@163.com>"))

    # then it joins the same ticket
    assert again == ticket
    assert _replies(ticket) == ["补充：错误码 A0"]


def test_a_reply_to_a_merged_ticket_continues_on_the_original(
    mail_settings: Any, merchant_mail: Any, open_ticket: Any
) -> None:
    from posdesk.tickets.services import ticket_merge

    world = merchant_mail
    original = open_ticket()
    duplicate = _receive(_mail(message_id="dup@163.com"))
    assert duplicate is not None
    ticket_merge(duplicate=duplicate, original=original, actor=world.supervisor)

    joined = _receive(_mail(message_id="dup-2@163.com", subject=f"Re: [{duplicate.number}] 终端无法联网",
                            body="师傅什么时候到？", in_reply_to="<dup@163.com>"))

    assert joined == original
    assert _replies(original) == ["师傅什么时候到？"]


# --- exactly once ---------------------------------------------------------------------------


def test_fetching_twice_and_the_same_message_delivered_twice_make_one_ticket(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer
) -> None:
    # given a mail in the mailbox
    raw = _mail(message_id="twice@163.com")
    imap.deliver(raw)

    # when it is fetched twice, then delivered again (same Message-ID) and fetched again
    first = mail_fetch()
    second = mail_fetch()
    imap.deliver(raw)
    third = mail_fetch()

    # then it was stored once, made one ticket, and nothing is left unseen
    assert (first, second, third) == (1, 0, 0)
    assert InboundMessage.objects.filter(channel="email").count() == 1
    assert Ticket.objects.count() == 1
    assert _unseen(imap) == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_processing_the_same_stored_mail_at_once_open_one_ticket(
    mail_settings: Any, merchant_mail: Any, tmp_path: Any
) -> None:
    # given one stored, unprocessed mail
    raw = _mail(message_id="race@163.com")
    message, _created = inbound_store(channel="email", provider_id="race@163.com", payload=raw,
                                      sender=MERCHANT_ADDRESS, subject="终端无法联网")

    # when two workers process it at the same moment
    with racing_database(tmp_path):
        results = run_together(lambda: mail_process(message), lambda: mail_process(message))

        # then both answer the same single ticket
        assert not [r for r in results if isinstance(r, Exception)], results
        assert Ticket.objects.count() == 1
        assert {r.pk for r in results} == {Ticket.objects.get().pk}
        assert TicketEvent.objects.filter(kind=TicketEvent.Kind.CREATED).count() == 1


# --- no loops, no strangers -----------------------------------------------------------------

BOUNCE = (
    b"From: Mail Delivery System <MAILER-DAEMON@mx.163.com>\r\n"
    b"To: support@posdesk.test\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"Message-ID: <bounce-1@mx.163.com>\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
    b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nDelivery to li.ming@163.com failed.\r\n"
    b"--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.163.com\r\n\r\n"
    b"Final-Recipient: rfc822; li.ming@163.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    b"--b1--\r\n"
)


@pytest.mark.parametrize("raw", [
    pytest.param(_mail(message_id="ooo@163.com", subject="自动回复：终端无法联网", body="我正在休假，11月30日回来。",
                       headers={"Auto-Submitted": "auto-replied"}), id="auto-reply"),
    pytest.param(BOUNCE, id="bounce"),
])
def test_auto_replies_and_bounces_open_no_ticket_and_get_no_answer(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer, raw: bytes, daytime: None
) -> None:
    imap.deliver(raw)

    assert mail_fetch() == 1

    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.IGNORED
    assert message.note in {"auto-reply", "bounce"}
    assert not Ticket.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert _unseen(imap) == []


def test_mail_from_our_own_address_is_never_taken_for_a_merchants(
    mail_settings: Any, merchant_mail: Any
) -> None:
    ticket = _receive(_mail(message_id="loop@posdesk.test", sender=f"posdesk <{OUR_ADDRESS}>"))

    assert ticket is None
    assert InboundMessage.objects.get().status == InboundMessage.Status.IGNORED
    assert not OutboxMessage.objects.exists()


def test_an_unknown_sender_opens_an_unidentified_ticket_and_is_sent_nothing(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer, daytime: None
) -> None:
    imap.deliver(_mail(message_id="who@example.com", sender="王五 <wang.wu@example.com>"))

    assert mail_fetch() == 1

    ticket = Ticket.objects.get()
    assert ticket.merchant is None
    assert ticket.channel == "email"
    assert not OutboxMessage.objects.exists()
    # their follow-up on their own thread joins their unidentified ticket
    again = _receive(_mail(message_id="who-2@example.com", sender="wang.wu@example.com", body="在吗？",
                           subject=f"Re: [{ticket.number}] 终端无法联网", in_reply_to="<who@example.com>"))
    assert again == ticket
    assert _replies(ticket) == ["在吗？"]


def test_an_unknown_sender_quoting_a_merchants_ticket_number_does_not_write_into_it(
    mail_settings: Any, merchant_mail: Any, open_ticket: Any
) -> None:
    # given the merchant's open ticket
    theirs = open_ticket()

    # when a stranger writes with its number in the subject
    stranger = _receive(_mail(message_id="x@evil.example", sender="x@evil.example",
                              subject=f"Re: [{theirs.number}] 退款", body="请把款退到我的账户"))

    # then the merchant's ticket is untouched; the stranger's words open an unidentified ticket
    assert _replies(theirs) == []
    assert stranger is not None and stranger != theirs
    assert stranger.merchant is None


def test_another_merchant_quoting_a_ticket_number_opens_their_own_ticket(
    mail_settings: Any, merchant_mail: Any, open_ticket: Any
) -> None:
    world = merchant_mail
    world.other_contact.email = "li.laoban@126.com"
    world.other_contact.save(update_fields=["email"])
    theirs = open_ticket()

    other = _receive(_mail(message_id="o@126.com", sender="li.laoban@126.com",
                           subject=f"[{theirs.number}] 我们也连不上"))

    assert _replies(theirs) == []
    assert other is not None and other.merchant == world.other_merchant


def test_the_merchants_number_in_the_subject_joins_their_own_open_ticket(
    mail_settings: Any, merchant_mail: Any, open_ticket: Any
) -> None:
    theirs = open_ticket()

    joined = _receive(_mail(message_id="n@163.com", subject=f"工单 {theirs.number} 补充", body="照片见附件"))

    assert joined == theirs
    assert _replies(theirs) == ["照片见附件"]


def test_a_reply_to_a_closed_ticket_opens_a_new_one_with_its_subject(
    mail_settings: Any, merchant_mail: Any
) -> None:
    world = merchant_mail
    ticket = _receive(_mail(message_id="old@163.com"))
    assert ticket is not None
    ticket_transition(ticket=ticket, actor=world.agent, to_status="cancelled", reason="重复报修")

    again = _receive(_mail(message_id="old-2@163.com", subject=f"Re: [{ticket.number}] 终端无法联网",
                           body="又坏了", in_reply_to="<old@163.com>"))

    assert again is not None and again != ticket
    assert again.description.startswith(f"Re: [{ticket.number}] 终端无法联网\n\n又坏了")


# --- attachments ----------------------------------------------------------------------------


def test_a_refused_attachment_is_dropped_with_a_note_and_the_text_still_lands(
    mail_settings: Any, merchant_mail: Any
) -> None:
    ticket = _receive(_mail(message_id="att@163.com", attachments=(
        ("setup.exe", "application/octet-stream", b"MZ\x90\x00" * 64),
        ("小票.png", "image/png", _png()),
    )))

    assert ticket is not None
    assert "无法联网" in ticket.description
    kept = TicketAttachment.objects.filter(ticket=ticket).values_list("original_name", flat=True)
    assert list(kept) == ["小票.png"]
    message = InboundMessage.objects.get()
    assert message.status == InboundMessage.Status.PROCESSED
    assert message.note == "attachments dropped: setup.exe (attachment_type_not_allowed)"


def test_a_mail_with_only_a_photo_becomes_a_ticket_named_after_it(
    mail_settings: Any, merchant_mail: Any
) -> None:
    ticket = _receive(_mail(message_id="photo@163.com", subject="", body="",
                            attachments=(("IMG_0001.png", "image/png", _png()),)))

    assert ticket is not None
    assert ticket.description == "[IMG_0001.png]"
    assert ticket.attachments.count() == 1


# --- the mailbox misbehaving ----------------------------------------------------------------


def test_an_unreachable_mailbox_is_a_clear_error_and_its_mail_waits_unseen(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer, caplog: Any
) -> None:
    # given mail waiting in the mailbox, but the intake pointed at a port nobody listens on
    imap.deliver(_mail(message_id="waiting@163.com"))
    mail_settings.IMAP_PORT = free_port()

    # when it fetches
    with caplog.at_level(logging.ERROR, logger="posdesk.channels.mail"), \
            pytest.raises(MailboxUnavailable, match="unreachable"):
        mail_fetch()

    # then the failure is logged, nothing was taken and the mail is still unseen
    assert any("unreachable" in record.getMessage() for record in caplog.records)
    assert not InboundMessage.objects.exists()
    assert _unseen(imap) == ["终端无法联网"]

    # and once the mailbox answers again, the mail arrives
    mail_settings.IMAP_PORT = imap.port
    assert mail_fetch() == 1
    assert Ticket.objects.count() == 1


def test_a_wrong_password_is_reported_and_takes_nothing(mail_settings: Any, imap: ImapServer) -> None:
    imap.deliver(_mail(message_id="pw@163.com"))
    mail_settings.IMAP_PASSWORD = "wrong"

    with pytest.raises(MailboxUnavailable):
        mail_fetch()

    assert _unseen(imap) == ["终端无法联网"]


def test_a_mail_that_cannot_be_stored_stays_unseen_for_the_next_fetch(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two mails, and a database that fails on the second
    imap.deliver(_mail(message_id="ok@163.com", subject="第一封"))
    imap.deliver(_mail(message_id="fails@163.com", subject="第二封"))
    real_store = inbox.inbound_store

    def failing_store(**kwargs: Any) -> Any:
        if kwargs["provider_id"] == "fails@163.com":
            raise RuntimeError("database went away")
        return real_store(**kwargs)

    monkeypatch.setattr(inbox, "inbound_store", failing_store)

    # when the mailbox is fetched
    with pytest.raises(RuntimeError, match="database went away"):
        mail_fetch()

    # then the first was stored (and processed) and marked seen; the second waits unseen
    assert list(InboundMessage.objects.values_list("provider_id", "status")) == [("ok@163.com", "processed")]
    assert _unseen(imap) == ["第二封"]

    # and the next fetch takes it
    monkeypatch.setattr(inbox, "inbound_store", real_store)
    assert mail_fetch() == 1
    assert _unseen(imap) == []
    assert Ticket.objects.count() == 2


def test_a_stored_mail_left_unprocessed_is_picked_up_by_the_next_fetch(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer
) -> None:
    # given a mail stored (and marked seen) by a fetch that died before processing it
    inbound_store(channel="email", provider_id="left@163.com", payload=_mail(message_id="left@163.com"),
                  sender=MERCHANT_ADDRESS)

    # when the next fetch runs, with nothing new in the mailbox
    assert mail_fetch() == 0

    # then the stored mail became its ticket
    assert InboundMessage.objects.get().status == InboundMessage.Status.PROCESSED
    assert Ticket.objects.count() == 1


def test_e_mail_intake_is_off_without_an_imap_host(settings: Any) -> None:
    settings.IMAP_HOST = ""

    assert mail_fetch() == 0
    with pytest.raises(CommandError, match="POSDESK_IMAP_HOST"):
        call_command("mail_fetch")


def test_the_mail_fetch_command_fetches_and_reports(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer
) -> None:
    imap.deliver(_mail(message_id="cmd@163.com"))
    out = io.StringIO()

    call_command("mail_fetch", stdout=out)

    assert out.getvalue().strip() == "1 new e-mails"
    assert Ticket.objects.count() == 1


def test_the_mail_fetch_command_fails_loudly_when_the_mailbox_is_down(mail_settings: Any) -> None:
    mail_settings.IMAP_PORT = free_port()

    with pytest.raises(CommandError, match="unreachable"):
        call_command("mail_fetch")


# --- IMAP IDLE ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_idle_fetches_as_soon_as_the_server_signals_new_mail(
    mail_settings: Any, merchant_mail: Any, imap: ImapServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    fetched: queue.Queue[int | BaseException] = queue.Queue()
    real_fetch = inbox.mail_fetch

    def reporting_fetch(**kwargs: Any) -> int:
        try:
            new = real_fetch(**kwargs)
        except BaseException as error:
            fetched.put(error)
            raise
        fetched.put(new)
        return new

    monkeypatch.setattr(inbox, "mail_fetch", reporting_fetch)
    stop = threading.Event()

    def listen() -> None:
        try:
            mail_idle(stop=stop, timeout=0.2, retry_seconds=0.1)
        finally:
            connections.close_all()

    with racing_database(tmp_path):
        listener = threading.Thread(target=listen)
        listener.start()
        try:
            # given the listener caught up with an empty mailbox
            assert fetched.get(timeout=10) == 0
            # when a mail arrives
            imap.deliver(_mail(message_id="idle@163.com"))
            # then the server's signal makes it fetch that mail
            assert fetched.get(timeout=10) == 1
        finally:
            stop.set()
            listener.join(10)
        assert not listener.is_alive()
        assert Ticket.objects.filter(channel="email").count() == 1


# --- sending --------------------------------------------------------------------------------


def test_a_resent_mail_keeps_its_message_id(mail_settings: Any, smtp: SmtpServer) -> None:
    # given an outbox e-mail without a Message-ID and an SMTP server that is down
    message = OutboxMessage.objects.create(
        channel="email", purpose="service_reply", recipient=MERCHANT_ADDRESS, subject="工单进度",
        body="已安排工程师。", ticket_id=1)
    mail_settings.EMAIL_PORT = free_port()

    # when the first attempt fails
    with pytest.raises(OSError):
        deliver_email(message)

    # then the Message-ID it was given is kept, and the retry sends that same one
    message.refresh_from_db()
    first_id = message.headers["Message-ID"]
    assert message.provider_message_id == first_id.strip("<>")
    mail_settings.EMAIL_PORT = smtp.port
    assert outbox_deliver_one(message_id=message.pk) == "sent"
    assert parse_mail(smtp.wait_for(1)[0].raw).message_id == first_id.strip("<>")


def test_a_reply_to_our_mail_queued_before_message_ids_were_recorded_still_finds_its_ticket(
    mail_settings: Any, merchant_mail: Any
) -> None:
    # given an e-mail ticket and our answer known only by the Message-ID header it was queued with
    ticket = _receive(_mail(message_id="legacy@163.com"))
    assert ticket is not None
    OutboxMessage.objects.create(channel="email", purpose="service_reply", recipient=MERCHANT_ADDRESS,
                                 subject="Re: 终端无法联网", body="请重启。", ticket_id=ticket.pk,
                                 headers={"Message-ID": "<answer.1@posdesk.test>"}, status="sent")

    # when the merchant answers it (quoting neither the number nor their own mail)
    joined = _receive(_mail(message_id="legacy-2@163.com", subject="Re: 终端无法联网", body="好了",
                            in_reply_to="<answer.1@posdesk.test>"))

    # then the answer joins that ticket
    assert joined == ticket
    assert _replies(ticket) == ["好了"]
