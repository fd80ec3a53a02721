"""Self-service answers (C5): a confident known fix answers the merchant at once on their channel
with "did this solve it?"; yes resolves the ticket as self-served and counts the deflection, no
sends it on to an agent with its priority kept. The ticket stays in the queue meanwhile."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from posdesk.channels.services import inbound_process, inbound_store
from posdesk.core.errors import Conflict, NotFound
from posdesk.core.taxonomy import OPEN_STATUSES, Priority, Status
from posdesk.knowledge.models import Deflection
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.services import ticket_open, ticket_reply
from posdesk.triage import pipeline
from posdesk.triage.models import SelfServiceAnswer
from posdesk.triage.pipeline import tickets_triage
from posdesk.triage.selectors import self_service_figures
from posdesk.triage.services import self_service_conclude, self_service_reply

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
KNOWN_FIX = "顾客刷卡提示51，怎么回事"  # 51: insufficient funds — the remedy is the cardholder's (another card)


@pytest.fixture
def monday(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)


_sequence = iter(range(1, 10_000))


def sms_from_merchant(world: Any, text: str, captured: Any) -> Ticket:
    """An SMS from the merchant's registered mobile, through the channels' intake path."""
    message, _ = inbound_store(channel="sms", provider_id=f"sms-{next(_sequence)}", payload=text.encode(),
                               sender=world.contact.mobile, text=text)
    with captured(execute=True):
        ticket = inbound_process(message=message, text=text, merchant=world.merchant)
    assert ticket is not None
    return ticket


def sms_to(world: Any) -> list[str]:
    return list(OutboxMessage.objects.filter(channel="sms", recipient=world.contact.mobile)
                .order_by("pk").values_list("body", flat=True))


def test_a_confident_known_fix_is_answered_at_once_on_the_merchants_sms_thread(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any
) -> None:
    # when the merchant texts a response code whose remedy is theirs
    ticket = sms_from_merchant(world, KNOWN_FIX, django_capture_on_commit_callbacks)

    # then the answer and the question go to the number that texted, through the contact gate
    offer = SelfServiceAnswer.objects.get(ticket=ticket)
    assert (offer.source, offer.response_code, offer.outcome) == ("response_code", "51", "pending")
    answer = [body for body in sms_to(world) if "请持卡人换一张卡" in body]
    assert len(answer) == 1 and "回复 1" in answer[0] and ticket.number in answer[0]
    # and the ticket still waits in the queue for an agent, its answer on the public timeline
    ticket.refresh_from_db()
    assert ticket.status in OPEN_STATUSES and ticket.first_response_at is None
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY, actor=None, data__automatic=True).count() == 1


@pytest.mark.parametrize("yes", ["1", "解决了", "是的，谢谢"])
def test_a_yes_by_sms_resolves_the_ticket_as_self_served_and_counts_the_deflection(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any, yes: str
) -> None:
    ticket = sms_from_merchant(world, KNOWN_FIX, django_capture_on_commit_callbacks)

    again = sms_from_merchant(world, yes, django_capture_on_commit_callbacks)

    assert again.pk == ticket.pk  # the answer joined the open ticket of the conversation
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    event = ticket.events.get(kind=TicketEvent.Kind.STATUS_CHANGED, to_status=Status.RESOLVED)
    assert event.actor is None and event.data == {"automatic": True} and event.reason.startswith("self-served")
    assert SelfServiceAnswer.objects.get(ticket=ticket).outcome == "solved"
    assert Deflection.objects.filter(kind="self_service", ticket=ticket, merchant=world.merchant).count() == 1


@pytest.mark.parametrize("no", ["2", "没有解决", "人工"])
def test_a_no_by_sms_leaves_the_ticket_to_an_agent_with_its_priority_kept(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any, no: str
) -> None:
    ticket = sms_from_merchant(world, KNOWN_FIX, django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    priority = ticket.priority

    sms_from_merchant(world, no, django_capture_on_commit_callbacks)

    ticket.refresh_from_db()
    assert ticket.status in OPEN_STATUSES and ticket.priority == priority
    assert SelfServiceAnswer.objects.get(ticket=ticket).outcome == "not_solved"
    assert not Deflection.objects.filter(ticket=ticket).exists()


def test_a_message_that_is_not_an_answer_changes_nothing(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = sms_from_merchant(world, KNOWN_FIX, django_capture_on_commit_callbacks)

    sms_from_merchant(world, "换了卡也一样，而且打印机也不出纸了", django_capture_on_commit_callbacks)

    assert SelfServiceAnswer.objects.get(ticket=ticket).outcome == "pending"
    ticket.refresh_from_db()
    assert ticket.status in OPEN_STATUSES


def test_a_yes_without_a_question_asked_is_an_ordinary_message(world: Any, monday: None, open_ticket: Any) -> None:
    ticket = open_ticket(text="打印机不出纸了", channel="sms")
    assert self_service_reply(ticket=ticket, text="1") is None
    with pytest.raises(NotFound):
        self_service_conclude(ticket=ticket, solved=True)


def test_the_first_answer_stands(world: Any, monday: None, django_capture_on_commit_callbacks: Any) -> None:
    ticket = sms_from_merchant(world, KNOWN_FIX, django_capture_on_commit_callbacks)
    self_service_conclude(ticket=ticket, solved=False)

    self_service_conclude(ticket=ticket, solved=False)  # the same answer again: harmless
    with pytest.raises(Conflict):
        self_service_conclude(ticket=ticket, solved=True)
    assert self_service_reply(ticket=ticket, text="1") is None  # not pending any more: an ordinary message


def test_a_portal_ticket_gets_the_answer_on_its_page_not_by_sms(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any
) -> None:
    before = len(sms_to(world))
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(actor=world.merchant_user, merchant=world.merchant, text=KNOWN_FIX, channel="portal")

    assert SelfServiceAnswer.objects.get(ticket=ticket).channel == "portal"
    assert not [b for b in sms_to(world)[before:] if "请持卡人换一张卡" in b]
    assert ticket.events.filter(kind=TicketEvent.Kind.REPLY, actor=None, body__contains="请持卡人换一张卡").exists()


def test_an_article_marked_as_a_known_fix_answers_a_how_to(
    world: Any, monday: None, open_ticket: Any, settings: Any
) -> None:
    settings.TRIAGE_SELF_SERVICE_CONFIDENCE = 0.5  # the threshold has its own test; this one is about the article
    from posdesk.knowledge.services import ArticleData, article_create

    article = article_create(actor=world.supervisor, data=ArticleData(
        slug="printer-paper", title="打印机不出纸怎么办", summary="换纸、清理打印头", steps="1. 打开纸仓……",
        category="hardware", audience="merchant", status="published", known_fix=True,
        self_service_answer="请打开纸仓，确认热敏纸光面朝向打印头，装好后合上盖子再打印。",
    ))
    ticket = open_ticket(actor=world.merchant_user, text="打印机不出纸怎么办", channel="portal")

    tickets_triage(ticket_ids=[ticket.pk])

    offer = SelfServiceAnswer.objects.get(ticket=ticket)
    assert (offer.source, offer.article_id) == ("article", article.pk)
    assert "热敏纸" in offer.answer


@pytest.mark.parametrize(
    ("text", "channel", "why"),
    [
        ("刷卡提示51，收不了款了，黑屏", "sms", "P1: a merchant who cannot take payments gets a person"),
        ("刷卡显示A0", "sms", "A0 points to a terminal fault"),
        (KNOWN_FIX, "api", "an agent opened it; nobody can answer yes or no on its thread"),
        (KNOWN_FIX, "phone", "the merchant is on the phone with an agent"),
    ],
)
def test_no_answer_is_given_where_a_person_is_needed(
    world: Any, monday: None, open_ticket: Any, text: str, channel: str, why: str
) -> None:
    ticket = open_ticket(actor=world.agent, text=text, channel=channel)

    tickets_triage(ticket_ids=[ticket.pk])

    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists(), why


def test_no_answer_below_the_confidence_threshold(world: Any, monday: None, open_ticket: Any, settings: Any) -> None:
    settings.TRIAGE_SELF_SERVICE_CONFIDENCE = 1.01
    ticket = open_ticket(actor=world.merchant_user, text=KNOWN_FIX, channel="portal")

    tickets_triage(ticket_ids=[ticket.pk])

    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists()


def test_no_answer_once_an_agent_has_replied(world: Any, monday: None, open_ticket: Any) -> None:
    ticket = open_ticket(actor=world.merchant_user, text=KNOWN_FIX, channel="portal")
    ticket_reply(ticket=ticket, actor=world.agent, body="您好，我来看一下。")

    tickets_triage(ticket_ids=[ticket.pk])

    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists()


def test_a_ticket_the_detector_linked_to_an_incident_gets_no_second_answer(
    world: Any, monday: None, open_ticket: Any, monkeypatch: Any
) -> None:
    # the incident's status answered this reporter (I's incidents_observe says so by linking it)
    ticket = open_ticket(actor=world.merchant_user, text=KNOWN_FIX, channel="portal")
    monkeypatch.setattr(pipeline, "incidents_observe", lambda *, signals: {s.ticket_id: 99 for s in signals})

    outcome = tickets_triage(ticket_ids=[ticket.pk])

    assert outcome.incident_linked == {ticket.pk: 99} and outcome.answered == []
    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists()


def test_an_identity_only_the_text_gave_gets_no_answer(world: Any, monday: None) -> None:
    # a stranger's e-mail naming a shop's MID is linked for the agents, but not answered in that shop's name
    from posdesk.tickets.services import ticket_open_from_channel

    ticket = ticket_open_from_channel(channel="email", text=f"商户号 {world.merchant.mid} 刷卡提示51", merchant=None)

    tickets_triage(ticket_ids=[ticket.pk])

    ticket.refresh_from_db()
    assert ticket.merchant_id == world.merchant.pk
    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists()


def test_deflection_figures_count_offers_and_outcomes(
    world: Any, monday: None, open_ticket: Any
) -> None:
    tickets = [open_ticket(actor=world.merchant_user, text=KNOWN_FIX, channel="portal") for _ in range(3)]
    tickets_triage(ticket_ids=[t.pk for t in tickets])
    self_service_conclude(ticket=tickets[0], solved=True)
    self_service_conclude(ticket=tickets[1], solved=False)

    figures = self_service_figures()

    assert (figures.offered, figures.solved, figures.not_solved, figures.pending) == (3, 1, 1, 1)
    assert figures.deflection_rate == 0.5
    assert Ticket.objects.get(pk=tickets[0].pk).priority != Priority.P1


@pytest.mark.parametrize("channel", ["wechat", "email"])
def test_the_answer_goes_on_the_merchants_wechat_or_email_thread_and_a_reply_there_answers_it(
    world: Any, monday: None, django_capture_on_commit_callbacks: Any, channel: str
) -> None:
    # given the merchant's WeChat follower id and e-mail address
    world.contact.wechat_openid, world.contact.email = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "boss@example.cn"
    world.contact.save(update_fields=["wechat_openid", "email"])
    sender = world.contact.wechat_openid if channel == "wechat" else world.contact.email
    message, _ = inbound_store(channel=channel, provider_id=f"{channel}-1", payload=b"", sender=sender, text=KNOWN_FIX)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = inbound_process(message=message, text=KNOWN_FIX, merchant=world.merchant)
    assert ticket is not None

    # then the whole answer went to that thread
    sent = OutboxMessage.objects.filter(ticket_id=ticket.pk, channel=channel, body__contains="请持卡人换一张卡")
    assert sent.count() == 1 and sent.get().recipient == sender
    assert ("回复本邮件" if channel == "email" else "回复 1") in sent.get().body

    # when the merchant answers on the same thread (an e-mail reply quotes the question below)
    reply = "是的，解决了\n\n> 问题解决了吗？" if channel == "email" else "解决了"
    answer, _ = inbound_store(channel=channel, provider_id=f"{channel}-2", payload=b"", sender=sender, text=reply)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(message=answer, text=reply, merchant=world.merchant, thread_ticket=ticket)

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert SelfServiceAnswer.objects.get(ticket=ticket).outcome == "solved"
