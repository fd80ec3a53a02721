"""Answers on an SMS ticket go back on the merchant's SMS thread: to the number they texted from,
not to the merchant's primary mobile — the acknowledgement, the agents' replies, and what the
contact gate makes of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from posdesk.channels.models import InboundMessage
from posdesk.channels.replies import reply_route
from posdesk.channels.tests.test_sms_channel import push_replies, reply
from posdesk.contact.models import ContactDecision
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_reply
from tests import factories as f

pytestmark = pytest.mark.django_db

MONDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
MONDAY_NIGHT = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)  # Monday 22:30 in Shanghai: quiet hours
OWNER = "13812345678"  # world.contact, the merchant's primary mobile
ASSISTANT = "13700001234"


@pytest.fixture(autouse=True)
def _sms_settings(settings, tmp_path) -> None:
    settings.SMS_BACKEND = "local"
    settings.SMS_LOCAL_FILE = str(tmp_path / "sms-sent.jsonl")
    settings.SMS_CALLBACK_SECRET = "secret-shared-with-the-signing-proxy"


@pytest.fixture
def assistant(world) -> Any:
    """A second contact of world.merchant: the shop assistant who texts from their own phone."""
    return f.MerchantContactFactory(merchant=world.merchant, mobile=ASSISTANT, name="小王", is_primary=False)


def texts_to(recipient: str) -> list[str]:
    return list(OutboxMessage.objects.filter(channel="sms", recipient=recipient).order_by("pk")
                .values_list("body", flat=True))


def test_the_acknowledgement_goes_to_the_number_that_texted_not_the_primary_mobile(
    world, assistant, time_machine, django_capture_on_commit_callbacks
):
    # given a Monday morning
    time_machine.move_to(MONDAY_MORNING, tick=False)

    # when the shop assistant reports a fault by SMS
    push_replies(Client(), [reply("N7NL00000001 刷卡没反应", mobile=ASSISTANT)], django_capture_on_commit_callbacks)

    # then the ticket is the merchant's and its acknowledgement is texted back to the assistant
    ticket = Ticket.objects.get()
    assert (ticket.merchant, ticket.channel) == (world.merchant, "sms")
    acknowledgement = texts_to(ASSISTANT)
    assert len(acknowledgement) == 1 and ticket.number in acknowledgement[0]
    assert acknowledgement[0].startswith("【posdesk】")
    assert texts_to(OWNER) == []


def test_an_agents_reply_follows_the_latest_writer_on_the_ticket(
    world, assistant, time_machine, django_capture_on_commit_callbacks
):
    # given a ticket the assistant opened by SMS, to which the owner then texted from their phone
    time_machine.move_to(MONDAY_MORNING, tick=False)
    push_replies(Client(), [reply("刷卡没反应", mobile=ASSISTANT, sequence_id=1)], django_capture_on_commit_callbacks)
    first = ticket_reply(ticket=Ticket.objects.get(), actor=world.agent, body="请重启一下机器试试")
    time_machine.shift(60)
    push_replies(Client(), [reply("重启了还是不行", mobile=OWNER, sequence_id=2)], django_capture_on_commit_callbacks)

    # when the agent answers again
    ticket = Ticket.objects.get()
    ticket_reply(ticket=ticket, actor=world.agent, body="工程师明天上门")

    # then the first answer went to the assistant and the second to the owner, each on their thread
    assert first is not None
    assert [body for body in texts_to(ASSISTANT) if "请重启" in body]
    assert [body for body in texts_to(OWNER) if "工程师明天上门" in body]
    assert not [body for body in texts_to(ASSISTANT) if "工程师明天上门" in body]


def test_a_reply_at_night_is_allowed_as_an_answer_to_the_merchants_own_text(
    world, assistant, time_machine, django_capture_on_commit_callbacks
):
    # given a fault texted during quiet hours
    time_machine.move_to(MONDAY_NIGHT, tick=False)

    # when it is acknowledged at once
    push_replies(Client(), [reply("机器坏了", mobile=ASSISTANT)], django_capture_on_commit_callbacks)

    # then the gate lets the acknowledgement go now: it answers the message just sent on that channel
    decision = ContactDecision.objects.get()
    assert (decision.channel, decision.outcome, decision.reason) == ("sms", "allow", "reply_to_merchant")
    assert decision.until is None
    message = OutboxMessage.objects.get(pk=decision.outbox_message_id)
    assert (message.recipient, message.gate_recheck) == (ASSISTANT, False)


def test_a_ticket_opened_elsewhere_is_still_texted_to_the_primary_mobile(world, open_ticket, time_machine):
    time_machine.move_to(MONDAY_MORNING, tick=False)

    ticket = open_ticket(channel="portal")

    assert reply_route(ticket) is None
    assert len(texts_to(OWNER)) == 1


def test_an_unknown_sender_identified_by_an_agent_gets_the_answer_on_their_number(
    world, time_machine, django_capture_on_commit_callbacks
):
    # given a fault texted from a number no merchant registered: nobody is notified yet
    time_machine.move_to(MONDAY_MORNING, tick=False)
    push_replies(Client(), [reply("机器坏了", mobile="13700000000")], django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    assert ticket.merchant is None and not OutboxMessage.objects.exists()

    # when an agent links the ticket to the merchant and answers
    Ticket.objects.filter(pk=ticket.pk).update(merchant=world.merchant)
    ticket.refresh_from_db()
    ticket_reply(ticket=ticket, actor=world.agent, body="已为您登记，稍后回电")

    # then the answer goes to the number that wrote
    route = reply_route(ticket)
    assert route is not None and (route.channel, route.recipient) == ("sms", "13700000000")
    assert [body for body in texts_to("13700000000") if "稍后回电" in body]
    assert texts_to(OWNER) == []


def test_a_ticket_moved_to_another_merchant_does_not_answer_the_first_merchants_writer(
    world, assistant, time_machine, django_capture_on_commit_callbacks
):
    # given the assistant's SMS ticket, moved by an agent to another merchant
    time_machine.move_to(MONDAY_MORNING, tick=False)
    push_replies(Client(), [reply("机器坏了", mobile=ASSISTANT)], django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    Ticket.objects.filter(pk=ticket.pk).update(merchant=world.other_merchant)
    ticket.refresh_from_db()

    # then its answers go to that merchant's primary mobile, not to the writer of another merchant
    assert reply_route(ticket) is None
    ticket_reply(ticket=ticket, actor=world.agent, body="您好")
    assert [body for body in texts_to(world.other_contact.mobile) if "您好" in body]


def test_an_ignored_or_unlinked_sms_is_no_thread(world, open_ticket, time_machine):
    # given an SMS ticket whose stored messages are not processed into it (a "TD", a failure)
    time_machine.move_to(MONDAY_MORNING, tick=False)
    ticket = open_ticket(channel="sms")
    InboundMessage.objects.create(channel="sms", provider_id="9", sender=ASSISTANT, text="TD", payload=b"{}",
                                  ticket=ticket, merchant=world.merchant, status=InboundMessage.Status.IGNORED,
                                  received_at=MONDAY_MORNING)

    # then there is no thread to answer on
    assert reply_route(ticket) is None
