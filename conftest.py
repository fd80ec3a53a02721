"""Shared test world: one user per role around one service company, a vendor, two merchants
(one belonging to the merchant user), and helpers for API calls."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from config.celery import app as celery_app

# Background jobs run inline in tests; the real worker is exercised by the celery_worker tests.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.core.cache import cache

    from posdesk.contact.selectors import contact_rules_changed
    from posdesk.slas.selectors import sla_config_changed

    cache.clear()
    sla_config_changed()  # no SLA configuration read by an earlier test survives it
    contact_rules_changed()


@pytest.fixture
def world(db) -> Any:
    from posdesk.accounts.models import Role
    from tests import factories as f

    class World:
        pass

    f.ensure_districts()
    f.ensure_sla_defaults()
    f.ensure_response_codes()
    w = World()
    w.org = f.OrganisationFactory()
    w.vendor_org = f.VendorFactory(code="vendor-a", name="甲维修服务商")
    w.other_vendor_org = f.VendorFactory(code="vendor-b", name="乙维修服务商")
    w.team = f.TeamFactory(code="frontline", name="一线支持组")
    w.agent = f.UserFactory(username="agent", role=Role.AGENT, display_name="王坐席")
    w.agent2 = f.UserFactory(username="agent2", role=Role.AGENT, display_name="李坐席")
    w.supervisor = f.UserFactory(username="supervisor", role=Role.SUPERVISOR, display_name="赵主管")
    w.admin = f.UserFactory(username="admin", role=Role.ADMIN, display_name="管理员", is_staff=True,
                            is_superuser=True)
    w.technician = f.UserFactory(username="tech", role=Role.TECHNICIAN, display_name="钱工程师")
    w.vendor = f.UserFactory(username="vendor", role=Role.VENDOR, display_name="甲服务商调度",
                             organisation=w.vendor_org)
    w.vendor_tech = f.UserFactory(username="vendortech", role=Role.VENDOR, display_name="甲服务商工程师",
                                  organisation=w.vendor_org)
    w.team.members.add(w.agent, w.agent2)
    w.merchant = f.MerchantFactory(mid="898330160120021", name="西湖便利店")
    w.contact = f.MerchantContactFactory(merchant=w.merchant, mobile="13812345678", name="张老板")
    w.merchant_user = f.UserFactory(username="m13812345678", role=Role.MERCHANT, mobile="13812345678",
                                    organisation=None, display_name="张老板")
    w.contact.user = w.merchant_user
    w.contact.save(update_fields=["user"])
    w.terminal = f.TerminalFactory(merchant=w.merchant, sn="N7NL00000001", tid="10000001")
    w.other_merchant = f.MerchantFactory(mid="898330160120099", name="滨江面馆", district=f.district("binjiang"))
    w.other_contact = f.MerchantContactFactory(merchant=w.other_merchant, mobile="13900001111", name="李老板")
    w.other_terminal = f.TerminalFactory(merchant=w.other_merchant, sn="PAXS900000002", tid="10000002")
    w.users = {
        "merchant": w.merchant_user, "agent": w.agent, "technician": w.technician, "vendor": w.vendor,
        "supervisor": w.supervisor, "admin": w.admin,
    }
    return w


@pytest.fixture
def api() -> Callable[..., Client]:
    """api(user) → a test client that sends that user's bearer token (None: no token)."""
    from posdesk.accounts.services import api_token_issue

    def make(user: Any = None, language: str | None = None) -> Client:
        headers = {}
        if user is not None:
            headers["Authorization"] = f"Bearer {api_token_issue(user=user)}"
        if language:
            headers["Accept-Language"] = language
        return Client(headers=headers)

    return make


@pytest.fixture
def open_ticket(world) -> Callable[..., Any]:
    """open_ticket(merchant=…, text=…) opens a ticket through the service, as a merchant would."""
    from posdesk.tickets.services import ticket_open

    def make(merchant: Any = None, text: str = "刷卡没反应，屏幕显示A0", actor: Any = None, **kwargs: Any) -> Any:
        return ticket_open(actor=actor or world.agent, merchant=merchant or world.merchant, text=text,
                           channel=kwargs.pop("channel", "api"), **kwargs)

    return make


# --- CI guard: a run that requires PostgreSQL, the browser or the worker fails when they were skipped ---

_REQUIRED_SEEN: dict[str, dict[str, int]] = {}


def _required_markers() -> set[str]:
    return {m.strip() for m in os.environ.get("POSDESK_REQUIRE", "").split(",") if m.strip()}


def pytest_runtest_logreport(report: Any) -> None:
    required = _required_markers()
    if not required or report.when not in ("setup", "call"):
        return
    for marker in required & set(report.keywords):
        seen = _REQUIRED_SEEN.setdefault(marker, {"passed": 0, "skipped": 0})
        if report.skipped:
            seen["skipped"] += 1
        elif report.when == "call" and report.passed:
            seen["passed"] += 1


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    required = _required_markers()
    if not required:
        return
    problems = []
    if "postgres" in required:
        from django.conf import settings

        if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
            problems.append("POSDESK_REQUIRE=postgres but DATABASE_URL is not PostgreSQL")
    for marker in sorted(required):
        seen = _REQUIRED_SEEN.get(marker, {"passed": 0, "skipped": 0})
        if seen["skipped"]:
            problems.append(f"{seen['skipped']} required '{marker}' test(s) were skipped")
        if not seen["passed"]:
            problems.append(f"no required '{marker}' test passed")
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            reporter.write_line(f"POSDESK_REQUIRE: {problem}", red=True, bold=True)
        session.exitstatus = 1


# --- headless Chromium (Debian's package) through Playwright ---------------------------------

CHROMIUM = os.environ.get("POSDESK_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def chromium():
    """Headless Chromium for one test. Playwright's sync API runs an event loop in this thread,
    and while it runs Django (asgiref) hands out other database connections than the test set
    up; so Playwright lives only as long as the test, and those connections are closed before
    the test's database flush."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            connections.close_all()
            browser.close()


@pytest.fixture
def desktop_page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                   timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_page(chromium):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="zh-CN", timezone_id="Asia/Shanghai",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
