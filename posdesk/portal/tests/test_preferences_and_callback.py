"""The merchant sets how we may contact each shop; the home page shows the queue's wait and offers
a callback when it is long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from posdesk.channels.models import CallbackTask
from posdesk.contact.decision import Outcome, Reason
from posdesk.contact.models import ContactOptOut, ContactProfile, MarketingConsent
from posdesk.contact.services import contact_decide, contact_request
from posdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Shanghai 10:00, a working day


@pytest.fixture
def merchant_client(world) -> Client:
    client = Client()
    client.force_login(world.merchant_user)
    return client


def _form(world, **fields) -> dict:
    prefix = f"m{world.merchant.pk}-"
    return {prefix + name: "on" for name, on in fields.items() if on}


def test_the_merchant_sees_and_saves_their_contact_preferences(world, merchant_client, time_machine):
    time_machine.move_to(MONDAY_10)
    page = merchant_client.get("/portal/preferences/")
    assert page.status_code == 200 and world.merchant.name in page.content.decode()
    # when they turn on do-not-disturb, accept offers by WeChat, and refuse surveys
    answer = merchant_client.post("/portal/preferences/", _form(world, **{"dnd": True, "marketing-wechat": True}))
    assert answer.status_code == 302
    assert ContactProfile.objects.get(merchant=world.merchant).do_not_disturb
    consent = MarketingConsent.objects.get(merchant=world.merchant)
    assert (consent.channel, consent.how, consent.recorded_by) == ("wechat", "portal", world.merchant_user)
    assert ContactOptOut.objects.filter(merchant=world.merchant, purpose="survey").count() == 4
    # then the gate follows at once: no survey, marketing only by WeChat (do-not-disturb stops it too)
    survey = contact_decide(merchant_id=world.merchant.pk, channel="sms", purpose="survey", at=MONDAY_10)
    assert survey.outcome == Outcome.DENY
    # and when they change their mind, the consent is withdrawn, surveys allowed again
    merchant_client.post("/portal/preferences/", _form(world, surveys=True))
    assert MarketingConsent.objects.get(merchant=world.merchant).withdrawn_at is not None
    assert not ContactOptOut.objects.filter(merchant=world.merchant).exists()
    assert not ContactProfile.objects.get(merchant=world.merchant).do_not_disturb


def test_marketing_by_a_channel_the_merchant_accepted_is_allowed(world, merchant_client, time_machine):
    time_machine.move_to(MONDAY_10)
    merchant_client.post("/portal/preferences/", _form(world, surveys=True, **{"marketing-sms": True}))
    decision = contact_decide(merchant_id=world.merchant.pk, channel="sms", purpose="marketing", at=MONDAY_10)
    assert decision.outcome == Outcome.ALLOW
    email = contact_decide(merchant_id=world.merchant.pk, channel="email", purpose="marketing", at=MONDAY_10)
    assert email.reason == Reason.NO_CONSENT


def test_the_page_lists_recent_contacts(world, merchant_client, time_machine):
    time_machine.move_to(MONDAY_10)
    contact_request(merchant_id=world.merchant.pk, channel="sms", purpose="service_follow_up",
                    recipient="13812345678", body="回访")
    page = merchant_client.get("/portal/preferences/").content.decode()
    assert "2026-11-23 10:00" in page


def test_a_merchant_cannot_change_another_shops_preferences(world, merchant_client):
    other = f"m{world.other_merchant.pk}-dnd"
    merchant_client.post("/portal/preferences/", {other: "on"})
    assert not ContactProfile.objects.filter(merchant=world.other_merchant, do_not_disturb=True).exists()


def _waiting_tickets(world, count: int, now: datetime) -> None:
    for n in range(count):
        Ticket.objects.create(number=f"T2611230{n:04d}", merchant=world.merchant, channel="portal",
                              category="hardware", priority="P3", status="new", subject="x", description="x",
                              created_at=now - timedelta(minutes=30), updated_at=now)
    for n in range(2):  # two first answers in the last hour
        Ticket.objects.create(number=f"T2611231{n:04d}", merchant=world.merchant, channel="portal",
                              category="hardware", priority="P3", status="in_progress", subject="x",
                              description="x", created_at=now - timedelta(hours=2), updated_at=now,
                              first_response_at=now - timedelta(minutes=20))


def test_the_home_page_shows_the_wait_and_offers_a_callback_when_it_is_long(world, merchant_client, time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    _waiting_tickets(world, 3, MONDAY_10)  # 3 waiting, 2 answered an hour → about 90 minutes
    page = merchant_client.get("/portal/").content.decode()
    assert "预计等待约 90 分钟" in page and 'id="request-callback"' in page
    # when they ask to be called back
    answer = merchant_client.post("/portal/callback/")
    assert answer.status_code == 302
    task = CallbackTask.objects.get()
    assert (task.merchant, task.mobile, task.source) == (world.merchant, "13812345678", "requested")
    assert task.due_at == MONDAY_10 + timedelta(minutes=15)  # 15 business minutes on a working morning
    # asking twice keeps one request
    merchant_client.post("/portal/callback/")
    assert CallbackTask.objects.count() == 1


def test_no_callback_is_offered_when_nobody_waits(world, merchant_client, time_machine):
    time_machine.move_to(MONDAY_10, tick=False)
    page = merchant_client.get("/portal/").content.decode()
    assert 'id="request-callback"' not in page and 'id="queue-wait"' in page
