"""The merchant's journey in headless Chromium on a phone-sized viewport (390×844): sign in with
the SMS code, report a fault with a photo, follow the timeline, confirm the repair."""

from __future__ import annotations

import re

import pytest

from posdesk.outbox.models import OutboxMessage
from posdesk.portal.tests.conftest import png_bytes
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_transition
from tests.browser import snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_merchant_on_a_phone_signs_in_reports_a_fault_and_confirms_the_repair(
    world, live_server, phone_page, tmp_path
):
    page = phone_page
    # sign in: mobile → code from the SMS (read from the outbox) → home
    page.goto(f"{live_server.url}/portal/")
    assert "/portal/login/" in page.url
    page.fill('#login-form [name="mobile"]', "13812345678")
    page.click("#send-code")
    page.wait_for_selector('#login-form [name="code"]')
    sms = OutboxMessage.objects.filter(purpose=OutboxMessage.Purpose.LOGIN_CODE).latest("pk")
    page.fill('#login-form [name="code"]', re.search(r"\d{6}", sms.body).group())
    page.click("#sign-in")
    page.wait_for_selector("#report-fault")
    snap(page, "portal-home")
    # nothing wider than the phone: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # report a fault with a photo
    page.click("#report-fault")
    snap(page, "portal-report")
    photo = tmp_path / "screen.png"
    photo.write_bytes(png_bytes((40, 30)))
    page.select_option('#report-form [name="terminal"]', str(world.terminal.pk))
    page.fill('#report-form [name="text"]', "刷卡没反应，屏幕显示A0")
    page.set_input_files('#report-form [name="photos"]', str(photo))
    page.click("#report-submit")
    page.wait_for_selector("#ticket-number")
    ticket = Ticket.objects.get()
    assert page.inner_text("#ticket-number") == ticket.number
    assert page.locator("#timeline img").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # reply without a page reload (htmx)
    page.evaluate("window.__same_page = true")
    page.fill('#reply-form [name="body"]', "补充：银联卡和微信都不行")
    page.click("#reply-submit")
    page.wait_for_selector("#ticket-notice")
    assert "补充：银联卡和微信都不行" in page.inner_text("#timeline")
    assert page.evaluate("window.__same_page === true")

    # the repair is done; the merchant confirms it
    ticket_transition(ticket=ticket, actor=world.agent, to_status="in_progress")
    ticket_transition(ticket=ticket, actor=world.agent, to_status="pending_acceptance")
    page.reload()
    page.click("#confirm-repair")
    page.wait_for_selector('#ticket-body[data-status="resolved"]')
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    snap(page, "portal-ticket")
