"""In headless Chromium: an agent opens a triaged ticket and sees what triage found — category,
priority, confidence, entities, suggested articles — corrects the category with one click (stored
as a correction, shown on the ticket); a merchant on a phone types into the portal's report form and
sees articles that may solve it appear as they type."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from posdesk.core.taxonomy import Category
from posdesk.demo.articles import demo_articles_load
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_open
from posdesk.triage.models import TriageCorrection, TriageRecord
from tests.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in_agent(page, live_server) -> None:
    page.goto(f"{live_server.url}/console/login/")
    page.fill("#login-form [name=username]", "agent")
    page.fill("#login-form [name=password]", "Passw0rd!posdesk")
    page.click("#login-form [type=submit]")
    page.wait_for_url(re.compile(r"/console/$"))


def test_an_agent_sees_the_triage_and_corrects_the_category_in_one_click(
    live_server, world, desktop_page
) -> None:
    # given a merchant's report naming the terminal's SN and a response code, triaged after its commit
    demo_articles_load(actor=world.admin)
    ticket = ticket_open(
        actor=world.merchant_user,
        merchant=world.merchant,
        text=f"机器 {world.terminal.sn} 刷卡显示A0，签到也失败了",
        channel="portal",
    )
    record = TriageRecord.objects.get(ticket=ticket)
    ticket.refresh_from_db()
    assert ticket.status == "triaged"
    page = desktop_page

    # when the agent opens the ticket
    _sign_in_agent(page, live_server)
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")

    # then the panel (loaded on its own) shows the suggestion with its confidence, the entities and the articles
    suggestion = page.locator("#triage-suggestion")
    # labels in the page's language (the browser asks for zh-CN), whatever language an earlier test left active
    with translation.override("zh-hans"):
        suggested_label = str(record.get_category_display())
        target = Category.NETWORK if ticket.category != Category.NETWORK else Category.SOFTWARE
        target_label = str(Category(target).label)
    expect(suggestion).to_contain_text(suggested_label)
    expect(suggestion).to_contain_text(f"{round(record.category_confidence * 100)}%")
    expect(suggestion).to_contain_text(record.priority)
    expect(page.locator("#triage-entities")).to_contain_text(world.terminal.sn)
    expect(page.locator("#triage-entities")).to_contain_text("A0")
    articles = page.locator("#triage-articles li a")
    expect(articles.first).to_be_visible()
    assert articles.count() == len(record.suggested_article_ids) >= 1
    snap(page, "console-triage-panel")

    # when the agent corrects the category with one click
    page.evaluate("window.__no_reload = true")
    page.click(f"#triage-correct-category button[value='{target}']")

    # then the ticket shows it, the panel lists the correction, and the page did not reload
    expect(page.locator("#ticket-category")).to_have_text(target_label)
    expect(page.locator("#triage-corrections")).to_contain_text(target_label)
    expect(page.locator(f"#triage-correct-category button[value='{target}']")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.evaluate("window.__no_reload") is True
    snap(page, "console-triage-corrected")
    correction = TriageCorrection.objects.get(ticket=ticket)
    assert (correction.field, correction.from_value, correction.to_value) == (
        "category",
        ticket.category,
        target,
    )
    assert correction.actor == world.agent
    assert Ticket.objects.get(pk=ticket.pk).category == target

