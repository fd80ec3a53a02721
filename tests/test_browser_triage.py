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
from posdesk.outbox.models import OutboxMessage
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


def test_a_merchant_on_a_phone_sees_articles_while_typing_a_report(live_server, world, phone_page) -> None:
    # given the demo articles and a merchant signed in to the portal on a phone
    demo_articles_load(actor=world.admin)
    page = phone_page
    page.goto(f"{live_server.url}/portal/login/")
    page.fill('#login-form [name="mobile"]', "13812345678")
    page.click("#send-code")
    page.wait_for_selector('#login-form [name="code"]')
    sms = OutboxMessage.objects.filter(purpose=OutboxMessage.Purpose.LOGIN_CODE).latest("pk")
    page.fill('#login-form [name="code"]', re.search(r"\d{6}", sms.body).group())
    page.click("#sign-in")
    page.wait_for_selector("#report-fault")

    # when they type a question into the report form
    page.goto(f"{live_server.url}/portal/report/")
    page.type('#report-form [name="text"]', "押金怎么退", delay=40)

    # then the article that answers it appears under the text, fitting the phone's width
    expect(page.locator("#suggestion-deposit-refund")).to_be_visible()
    assert 1 <= page.locator(".kb-suggestion").count() <= 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    snap(page, "portal-report-live-suggestions")

    # and typing on changes them: a printer fault brings the printer article
    page.fill('#report-form [name="text"]', "")
    page.type('#report-form [name="text"]', "打不出小票", delay=40)
    expect(page.locator("#suggestion-printer-no-paper")).to_be_visible()
    expect(page.locator("#suggestion-deposit-refund")).to_have_count(0)
    assert not Ticket.objects.exists()
