"""Helpers for the browser tests."""

import os
import re

from playwright.sync_api import expect

from posdesk.outbox.models import OutboxMessage


def snap(page, name: str) -> None:
    """POSDESK_SCREENSHOTS=<dir> keeps a picture of a step for a person to look at."""
    folder = os.environ.get("POSDESK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def portal_sign_in(page, base: str, mobile: str = "13812345678") -> None:
    """As a merchant does: the mobile number, then the code from the SMS (read from the outbox)."""
    page.goto(f"{base}/portal/")
    page.fill('#login-form [name="mobile"]', mobile)
    page.click("#send-code")
    page.wait_for_selector('#login-form [name="code"]')
    sms = OutboxMessage.objects.filter(purpose=OutboxMessage.Purpose.LOGIN_CODE, recipient=mobile).latest("pk")
    page.fill('#login-form [name="code"]', re.search(r"\d{6}", sms.body).group())
    page.click("#sign-in")
    expect(page.locator("#report-fault")).to_be_visible()


def console_sign_in(page, base: str, username: str) -> None:
    """A staff member's log-in with the demo password."""
    page.goto(f"{base}/console/login/")
    page.fill("#login-form [name=username]", username)
    page.fill("#login-form [name=password]", "Passw0rd!posdesk")
    page.click("#login-form [type=submit]")
    expect(page.locator("#logout-button")).to_be_visible()
