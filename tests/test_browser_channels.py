"""In headless Chromium, the channel and contact pages of issue 4 as people use them: a merchant on a
phone sets how they may be contacted and asks for a callback; an agent works the callback queue and
logs a follow-up call from the ticket page; an administrator retries a dead letter of the outbox.

The clock is a working Monday morning in Shanghai (quiet hours would defer every call): on the
server through time-machine (ticking), in the page through Playwright's clock, so the countdowns
the page computes agree with the server's deadlines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from posdesk.channels.models import CallbackTask, CallRecord
from posdesk.channels.phone.services import call_event_record
from posdesk.contact.decision import Outcome, Reason
from posdesk.contact.models import ContactDecision, ContactProfile, MarketingConsent
from posdesk.contact.services import (
    contact_decide,
    contact_do_not_disturb_set,
    contact_request,
    marketing_consent_record,
)
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from tests.browser import console_sign_in, portal_sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONDAY_1000 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai, a working day
PHONE_WIDTH = 390


@pytest.fixture(autouse=True)
def _monday_morning(time_machine):
    time_machine.move_to(MONDAY_1000)  # ticking: the live server and htmx's timers keep running


def _page_clock(page) -> None:
    """The page's own clock on the server's Monday morning (the console counts down in JavaScript)."""
    page.clock.install(time=MONDAY_1000)






def _fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def _waiting_tickets(world, waiting: int) -> None:
    """`waiting` reports without a first answer and two answered in the last hour: about
    30 minutes of wait per waiting report (Little's law, tickets/selectors.queue_wait_estimate)."""
    now = MONDAY_1000
    for n in range(waiting):
        Ticket.objects.create(number=f"T2611230{n:04d}", merchant=world.other_merchant, channel="portal",
                              category="hardware", priority="P3", status="new", subject="x", description="x",
                              created_at=now - timedelta(minutes=30), updated_at=now)
    for n in range(2):
        Ticket.objects.create(number=f"T2611231{n:04d}", merchant=world.other_merchant, channel="portal",
                              category="hardware", priority="P3", status="in_progress", subject="x",
                              description="x", created_at=now - timedelta(hours=2), updated_at=now,
                              first_response_at=now - timedelta(minutes=20))


# --- 1. the merchant's contact preferences, on a phone ---------------------------------------------


def test_merchant_on_a_phone_turns_on_do_not_disturb_and_withdraws_sms_marketing(world, live_server, phone_page):
    # given a shop that accepted offers by SMS and was sent a follow-up SMS an hour ago
    marketing_consent_record(merchant=world.merchant, channel="sms", how="paper_form", evidence="签约表 No. 2026-0815",
                             actor=world.agent)
    contact_request(merchant_id=world.merchant.pk, channel="sms", purpose="service_follow_up",
                    recipient="13812345678", body="回访：刷卡是否已恢复？", at=MONDAY_1000 - timedelta(hours=1))
    page = phone_page

    # when the merchant signs in on their phone and opens their contact preferences
    portal_sign_in(page, live_server.url)
    page.click("#preferences-link")
    shop = page.locator(f"#shop-{world.merchant.pk}")
    prefix = f"m{world.merchant.pk}-"
    dnd = shop.locator(f'[name="{prefix}dnd"]')
    sms_marketing = shop.locator(f'[name="{prefix}marketing-sms"]')
    # then they see what they agreed to: offers by SMS, surveys, no do-not-disturb
    expect(shop.locator("h3")).to_have_text("西湖便利店")
    expect(sms_marketing).to_be_checked()
    expect(shop.locator(f'[name="{prefix}marketing-wechat"]')).not_to_be_checked()
    expect(shop.locator(f'[name="{prefix}surveys"]')).to_be_checked()
    expect(dnd).not_to_be_checked()

    # and, opening "recent contacts", the follow-up SMS of an hour ago
    history = shop.locator(".contact-history")
    expect(history).to_be_hidden()
    shop.locator("details summary").click()
    expect(history).to_be_visible()
    expect(history.locator("li")).to_have_count(1)
    expect(history).to_contain_text("2026-11-23 09:00")
    expect(history).to_contain_text(re.compile("短信|SMS"))
    assert _fits_the_phone(page)
    snap(page, "portal-preferences-before")

    # when they turn on do-not-disturb, withdraw offers by SMS and save
    dnd.check()
    sms_marketing.uncheck()
    page.click("#save-preferences")

    # then the page says so and shows the stored choices
    expect(page.locator(".flash-success")).to_have_text(re.compile("联系偏好已保存|contact preferences are saved"))
    expect(dnd).to_be_checked()
    expect(sms_marketing).not_to_be_checked()
    expect(shop.locator(f'[name="{prefix}surveys"]')).to_be_checked()
    assert _fits_the_phone(page)
    snap(page, "portal-preferences-saved")

    # and the database holds them: do-not-disturb on, the SMS consent withdrawn through the portal
    assert ContactProfile.objects.get(merchant=world.merchant).do_not_disturb is True
    consent = MarketingConsent.objects.get(merchant=world.merchant, channel="sms")
    assert consent.withdrawn_at is not None and consent.withdrawn_how == "portal"

    # and a later marketing SMS is denied by the gate, logged, and nothing goes to the outbox
    later = contact_request(merchant_id=world.merchant.pk, channel="sms", purpose="marketing",
                            recipient="13812345678", body="新品优惠")
    assert later.decision.outcome == Outcome.DENY and later.message is None
    assert ContactDecision.objects.filter(merchant=world.merchant, purpose="marketing", outcome="deny").count() == 1
    assert not OutboxMessage.objects.filter(purpose=OutboxMessage.Purpose.MARKETING).exists()
    # even without do-not-disturb, the withdrawn consent alone still stops it
    contact_do_not_disturb_set(merchant=world.merchant, on=False, actor=world.merchant_user)
    alone = contact_decide(merchant_id=world.merchant.pk, channel="sms", purpose="marketing")
    assert (alone.outcome, alone.reason) == (Outcome.DENY, Reason.NO_CONSENT)


# --- 2. a long wait: the merchant asks for a callback, the desk sees it ----------------------------


def test_merchant_asks_for_a_callback_when_the_wait_is_long_and_the_agent_returns_it(
    world, live_server, phone_page, desktop_page
):
    # given three reports waiting and two first answers in the last hour: about 90 minutes of wait
    _waiting_tickets(world, 3)
    page = phone_page

    # when the merchant opens the portal on their phone
    portal_sign_in(page, live_server.url)
    # then they see the wait and are offered a callback
    expect(page.locator("#queue-wait")).to_contain_text(re.compile("预计等待约 90 分钟|about 90 min"))
    expect(page.locator("#request-callback")).to_be_visible()
    assert _fits_the_phone(page)
    snap(page, "portal-home-long-wait")

    # when they ask to be called back
    page.click("#request-callback")
    # then the page promises the call within the callback standard (15 business minutes)
    expect(page.locator(".flash-success")).to_have_text(re.compile(r"10:15"))
    task = CallbackTask.objects.get()
    assert (task.merchant_id, task.mobile, task.source, task.status) == (
        world.merchant.pk, "13812345678", CallbackTask.Source.REQUESTED, CallbackTask.Status.OPEN)
    # 15 business minutes after the request (the ticking clock moved on a little while they signed in)
    assert timedelta(minutes=15) <= task.due_at - MONDAY_1000 <= timedelta(minutes=17)

    # when an agent opens the callback queue in the console
    agent = desktop_page
    _page_clock(agent)
    console_sign_in(agent, live_server.url, "agent")
    agent.click("#nav-callbacks")
    row = agent.locator(f"#callback-{task.pk}")
    # then the request is there: masked number, the shop, due in about 15 minutes, on track
    expect(row).to_contain_text("138****5678")
    expect(row).not_to_contain_text("13812345678")
    expect(row).to_contain_text("西湖便利店")
    expect(row.locator(".sla")).to_have_class(re.compile("sla-on_track"))
    snap(agent, "console-callbacks-requested")

    # and when they call the merchant back and reach them, the callback closes without a reload
    agent.evaluate("window.__no_reload = true")
    agent.select_option(f"#callback-{task.pk}-outcome", "reached")
    agent.fill(f"#callback-{task.pk}-note", "已回电，指导重新签到")
    agent.click(f"#callback-{task.pk}-complete")
    expect(agent.locator("#callback-notice")).to_have_text(re.compile("回电已记录并关闭|Callback logged and closed"))
    expect(row).to_have_count(0)
    assert agent.evaluate("window.__no_reload") is True
    task.refresh_from_db()
    assert (task.status, task.attempts, task.outcome, task.assignee) == (
        CallbackTask.Status.DONE, 1, "reached", world.agent)
    call = CallRecord.objects.get(direction=CallRecord.Direction.OUTBOUND)
    assert (call.merchant_id, call.agent, call.note) == (world.merchant.pk, world.agent, "已回电，指导重新签到")


# --- 3. the callback queue: take, no answer, reached ----------------------------------------------


def test_agent_takes_a_missed_call_tries_once_without_answer_then_reaches_the_merchant(
    world, live_server, desktop_page, open_ticket
):
    # given the merchant's open ticket and a missed call from their number
    ticket = open_ticket(terminal=world.terminal, category="hardware", priority="P2")
    call_event_record(call_id="CC-1", event="missed", caller="13812345678", at=MONDAY_1000)
    task = CallbackTask.objects.get()
    page = desktop_page
    _page_clock(page)

    # when the agent opens the callback queue
    console_sign_in(page, live_server.url, "agent")
    page.click("#nav-callbacks")
    row = page.locator(f"#callback-{task.pk}")
    expect(row).to_have_attribute("data-status", "open")
    expect(row.locator("a.mono")).to_have_text(ticket.number)  # the missed call lands on the open ticket
    expect(row.locator(".sla")).to_have_class(re.compile("sla-on_track"))
    page.evaluate("window.__no_reload = true")

    # and takes the callback
    page.click(f"#callback-{task.pk}-take")
    # then it is theirs
    expect(page.locator("#callback-notice")).to_have_text(re.compile("回电任务已由您领取|The callback is yours"))
    expect(row).to_contain_text("王坐席")
    expect(page.locator(f"#callback-{task.pk}-take")).to_have_count(0)

    # when they press "log call" before saying how the call went, the browser asks for the outcome
    page.click(f"#callback-{task.pk}-complete")
    assert page.locator(f"#callback-{task.pk}-outcome").evaluate("select => !select.validity.valid")
    assert not CallRecord.objects.filter(direction=CallRecord.Direction.OUTBOUND).exists()

    # when nobody answers their call
    page.select_option(f"#callback-{task.pk}-outcome", "no_answer")
    page.click(f"#callback-{task.pk}-complete")
    # then the callback stays open with the attempt counted
    expect(page.locator("#callback-notice")).to_have_text(re.compile("稍后再试|stays open"))
    expect(row).to_have_attribute("data-status", "open")
    expect(row.locator("td").nth(5)).to_have_text("1")
    snap(page, "console-callbacks-no-answer")
    task.refresh_from_db()
    assert (task.status, task.attempts, task.outcome) == (CallbackTask.Status.OPEN, 1, "no_answer")

    # when they call again and reach the merchant
    page.select_option(f"#callback-{task.pk}-outcome", "reached")
    page.fill(f"#callback-{task.pk}-note", "商户已重新签到")
    page.click(f"#callback-{task.pk}-complete")
    # then it leaves the queue, closed — and the page never reloaded
    expect(page.locator("#callback-notice")).to_have_text(re.compile("回电已记录并关闭|Callback logged and closed"))
    expect(row).to_have_count(0)
    expect(page.locator("#callback-table")).to_contain_text(re.compile("没有待回电任务|No callbacks waiting"))
    assert page.evaluate("window.__no_reload") is True
    task.refresh_from_db()
    assert (task.status, task.attempts, task.outcome) == (CallbackTask.Status.DONE, 2, "reached")
    calls = CallRecord.objects.filter(direction=CallRecord.Direction.OUTBOUND, ticket=ticket).order_by("pk")
    assert [c.outcome for c in calls] == ["no_answer", "reached"]


# --- 4. the contact panel on the ticket page -------------------------------------------------------


def test_agent_reads_the_contact_panel_logs_calls_and_the_panel_follows(world, live_server, desktop_page,
                                                                      open_ticket):
    # given a ticket whose acknowledgement SMS went to the merchant at 10:00
    ticket = open_ticket(terminal=world.terminal, category="hardware", priority="P2")
    page = desktop_page
    _page_clock(page)

    # when the agent opens the ticket
    console_sign_in(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/console/tickets/{ticket.pk}/")
    panel = page.locator("#contact-panel")
    # then the panel (loaded by htmx) says when the merchant was last contacted and how often
    expect(panel.locator("#contact-summary")).to_have_text(
        re.compile(r"(上次联系 2026-11-23 10:0\d（短信），本周 1 次|Last contacted .* 1 time this week)"))
    # and what the gate answers for a follow-up call now
    expect(panel.locator("#contact-decision")).to_have_attribute("data-outcome", "allow")
    expect(panel.locator("#contact-decision")).to_contain_text(re.compile("现在可以回访|allowed now"))
    snap(page, "console-ticket-contact-panel")
    page.evaluate("window.__no_reload = true")

    # when they press "log call" before saying how the call went, nothing is logged
    page.click("#call-log-submit")
    assert page.locator("#call-log-outcome").evaluate("select => !select.validity.valid")
    assert not CallRecord.objects.filter(ticket=ticket).exists()

    # when they log a follow-up call nobody answered
    page.select_option("#call-log-outcome", "no_answer")
    page.fill("#call-log-note", "无人接听")
    page.click("#call-log-submit")
    # then the panel updates in place: the notice, the count, the call (number masked)
    expect(panel.locator("#contact-notice")).to_have_text(re.compile("通话已记录|Call logged"))
    expect(panel.locator("#contact-summary")).to_have_text(re.compile(r"本周 2 次|2 times this week"))
    expect(panel.locator("#contact-calls li")).to_have_count(1)
    expect(panel.locator("#contact-calls")).to_contain_text("138****5678")
    expect(panel.locator("#contact-calls")).not_to_contain_text("13812345678")
    expect(panel.locator("#contact-decision")).to_have_attribute("data-outcome", "allow")

    # when they log a second call, which reaches the merchant
    page.select_option("#call-log-outcome", "reached")
    page.fill("#call-log-note", "已恢复")
    page.click("#call-log-submit")
    # then two follow-up calls today are the cap: the panel says not before tomorrow morning
    expect(panel.locator("#contact-calls li")).to_have_count(2)
    expect(panel.locator("#contact-summary")).to_have_text(re.compile(r"本周 3 次|3 times this week"))
    expect(panel.locator("#contact-decision")).to_have_attribute("data-outcome", "defer")
    expect(panel.locator("#contact-decision")).to_contain_text(re.compile(r"11-24 10:0\d"))
    snap(page, "console-ticket-contact-panel-capped")
    assert page.evaluate("window.__no_reload") is True
    assert list(CallRecord.objects.filter(ticket=ticket).order_by("pk").values_list("outcome", "note")) == [
        ("no_answer", "无人接听"), ("reached", "已恢复")]


# --- 5. the outbox's dead letters, for an administrator --------------------------------------------


def test_admin_sees_the_dead_letters_and_retries_one(world, live_server, desktop_page):
    # given two dead letters of the outbox and one delivered message
    dead = OutboxMessage.objects.create(channel="sms", purpose="service_reply", recipient="13812345678",
                                        body="您的工单已受理", status=OutboxMessage.Status.DEAD, attempts=6,
                                        last_error="provider refused: isv.BUSINESS_LIMIT_CONTROL")
    other_dead = OutboxMessage.objects.create(channel="wechat", purpose="service_reply",
                                              recipient="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", body="您的工单已受理",
                                              status=OutboxMessage.Status.DEAD, attempts=6,
                                              last_error="errcode 45015: response out of time limit")
    OutboxMessage.objects.create(channel="sms", purpose="service_reply", recipient="13900001111", body="已解决",
                                 status=OutboxMessage.Status.SENT, attempts=1)
    page = desktop_page

    # when the administrator signs in to the admin and lists the dead letters
    page.goto(f"{live_server.url}/admin/login/?next=/admin/outbox/outboxmessage/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "Passw0rd!posdesk")
    page.click("#login-form [type=submit]")
    page.goto(f"{live_server.url}/admin/outbox/outboxmessage/?status__exact=dead")
    rows = page.locator("#result_list tbody tr")
    # then they see both with why they died, the recipients masked
    expect(rows).to_have_count(2)
    dead_row = rows.filter(has=page.locator(f"input[value='{dead.pk}']"))
    expect(dead_row).to_contain_text("138****5678")
    expect(dead_row).to_contain_text("isv.BUSINESS_LIMIT_CONTROL")
    expect(rows.filter(has_text="45015")).to_contain_text("o6_***")
    expect(page.locator("#result_list")).not_to_contain_text("13812345678")
    expect(page.locator("#result_list")).not_to_contain_text("o6_bmjrPTlm6")
    snap(page, "admin-outbox-dead")

    # when they retry one
    page.check(f"#result_list input[name=_selected_action][value='{dead.pk}']")
    page.select_option("select[name=action]", "retry")
    page.click("button[name=index]")
    # then the admin says it was queued, and it is no longer a dead letter
    expect(page.locator("ul.messagelist li.success")).to_have_text(
        re.compile("已将 1 条死信重新排队发送|1 dead letter queued to be sent again"))
    dead.refresh_from_db()
    assert dead.status in (OutboxMessage.Status.PENDING, OutboxMessage.Status.SENT)
    assert OutboxMessage.objects.get(pk=other_dead.pk).status == OutboxMessage.Status.DEAD
    page.goto(f"{live_server.url}/admin/outbox/outboxmessage/?status__exact=dead")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("45015")
