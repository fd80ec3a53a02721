"""In headless Chromium, a mass outage as people live it (C7): a spike of "交易失败 返回码96" in Xihu
is proposed; a supervisor finds it in the console, sets the expected recovery, confirms it and
broadcasts a public update; a merchant on a phone sees the notice with that update on the portal;
the supervisor resolves the incident and the merchant's ticket shows resolved.

The clock is a working Monday morning in Shanghai (quiet hours would hold the incident notices),
on the server through time-machine (ticking)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from posdesk.core.taxonomy import Status
from posdesk.incidents.models import Incident, IncidentTicket
from posdesk.incidents.services import incidents_observe
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_open
from tests.browser import console_sign_in, portal_sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, a working day
PHONE_WIDTH = 390
UPDATE = "银联主机已切换到备用线路，交易正在逐步恢复"


@pytest.fixture(autouse=True)
def _monday_morning(time_machine):
    time_machine.move_to(MONDAY_1000)  # ticking: the live server keeps running






def test_a_supervisor_confirms_and_updates_an_outage_that_a_merchant_follows_on_a_phone(
    world, live_server, settings, desktop_page, phone_page
):
    # given the detector proposes incidents instead of opening them (a supervisor decides)
    settings.INCIDENT_AUTO_OPEN = []
    # and 25 shops in Xihu report "交易失败 返回码96" within a minute
    reports = tickets_at(
        merchants_in("xihu", 25), [MONDAY_1000 - timedelta(seconds=60 - 2 * i) for i in range(25)]
    )
    incidents_observe(signals=[signal_of(t) for t in reports])
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.PROPOSED
    # and the merchant (a Xihu shop too) reports the same on the portal: triage reads the code and
    # the detector links the ticket to the proposal; nobody is told anything yet
    mine = ticket_open(
        actor=world.merchant_user,
        merchant=world.merchant,
        terminal=world.terminal,
        text="刷卡交易失败，屏幕显示返回码96",
        channel="portal",
    )
    assert IncidentTicket.objects.filter(incident=incident, ticket=mine).exists()
    assert not OutboxMessage.objects.filter(purpose="incident_notice").exists()

    # when the supervisor opens the incidents in the console
    console = desktop_page
    console_sign_in(console, live_server.url, "supervisor")
    console.click("#nav-incidents")
    row = console.locator(f"#incident-{incident.pk}")
    expect(row).to_have_attribute("data-status", "proposed")
    expect(row).to_contain_text("26")  # tickets linked
    row.locator("a").first.click()
    expect(console.locator("#incident-header")).to_have_attribute("data-status", "proposed")
    expect(console.locator("#incident-tickets")).to_contain_text(mine.number)

    # and sets the expected recovery (14:00 Hangzhou time)
    console.fill("#incident-eta-form [name=eta]", "2026-11-23T14:00")
    console.click("#incident-set-eta")
    expect(console.locator("#incident-eta")).to_have_text("2026-11-23 14:00")

    # and confirms the outage: its 26 reporters (26 shops) are told at once
    console.click("#incident-to-open")
    expect(console.locator("#incident-header")).to_have_attribute("data-status", "open")
    assert (
        OutboxMessage.objects.filter(purpose="incident_notice").values("merchant_id").distinct().count() == 26
    )
    assert not IncidentTicket.objects.filter(incident=incident, notified_at__isnull=True).exists()

    # and posts a public update, broadcast to every affected merchant
    console.fill("#incident-update-form [name=body]", UPDATE)
    console.check("#incident-update-form [name=broadcast]")
    console.click("#incident-post-update")
    update = console.locator("#incident-timeline li.kind-update")
    expect(update).to_contain_text(UPDATE)
    expect(update.locator(".badge")).to_have_text(
        re.compile(r"已通知 26 家商户中的 26 家|broadcast: 26 of 26 merchants")
    )
    snap(console, "incident-console")
    notices = OutboxMessage.objects.filter(purpose="incident_notice", body__contains=UPDATE)
    assert notices.count() == 26 and notices.filter(merchant=world.merchant).count() == 1

    # then the merchant, on a phone, sees the outage with the update and the expected recovery
    phone = phone_page
    portal_sign_in(phone, live_server.url, world.contact.mobile)
    notice = phone.locator("#incident-notice")
    expect(notice).to_be_visible()
    expect(notice.locator(f"[data-incident='{incident.number}']")).to_be_visible()
    expect(notice).to_contain_text(UPDATE)
    expect(notice).to_contain_text("11-23 14:00")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    expect(phone.locator(f"#open-tickets [data-number='{mine.number}']")).to_be_visible()
    snap(phone, "incident-portal")

    # when the supervisor resolves the incident, resolving its tickets, with a last word to the merchants
    console.check("#incident-resolve-form [name=resolution][value=resolve]")
    console.fill("#incident-resolve-form [name=message]", "主机已恢复，请重新发起交易")
    console.click("#incident-resolve")
    expect(console.locator("#incident-header")).to_have_attribute("data-status", "resolved")

    # then the merchant's notice is gone and their ticket shows resolved
    phone.reload()
    expect(phone.locator("#report-fault")).to_be_visible()
    expect(phone.locator("#incident-notice")).to_have_count(0)
    finished = phone.locator(f"#closed-tickets [data-number='{mine.number}']")
    expect(finished).to_be_visible()
    expect(finished.locator(".badge")).to_have_class(re.compile(r"status-resolved"))
    mine.refresh_from_db()
    assert mine.status == Status.RESOLVED and mine.assignee_id is None  # nobody worked it one by one
    assert not IncidentTicket.objects.filter(incident=incident, released_at__isnull=True).exists()
    assert Ticket.objects.filter(pk__in=[t.pk for t in reports], status=Status.RESOLVED).count() == 25
    assert (
        OutboxMessage.objects.filter(
            purpose="incident_notice", merchant=world.merchant, body__contains="已恢复"
        ).count()
        == 1
    )
