"""In headless Chromium: an agent signs in, filters the queue, opens a ticket, replies, assigns
and resolves it — every action without a full page reload."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from posdesk.tickets.models import TicketEvent
from posdesk.tickets.services import ticket_open
from tests.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_works_a_ticket_from_queue_to_resolved(live_server, world, desktop_page) -> None:
    # given two open tickets: a P1 card-reader fault and a P3 question
    p1 = ticket_open(actor=world.agent, merchant=world.merchant, terminal=world.terminal, text="刷不了卡，显示A0",
                     channel="phone", category="hardware", priority="P1")
    p3 = ticket_open(actor=world.agent, merchant=world.other_merchant, text="押金什么时候退", channel="phone",
                     category="fees", priority="P3")
    page = desktop_page

    # when the agent signs in
    page.goto(f"{live_server.url}/console/")
    expect(page).to_have_url(re.compile(r"/console/login/"))
    page.fill("#login-form [name=username]", "agent")
    page.fill("#login-form [name=password]", "Passw0rd!posdesk")
    page.click("#login-form [type=submit]")
    expect(page.locator(f"tr.ticket-row[data-number='{p1.number}']")).to_be_visible()
    expect(page.locator(f"tr.ticket-row[data-number='{p3.number}']")).to_be_visible()
    snap(page, "console-queue")

    # and filters the queue to P1 (htmx swaps the results, the URL follows)
    page.wait_for_load_state("load")  # htmx binds its handlers once the page has loaded (a person is slower)
    with page.expect_response(lambda answer: "priority=P1" in answer.url and answer.status == 200):
        page.select_option("#filter-priority", "P1")
    expect(page.locator(f"tr.ticket-row[data-number='{p3.number}']")).to_have_count(0)
    expect(page.locator(f"tr.ticket-row[data-number='{p1.number}']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"priority=P1"))

    # and opens the ticket
    page.click(f"tr.ticket-row[data-number='{p1.number}'] a.ticket-number")
    expect(page.locator("#ticket-number")).to_have_text(p1.number)
    page.evaluate("window.__no_reload = true")  # survives only if the page never reloads

    # and replies
    page.fill("#reply-form [name=body]", "您好，请先重新签到，再试一次刷卡。")
    page.click("#reply-form [type=submit]")
    expect(page.locator(".timeline")).to_contain_text("请先重新签到")
    expect(page.locator("#ticket-status")).to_have_text(re.compile("处理中|In progress"))

    # and assigns it to a colleague
    page.select_option("#assign-form [name=assignee]", str(world.agent2.pk))
    page.click("#assign-submit")
    expect(page.locator("#ticket-assignee")).to_contain_text("李坐席")

    # and resolves it
    page.select_option("#transition-form [name=to_status]", "resolved")
    page.fill("#transition-reason", "重新签到后恢复正常")
    page.click("#transition-submit")
    expect(page.locator("#ticket-workspace")).to_have_attribute("data-status", "resolved")
    snap(page, "console-ticket")

    # then no action reloaded the page, and the database holds what the page shows
    assert page.evaluate("window.__no_reload") is True
    p1.refresh_from_db()
    assert p1.status == "resolved" and p1.assignee == world.agent2 and p1.first_response_at is not None
    assert TicketEvent.objects.filter(ticket=p1, kind=TicketEvent.Kind.REPLY).count() == 1
    # the other ticket was only triaged after its commit (new → triaged); the agent touched nothing of it
    p3.refresh_from_db()
    assert p3.status == "triaged" and p3.assignee_id is None
    assert not TicketEvent.objects.filter(ticket=p3, actor=world.agent).exclude(kind=TicketEvent.Kind.CREATED).exists()
