"""Following a ticket in the portal: progress, what happens next, the public timeline, replies
(htmx and plain POST), and the merchant's own moves: confirm, not fixed / reopen, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from posdesk.tickets.models import Ticket, TicketAttachment, TicketEvent
from posdesk.tickets.services import ticket_add_note, ticket_reply, ticket_transition

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/portal/"}


def _url(ticket: Ticket, action: str = "") -> str:
    return f"/portal/tickets/{ticket.pk}/" + (f"{action}/" if action else "")


def _move(ticket: Ticket, actor, *statuses: str) -> Ticket:
    for status in statuses:
        ticket_transition(ticket=ticket, actor=actor, to_status=status, reason="测试")
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def ticket(world, open_ticket) -> Ticket:
    return open_ticket(actor=world.merchant_user, channel="portal", terminal=world.terminal)


@pytest.fixture
def pending(world, ticket) -> Ticket:
    return _move(ticket, world.agent, "in_progress", "pending_acceptance")


def test_the_ticket_page_shows_progress_next_step_and_public_timeline(world, ticket, merchant_client):
    # given an agent replied publicly and wrote an internal note
    ticket_reply(ticket=ticket, actor=world.agent, body="请重启一下机器试试")
    ticket_add_note(ticket=ticket, actor=world.agent, body="内部：疑似读卡头故障")
    page = merchant_client.get(_url(ticket)).content.decode()
    # then the merchant sees the number, progress, what comes next and the reply, not the note
    assert ticket.number in page and 'id="ticket-status"' in page
    assert '<ol class="steps labelled"' in page and 'class="current" aria-current="step"' in page
    assert "We are working on it" in page  # the agent's first reply started work
    assert "请重启一下机器试试" in page and "刷卡没反应" in page
    assert "疑似读卡头故障" not in page
    assert 'id="reply-form"' in page and 'name="body"' in page
    assert 'id="confirm-repair"' not in page


@pytest.mark.parametrize(("statuses", "expected"), [
    ((), "A service agent will look at it and contact you shortly."),
    (("waiting_merchant",), "We need your reply"),
    (("onsite_scheduled",), "A technician will visit"),
    (("in_progress", "pending_acceptance"), "Please confirm the repair"),
])
def test_what_happens_next_follows_the_status(world, ticket, merchant_client, statuses, expected):
    _move(ticket, world.agent, *statuses)
    assert expected in merchant_client.get(_url(ticket)).content.decode()


def test_merchant_cannot_see_another_merchants_ticket(world, open_ticket, merchant_client):
    other = open_ticket(merchant=world.other_merchant)
    response = merchant_client.get(_url(other))
    assert response.status_code == 404
    assert other.number not in response.content.decode()
    assert merchant_client.get("/portal/tickets/999999/").status_code == 404


@pytest.mark.parametrize("action", ["reply", "confirm", "reopen", "cancel"])
def test_merchant_cannot_act_on_another_merchants_ticket(world, open_ticket, merchant_client, action):
    other = _move(open_ticket(merchant=world.other_merchant), world.agent, "in_progress", "pending_acceptance")
    response = merchant_client.post(_url(other, action), {"body": "你好", "reason": "没修好"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "pending_acceptance" and other.events.count() == 3


def test_reply_with_htmx_updates_the_page_without_reload(world, ticket, merchant_client, png):
    response = merchant_client.post(_url(ticket, "reply"), {
        "body": "重启了还是不行", "photos": [SimpleUploadedFile("again.png", png(), "image/png")],
    }, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<div id="ticket-body"')
    assert "重启了还是不行" in body and "Your message was sent." in body
    event = ticket.events.get(kind=TicketEvent.Kind.REPLY)
    assert event.actor == world.merchant_user and event.attachments.count() == 1


def test_reply_without_javascript_redirects_back_to_the_ticket(world, ticket, merchant_client):
    response = merchant_client.post(_url(ticket, "reply"), {"body": "补充：是银联卡刷不了"})
    assert response.status_code == 302 and response.url == _url(ticket)
    assert "补充：是银联卡刷不了" in merchant_client.get(response.url).content.decode()


def test_a_photo_only_reply_is_accepted(world, ticket, merchant_client, png):
    merchant_client.post(_url(ticket, "reply"), {"body": "", "photos": [SimpleUploadedFile("a.png", png())]})
    assert TicketAttachment.objects.filter(ticket=ticket).count() == 1


def test_an_empty_reply_or_a_bad_file_is_refused_inline(world, ticket, merchant_client):
    response = merchant_client.post(_url(ticket, "reply"), {"body": "  "}, **HTMX)
    assert response.status_code == 200 and "Write a message or add a photo." in response.content.decode()
    response = merchant_client.post(_url(ticket, "reply"), {
        "body": "看图", "photos": [SimpleUploadedFile("x.jpg", b"MZ" + b"\x00" * 100, "image/jpeg")],
    }, **HTMX)
    assert "is not an accepted type" in response.content.decode()
    assert not ticket.events.filter(kind=TicketEvent.Kind.REPLY).exists()


def test_merchant_reply_to_a_question_puts_the_ticket_back_in_progress(world, ticket, merchant_client):
    _move(ticket, world.agent, "waiting_merchant")
    merchant_client.post(_url(ticket, "reply"), {"body": "机器型号是ME31"})
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


def test_merchant_confirms_the_repair(world, pending, merchant_client):
    page = merchant_client.get(_url(pending)).content.decode()
    assert 'id="confirm-repair"' in page and 'id="reopen-form"' in page
    assert 'id="cancel-form"' not in page  # a finished repair is confirmed or sent back, not cancelled
    response = merchant_client.post(_url(pending, "confirm"), **HTMX)
    assert "Thank you for confirming the repair." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "resolved"
    assert pending.events.filter(kind=TicketEvent.Kind.STATUS_CHANGED, to_status="resolved",
                                 actor=world.merchant_user).exists()


def test_confirming_a_ticket_that_is_not_waiting_for_it_is_refused_inline(world, ticket, merchant_client):
    _move(ticket, world.agent, "in_progress")
    response = merchant_client.post(_url(ticket, "confirm"))
    assert response.status_code == 200
    assert 'id="action-error"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


def test_not_fixed_sends_the_repair_back_with_the_reason(world, pending, merchant_client):
    response = merchant_client.post(_url(pending, "reopen"), {"reason": "还是刷不了卡"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "in_progress"
    assert pending.events.filter(to_status="in_progress", reason="还是刷不了卡").exists()


def test_not_fixed_needs_a_reason(world, pending, merchant_client):
    response = merchant_client.post(_url(pending, "reopen"), {"reason": " "}, **HTMX)
    page = response.content.decode()
    assert "Please give a reason for this change." in page and '<details class="action" id="reopen" open>' in page
    pending.refresh_from_db()
    assert pending.status == "pending_acceptance"


def test_merchant_reopens_a_resolved_ticket_within_the_window(world, pending, merchant_client):
    merchant_client.post(_url(pending, "confirm"))
    assert "Reopen" in merchant_client.get(_url(pending)).content.decode()
    merchant_client.post(_url(pending, "reopen"), {"reason": "又坏了"})
    pending.refresh_from_db()
    assert pending.status == "in_progress" and pending.reopen_count == 1


def test_reopening_after_the_window_is_refused_and_changes_nothing(world, pending, merchant_client):
    merchant_client.post(_url(pending, "confirm"))
    later = timezone.now() + timedelta(days=settings.TICKET_REOPEN_WINDOW_DAYS, hours=1)
    with time_machine.travel(later):
        merchant_client.force_login(world.merchant_user)  # the earlier session has expired by then
        response = merchant_client.post(_url(pending, "reopen"), {"reason": "又坏了"}, **HTMX)
    days = settings.TICKET_REOPEN_WINDOW_DAYS
    assert f"The reopen window of {days} days has passed" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "resolved" and pending.reopen_count == 0


def test_merchant_cancels_with_a_reason(world, ticket, merchant_client):
    assert 'id="cancel-form"' in merchant_client.get(_url(ticket)).content.decode()
    response = merchant_client.post(_url(ticket, "cancel"), {"reason": "自己修好了"}, **HTMX)
    assert "Your ticket was cancelled." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "cancelled"
    page = merchant_client.get(_url(ticket)).content.decode()
    assert 'id="reply-form"' not in page and 'id="cancel-form"' not in page and "steps labelled" not in page


def test_cancel_needs_a_reason(world, ticket, merchant_client):
    response = merchant_client.post(_url(ticket, "cancel"), {"reason": ""})
    assert "Please give a reason for this change." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_actions_are_posts_only(world, ticket, merchant_client):
    for action in ("reply", "confirm", "reopen", "cancel"):
        assert merchant_client.get(_url(ticket, action)).status_code == 405


def test_the_merchant_sees_what_was_promised_and_that_waiting_on_them_stops_the_clock(world, ticket,
                                                                                      merchant_client):
    # given a new ticket (P3 until triage: a reply within 2 business hours, a fix within 3 days)
    page = merchant_client.get(_url(ticket)).content.decode()
    promise = page.split('id="sla-promise"')[1].split("</dl>")[0]
    due = timezone.localtime(ticket.first_response_due_at).strftime("%m-%d %H:%M")
    assert due in promise
    assert timezone.localtime(ticket.resolution_due_at).strftime("%m-%d %H:%M") in promise
    # when the desk answers and waits on the merchant
    ticket_reply(ticket=ticket, actor=world.agent, body="请拍一张终端背面的照片。")
    _move(ticket, world.agent, "waiting_merchant")
    promise = merchant_client.get(_url(ticket)).content.decode().split('id="sla-promise"')[1].split("</dl>")[0]
    # then the reply shows as given and the merchant is told the clock is stopped meanwhile
    assert "已回复" in promise or "Replied" in promise
    assert "暂停" in promise or "stopped" in promise
