"""A merchant on a phone types a fault into the report form; the articles that may solve it appear
under the text as they type (htmx, debounced), and "this solved my problem" ends there: a deflection
is counted and no ticket is opened."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from posdesk.demo.articles import demo_articles_load
from posdesk.knowledge.models import Deflection
from posdesk.tickets.models import Ticket
from tests.browser import portal_sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_merchant_typing_a_fault_is_offered_the_article_and_solves_it_without_a_ticket(
    world, live_server, phone_page
):
    demo_articles_load(actor=world.admin)
    page = phone_page
    portal_sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/portal/report/")
    page.select_option('#report-form [name="terminal"]', str(world.terminal.pk))
    page.type('#report-form [name="text"]', "押金怎么退", delay=40)
    expect(page.locator("#suggestion-deposit-refund")).to_be_visible()
    # typing on changes the suggestions: a printer fault brings the printer article
    page.fill('#report-form [name="text"]', "")
    page.type('#report-form [name="text"]', "打不出小票", delay=40)
    expect(page.locator("#suggestion-printer-no-paper")).to_be_visible()
    expect(page.locator("#suggestion-deposit-refund")).to_have_count(0)
    snap(page, "portal-report-suggestions")
    assert page.locator(".kb-suggestion").count() <= 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.click("#solved-printer-no-paper")
    page.wait_for_selector("#report-fault")
    assert Deflection.objects.filter(kind="portal_article", article__slug="printer-no-paper").count() == 1
    assert not Ticket.objects.exists()
