"""A merchant on a phone types a fault into the report form; the articles that may solve it appear
under the text as they type (htmx, debounced), and "this solved my problem" ends there: a deflection
is counted and no ticket is opened."""

from __future__ import annotations

import re

import pytest

from posdesk.demo.articles import demo_articles_load
from posdesk.knowledge.models import Deflection
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from tests.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_merchant_typing_a_fault_is_offered_the_article_and_solves_it_without_a_ticket(
    world, live_server, phone_page
):
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

    page.goto(f"{live_server.url}/portal/report/")
    page.select_option('#report-form [name="terminal"]', str(world.terminal.pk))
    page.type('#report-form [name="text"]', "打不出小票", delay=40)
    page.wait_for_selector("#suggestion-printer-no-paper")
    snap(page, "portal-report-suggestions")
    assert page.locator(".kb-suggestion").count() <= 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.click("#solved-printer-no-paper")
    page.wait_for_selector("#report-fault")
    assert Deflection.objects.filter(kind="portal_article", article__slug="printer-no-paper").count() == 1
    assert not Ticket.objects.exists()
