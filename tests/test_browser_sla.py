"""In headless Chromium: an agent sees the SLA countdown tick in the queue and takes the next
ticket; a supervisor reads the SLA report."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from posdesk.routing.models import AgentStatus
from posdesk.tickets.services import ticket_assign, ticket_open
from tests.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/login/")
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", "Passw0rd!posdesk")
    page.click("#login-form [type=submit]")


def test_agent_sees_the_countdown_and_takes_the_most_urgent_ticket(live_server, world, desktop_page) -> None:
    # given two waiting tickets of the agent's team: a P3 and a more urgent P1
    p3 = ticket_open(actor=world.agent, merchant=world.other_merchant, text="押金什么时候退", channel="phone",
                     category="fees", priority="P3")
    p1 = ticket_open(actor=world.agent, merchant=world.merchant, terminal=world.terminal, text="刷不了卡，显示A0",
                     channel="phone", category="hardware", priority="P1")
    for ticket in (p3, p1):
        ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team)
    AgentStatus.objects.create(user=world.agent, presence=AgentStatus.Presence.ONLINE)
    page = desktop_page

    # when the agent opens the queue
    _sign_in(page, live_server.url, "agent")
    row = page.locator(f"tr.ticket-row[data-number='{p1.number}']")
    # then the P1's 15 minutes count down, on track
    expect(row.locator(".sla")).to_have_class(re.compile("sla-on_track"))
    expect(row.locator(".sla")).to_have_text(re.compile(r"(剩余 1[0-5] 分钟|1[0-5] min left)"))
    snap(page, "console-queue-sla")

    # when they press "take next"
    page.click("#take-next")
    # then they land on the P1, now theirs, with its promise shown
    expect(page.locator("#ticket-number")).to_have_text(p1.number)
    expect(page.locator("#ticket-assignee")).to_contain_text("王坐席")
    expect(page.locator("#ticket-sla .sla")).to_be_visible()

    # and when they step away, the queue remembers it
    page.goto(f"{live_server.url}/console/")
    page.select_option("#presence", "away")
    expect(page.locator("#presence")).to_have_value("away")
    assert AgentStatus.objects.get(user=world.agent).presence == AgentStatus.Presence.AWAY


def test_supervisor_reads_the_sla_report(live_server, world, desktop_page) -> None:
    ticket_open(actor=world.agent, merchant=world.merchant, text="打印机不出纸", channel="phone",
                category="hardware", priority="P2")
    page = desktop_page
    _sign_in(page, live_server.url, "supervisor")
    page.click("#nav-sla")
    expect(page.locator("#sla-attainment")).to_be_visible()
    page.select_option("#id_group_by", "priority")
    page.click("#sla-report-form [type=submit]")
    expect(page.locator("#sla-attainment tr[data-group='P2']")).to_be_visible()
    snap(page, "console-sla-report")
