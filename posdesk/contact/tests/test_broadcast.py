"""A broadcast through the contact gate (`contact_request_many`): the same answers as the requests
one by one — caps that fill up inside the batch included — written in bulk, with a number of
statements that does not grow with the batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from posdesk.contact.decision import Outcome, Reason
from posdesk.contact.models import ContactDecision, ContactOptOut, ContactProfile, MarketingConsent
from posdesk.contact.services import (
    ContactDraft,
    contact_decide,
    contact_decide_many,
    contact_request,
    contact_request_many,
)
from posdesk.core.errors import ValidationFailed
from posdesk.merchants.models import Merchant
from posdesk.outbox.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db

# Shanghai wall times, as UTC: a working Monday morning, the same evening in quiet hours, National Day
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MONDAY_2230 = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
NATIONAL_DAY_10 = datetime(2026, 10, 2, 2, 0, tzinfo=UTC)

CHANNELS = ("sms", "wechat", "email", "phone")
PURPOSES = ("service_reply", "service_follow_up", "incident_notice", "survey", "marketing")
TICKET = 4242  # the decisions keep a ticket's id, not a reference


def _past(merchant, purpose, channel, ago, at, *, contacted=True, ticket_id=None):
    ContactDecision.objects.create(
        merchant=merchant, channel=channel, purpose=purpose, outcome="allow" if contacted else "deny",
        reason="allowed" if contacted else "cap_reached", contacted=contacted, decided_at=at - ago,
        ticket_id=ticket_id)


def _merchants_with_every_kind_of_wish(at):
    """One merchant per situation the gate tells apart, with history relative to `at`."""
    m = {name: f.MerchantFactory() for name in (
        "plain", "dnd", "refuses_sms", "refuses_sms_marketing", "consent", "consent_one_used", "consent_full",
        "consent_withdrawn", "survey_used", "just_wrote", "just_wrote_refuses_sms_replies", "calls_made",
        "wrote_long_ago", "everything")}
    ContactProfile.objects.create(merchant=m["dnd"], do_not_disturb=True, do_not_disturb_since=at - timedelta(days=3))
    for name, channel, purpose in (("refuses_sms", "sms", ""), ("refuses_sms_marketing", "sms", "marketing"),
                                   ("just_wrote_refuses_sms_replies", "sms", "service_reply"),
                                   ("everything", "email", ""), ("everything", "wechat", "survey")):
        ContactOptOut.objects.create(merchant=m[name], channel=channel, purpose=purpose, source="portal",
                                     created_at=at - timedelta(days=1))
    for name in ("consent", "consent_one_used", "consent_full", "refuses_sms_marketing", "dnd", "everything"):
        for channel in ("sms", "wechat"):
            MarketingConsent.objects.create(merchant=m[name], channel=channel, how="portal",
                                            given_at=at - timedelta(days=60))
    MarketingConsent.objects.create(merchant=m["consent_withdrawn"], channel="sms", how="portal",
                                    given_at=at - timedelta(days=60), withdrawn_at=at - timedelta(days=2),
                                    withdrawn_how="sms_reply")
    # caps partly used, used up, and history that must not count (too old, not a contact, later)
    _past(m["consent_one_used"], "marketing", "sms", timedelta(days=10), at)
    _past(m["consent_one_used"], "marketing", "wechat", timedelta(days=31), at)
    _past(m["consent_full"], "marketing", "sms", timedelta(days=20), at)
    _past(m["consent_full"], "marketing", "wechat", timedelta(days=29, hours=23), at)
    _past(m["consent_full"], "marketing", "sms", timedelta(days=1), at, contacted=False)
    _past(m["survey_used"], "survey", "email", timedelta(days=13), at)
    _past(m["survey_used"], "survey", "sms", -timedelta(days=1), at)  # after `at`: not yet history
    _past(m["calls_made"], "service_follow_up", "phone", timedelta(hours=20), at, ticket_id=TICKET)
    _past(m["calls_made"], "service_follow_up", "phone", timedelta(hours=3), at, ticket_id=TICKET)
    _past(m["calls_made"], "service_follow_up", "phone", timedelta(hours=2), at, ticket_id=TICKET + 1)
    _past(m["everything"], "survey", "sms", timedelta(days=2), at)
    _past(m["everything"], "marketing", "sms", timedelta(days=5), at)
    for name, channel, ago in (("just_wrote", "wechat", timedelta(minutes=5)),
                               ("just_wrote_refuses_sms_replies", "wechat", timedelta(minutes=30)),
                               ("wrote_long_ago", "sms", timedelta(hours=3)),
                               ("everything", "sms", timedelta(minutes=59))):
        ContactProfile.objects.update_or_create(merchant=m[name], defaults={
            "last_inbound_at": at - ago, "last_inbound_channel": channel})
    return m


def _mixed_batch(merchants):
    """Every merchant × purpose × channel, twice over and interleaved, so that caps fill up inside
    the batch; follow-ups alternate between two tickets."""
    drafts = []
    for round_ in range(2):
        for number, merchant in enumerate(merchants.values()):
            for purpose in PURPOSES:
                for channel in CHANNELS:
                    drafts.append(ContactDraft(
                        merchant_id=merchant.pk, channel=channel, purpose=purpose,
                        recipient=f"1380000{number:04d}", body=f"【posdesk】{purpose} {round_}",
                        ticket_id=TICKET + (number + round_) % 2 if purpose.startswith("service") else None))
    return drafts


def _answer(decision):
    return decision.outcome, decision.reason, decision.until


def _logged():
    return [
        (row.merchant_id, row.ticket_id, row.channel, row.purpose, row.outcome, row.reason, row.until, row.contacted,
         row.decided_at, row.outbox_message_id is not None)
        for row in ContactDecision.objects.order_by("pk")
    ]


def _queued():
    return list(OutboxMessage.objects.order_by("pk").values_list(
        "channel", "purpose", "recipient", "body", "ticket_id", "merchant_id", "next_attempt_at", "gate_recheck"))


@pytest.mark.parametrize("at", [MONDAY_10, MONDAY_2230, NATIONAL_DAY_10], ids=["working-day", "quiet-hours", "holiday"])
def test_a_broadcast_gets_the_answers_of_the_same_requests_one_by_one(world, at):
    # given merchants with every kind of wish and history, and a batch that asks each of them
    # everything twice
    drafts = _mixed_batch(_merchants_with_every_kind_of_wish(at))
    logged_before, queued_before = len(_logged()), len(_queued())
    # when the requests go one by one (then rolled back) …
    with transaction.atomic():
        one_by_one = [
            contact_request(merchant_id=d.merchant_id, channel=d.channel, purpose=d.purpose, recipient=d.recipient,
                            body=d.body, ticket_id=d.ticket_id, at=at)
            for d in drafts
        ]
        logged_one_by_one, queued_one_by_one = _logged()[logged_before:], _queued()[queued_before:]
        transaction.set_rollback(True)
    # … and as one broadcast, previewed first
    previewed = contact_decide_many(drafts, at=at)
    broadcast = contact_request_many(drafts, at=at)
    # then every answer is the same: outcome, reason and until
    expected = [_answer(r.decision) for r in one_by_one]
    assert [_answer(d) for d in previewed] == expected
    assert [_answer(r.decision) for r in broadcast] == expected
    # and so are the decision log and the outbox
    assert _logged()[logged_before:] == logged_one_by_one
    assert _queued()[queued_before:] == queued_one_by_one
    assert [r.message.pk if r.message else None for r in broadcast] == [
        row.outbox_message_id for row in ContactDecision.objects.order_by("pk")[logged_before:]]
    # and the batch met every rule the moment allows
    reasons = {r.decision.reason for r in broadcast}
    outcomes = {r.decision.outcome for r in broadcast}
    assert {Reason.REPLY_TO_MERCHANT, Reason.DO_NOT_DISTURB, Reason.OPTED_OUT, Reason.NO_CONSENT,
            Reason.CAP_REACHED} <= reasons
    assert {Outcome.ALLOW, Outcome.DENY, Outcome.DEFER} <= outcomes
    moment_rule = {MONDAY_10: Reason.ALLOWED, MONDAY_2230: Reason.QUIET_HOURS, NATIONAL_DAY_10: Reason.HOLIDAY}[at]
    assert moment_rule in reasons
    capped = [r.decision for r in broadcast if r.decision.reason == Reason.CAP_REACHED]
    assert any(d.outcome == Outcome.DEFER and d.until is not None for d in capped)  # a follow-up call held


def test_two_marketing_messages_in_one_batch_count_against_each_other(world):
    # given a merchant with marketing consent who was sent one campaign ten days ago
    merchant = world.merchant
    MarketingConsent.objects.create(merchant=merchant, channel="sms", how="portal",
                                    given_at=MONDAY_10 - timedelta(days=60))
    fresh = f.MerchantFactory()
    MarketingConsent.objects.create(merchant=fresh, channel="sms", how="portal",
                                    given_at=MONDAY_10 - timedelta(days=60))
    _past(merchant, "marketing", "sms", timedelta(days=10), MONDAY_10)
    # when one batch carries two campaigns to them and three to a merchant never sent one
    drafts = [ContactDraft(merchant_id=m.pk, channel="sms", purpose="marketing", recipient="13812345678", body="促销")
              for m in (merchant, fresh, merchant, fresh, fresh)]
    results = contact_request_many(drafts, at=MONDAY_10)
    # then the cap of two in thirty days holds inside the batch too
    assert [_answer(r.decision)[:2] for r in results] == [
        (Outcome.ALLOW, Reason.ALLOWED), (Outcome.ALLOW, Reason.ALLOWED), (Outcome.DENY, Reason.CAP_REACHED),
        (Outcome.ALLOW, Reason.ALLOWED), (Outcome.DENY, Reason.CAP_REACHED)]
    assert OutboxMessage.objects.count() == 3
    assert ContactDecision.objects.filter(decided_at=MONDAY_10).count() == 5
    # and a single request afterwards sees the batch's contacts
    assert contact_decide(merchant_id=fresh.pk, channel="sms", purpose="marketing",
                          at=MONDAY_10 + timedelta(hours=1)).reason == Reason.CAP_REACHED


def test_a_broadcast_writes_its_messages_for_delivery_after_the_commit(world, django_capture_on_commit_callbacks):
    drafts = [ContactDraft(merchant_id=world.merchant.pk, channel="sms", purpose="incident_notice",
                           recipient="13812345678", body="【posdesk】银联通道故障，已在处理")]
    with django_capture_on_commit_callbacks() as callbacks:
        [result] = contact_request_many(drafts, at=MONDAY_10, actor=world.agent)
    assert result.decision.allowed and result.message.pk is not None
    assert result.message.status == OutboxMessage.Status.PENDING and result.message.next_attempt_at is None
    logged = ContactDecision.objects.get()
    assert (logged.actor, logged.outbox_message_id, logged.contacted) == (world.agent, result.message.pk, True)
    assert len(callbacks) == 1  # one delivery kick for the whole batch


def test_a_broadcast_with_an_unknown_channel_is_refused_whole(world):
    drafts = [ContactDraft(merchant_id=world.merchant.pk, channel="sms", purpose="incident_notice"),
              ContactDraft(merchant_id=world.merchant.pk, channel="fax", purpose="incident_notice")]
    with pytest.raises(ValidationFailed):
        contact_request_many(drafts, at=MONDAY_10)
    assert not ContactDecision.objects.exists() and not OutboxMessage.objects.exists()


def _broadcast_world(count, at):
    merchants = Merchant.objects.bulk_create([
        Merchant(mid=f"8983309{n:08d}", name=f"广播商户{n}", district=f.district()) for n in range(count)])
    ContactProfile.objects.bulk_create([ContactProfile(merchant=m, do_not_disturb=n % 7 == 0)
                                        for n, m in enumerate(merchants)])
    ContactOptOut.objects.bulk_create([ContactOptOut(merchant=m, channel="sms", purpose="survey", source="portal",
                                                     created_at=at) for m in merchants[::5]])
    MarketingConsent.objects.bulk_create([MarketingConsent(merchant=m, channel="sms", how="portal", given_at=at)
                                          for m in merchants[::2]])
    ContactDecision.objects.bulk_create([
        ContactDecision(merchant=m, channel="sms", purpose="marketing", outcome="allow", reason="allowed",
                        contacted=True, decided_at=at - timedelta(days=3)) for m in merchants[::3]])
    return merchants


def _drafts_for(merchants, size):
    return [ContactDraft(merchant_id=merchants[n % len(merchants)].pk, channel="sms", purpose=PURPOSES[n % 5],
                         recipient="13800000000", body="【posdesk】", ticket_id=TICKET if n % 5 < 2 else None)
            for n in range(size)]


@pytest.mark.parametrize("size", [1, 40, 400])
def test_a_broadcast_reads_its_facts_in_three_statements_whatever_its_size(world, django_assert_max_num_queries,
                                                                           size):
    merchants = _broadcast_world(400, MONDAY_10)
    contact_decide_many(_drafts_for(merchants, 5), at=MONDAY_10)  # the rules and holidays are held after this
    # profile and opt-outs, consents, recent contacts
    with django_assert_max_num_queries(3):
        contact_decide_many(_drafts_for(merchants, size), at=MONDAY_10)


@pytest.mark.parametrize("size", [1, 40, 400])
def test_a_broadcast_writes_its_rows_in_one_statement_per_table(world, django_assert_max_num_queries, size):
    merchants = _broadcast_world(400, MONDAY_10)
    contact_decide_many(_drafts_for(merchants, 5), at=MONDAY_10)
    # three reads, the outbox rows, the decision rows, and the savepoint around them
    with django_assert_max_num_queries(7):
        contact_request_many(_drafts_for(merchants, size), at=MONDAY_10)


def test_a_thousand_drafts_take_three_reads_and_two_inserts(world):
    merchants = _broadcast_world(400, MONDAY_10)
    contact_decide_many(_drafts_for(merchants, 5), at=MONDAY_10)
    with CaptureQueriesContext(connection) as captured:
        results = contact_request_many(_drafts_for(merchants, 1000), at=MONDAY_10)
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries]
    assert statements.count("SELECT") == 3 and statements.count("INSERT") == 2
    assert set(statements) <= {"SELECT", "INSERT", "SAVEPOINT", "RELEASE"}
    assert ContactDecision.objects.filter(decided_at=MONDAY_10).count() == 1000
    assert OutboxMessage.objects.count() == sum(1 for r in results if r.message is not None)
