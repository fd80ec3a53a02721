"""The contact gate with the database: decisions logged, messages handed to the outbox or held,
deferred messages decided again before they go, and the merchant's wishes written."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from posdesk.contact.decision import Outcome, Reason
from posdesk.contact.models import ContactDecision, ContactOptOut, ContactRuleSet, MarketingConsent
from posdesk.contact.selectors import contact_rules_changed, contact_summary
from posdesk.contact.services import (
    contact_call_logged,
    contact_decide,
    contact_do_not_disturb_set,
    contact_inbound_recorded,
    contact_opt_in,
    contact_opt_out,
    contact_plan,
    contact_plan_carry_out,
    contact_request,
    marketing_consent_record,
    marketing_consent_withdraw,
)
from posdesk.core.errors import Conflict, ValidationFailed
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_deliver_one

pytestmark = pytest.mark.django_db

# Shanghai wall times on Monday 2026-11-23 (a working day), as UTC
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MONDAY_2230 = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
TUESDAY_08 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
NATIONAL_DAY_10 = datetime(2026, 10, 2, 2, 0, tzinfo=UTC)


def _ask(world, purpose="service_reply", channel="sms", at=MONDAY_10, ticket_id=None, actor=None):
    return contact_request(merchant_id=world.merchant.pk, channel=channel, purpose=purpose,
                           recipient="13812345678", body="【posdesk】您好", ticket_id=ticket_id, at=at, actor=actor)


def test_an_allowed_contact_goes_to_the_outbox_and_is_logged_as_a_contact(world):
    result = _ask(world)
    assert result.decision.outcome == Outcome.ALLOW
    assert result.message.status == OutboxMessage.Status.PENDING and result.message.next_attempt_at is None
    assert result.message.merchant_id == world.merchant.pk
    logged = ContactDecision.objects.get()
    assert (logged.outcome, logged.reason, logged.contacted) == ("allow", "allowed", True)
    assert logged.outbox_message_id == result.message.pk


def test_a_service_message_at_night_is_held_until_the_morning_and_decided_again(world):
    # given a follow-up asked for at 22:30
    result = _ask(world, purpose="service_follow_up", at=MONDAY_2230)
    # then it is held in the outbox until 08:00, not dropped
    assert result.decision.outcome == Outcome.DEFER and result.decision.reason == Reason.QUIET_HOURS
    message = OutboxMessage.objects.get()
    assert message.next_attempt_at == TUESDAY_08 and message.gate_recheck
    assert ContactDecision.objects.get().contacted is False
    # when the worker takes it at 08:01
    status = _deliver_at(message, TUESDAY_08 + timedelta(minutes=1))
    # then the gate is asked again, allows it, and it is sent and counted once
    assert status == OutboxMessage.Status.SENT
    assert list(ContactDecision.objects.order_by("pk").values_list("outcome", "contacted")) == [
        ("defer", False), ("allow", True)]


def test_a_held_message_is_withheld_if_the_merchant_asks_not_to_be_disturbed_meanwhile(world):
    message = _ask(world, purpose="service_follow_up", at=MONDAY_2230).message
    contact_do_not_disturb_set(merchant=world.merchant, on=True, actor=world.merchant_user)
    status = _deliver_at(message, TUESDAY_08 + timedelta(minutes=1))
    message.refresh_from_db()
    assert status == OutboxMessage.Status.WITHHELD
    assert message.sent_at is None and message.last_error == "do_not_disturb"


def _deliver_at(message, at):
    with time_machine.travel(at, tick=False):
        return outbox_deliver_one(message_id=message.pk)


def test_marketing_without_recorded_consent_is_denied_and_nothing_is_sent(world):
    result = _ask(world, purpose="marketing")
    assert (result.decision.outcome, result.decision.reason) == (Outcome.DENY, Reason.NO_CONSENT)
    assert result.message is None and not OutboxMessage.objects.exists()
    assert ContactDecision.objects.get().outcome == "deny"
    with translation.override("en"):
        assert "consent" in result.reason_text
    with translation.override("zh-hans"):
        assert "授权" in result.reason_text


def test_marketing_with_consent_is_capped_at_two_in_thirty_days(world):
    marketing_consent_record(merchant=world.merchant, channel="sms", how="portal", actor=world.merchant_user)
    first = _ask(world, purpose="marketing", at=MONDAY_10 - timedelta(days=10))
    second = _ask(world, purpose="marketing", at=MONDAY_10 - timedelta(days=3))
    third = _ask(world, purpose="marketing", at=MONDAY_10)
    assert [first.decision.outcome, second.decision.outcome] == [Outcome.ALLOW, Outcome.ALLOW]
    assert (third.decision.outcome, third.decision.reason) == (Outcome.DENY, Reason.CAP_REACHED)


def test_no_marketing_on_a_public_holiday(world):
    marketing_consent_record(merchant=world.merchant, channel="sms", how="portal", actor=world.merchant_user)
    result = _ask(world, purpose="marketing", at=NATIONAL_DAY_10)
    assert (result.decision.outcome, result.decision.reason) == (Outcome.DENY, Reason.HOLIDAY)


def test_an_sms_opt_out_of_marketing_applies_at_once_and_can_be_undone(world):
    marketing_consent_record(merchant=world.merchant, channel="sms", how="portal", actor=world.merchant_user)
    contact_opt_out(merchant=world.merchant, channel="sms", purpose="marketing", source="sms_reply", actor=None)
    assert _ask(world, purpose="marketing").decision.reason == Reason.OPTED_OUT
    # service messages on the channel are untouched
    assert _ask(world, purpose="service_reply").decision.outcome == Outcome.ALLOW
    assert contact_opt_in(merchant=world.merchant, channel="sms", purpose="marketing", actor=world.merchant_user)
    assert _ask(world, purpose="marketing", at=MONDAY_10 + timedelta(hours=1)).decision.outcome == Outcome.ALLOW


def test_opting_out_twice_keeps_one_record(world):
    contact_opt_out(merchant=world.merchant, channel="sms", purpose="marketing", source="sms_reply", actor=None)
    contact_opt_out(merchant=world.merchant, channel="sms", purpose="marketing", source="portal", actor=None)
    assert ContactOptOut.objects.count() == 1


def test_consent_on_paper_or_by_phone_needs_its_evidence(world):
    with pytest.raises(ValidationFailed) as failure:
        marketing_consent_record(merchant=world.merchant, channel="sms", how="paper_form", actor=world.agent)
    assert failure.value.code == "consent_evidence_required"
    consent = marketing_consent_record(merchant=world.merchant, channel="sms", how="paper_form",
                                       evidence="授权书 No. 2026-0188", actor=world.agent)
    assert consent.recorded_by == world.agent and consent.given_at is not None
    with pytest.raises(Conflict):
        marketing_consent_record(merchant=world.merchant, channel="sms", how="portal", actor=world.merchant_user)
    assert marketing_consent_withdraw(merchant=world.merchant, channel="sms", how="portal", actor=None) == 1
    assert MarketingConsent.objects.get().withdrawn_at is not None


def test_unknown_channel_or_purpose_is_refused(world):
    with pytest.raises(ValidationFailed):
        _ask(world, channel="fax")
    with pytest.raises(ValidationFailed):
        contact_opt_out(merchant=world.merchant, channel="sms", purpose="gossip", source="portal", actor=None)
    assert not ContactDecision.objects.exists() and not ContactOptOut.objects.exists()


def test_a_reply_to_what_the_merchant_just_wrote_goes_at_night(world):
    contact_inbound_recorded(merchant_id=world.merchant.pk, channel="wechat", at=MONDAY_2230 - timedelta(minutes=5))
    result = _ask(world, purpose="service_reply", at=MONDAY_2230)
    assert (result.decision.outcome, result.decision.reason) == (Outcome.ALLOW, Reason.REPLY_TO_MERCHANT)


def test_a_contact_planned_before_its_change_is_written_as_contact_request_writes_it(world):
    """A report opened at night by the merchant: the acknowledgement is decided before the write
    transaction (`contact_plan`), taking the report as their inbound message, and written inside
    it (`contact_plan_carry_out`) — with no reads left for the transaction."""
    plan = contact_plan(merchant_id=world.merchant.pk, channel="sms", purpose="service_reply",
                        recipient="13812345678", at=MONDAY_2230, inbound_channel="portal")
    assert (plan.decision.outcome, plan.decision.reason) == (Outcome.ALLOW, Reason.REPLY_TO_MERCHANT)
    assert not ContactDecision.objects.exists() and not OutboxMessage.objects.exists()  # nothing written yet
    with CaptureQueriesContext(connection) as written:
        result = contact_plan_carry_out(plan, body="【posdesk】已受理", actor=None)
    assert [q["sql"].split(None, 1)[0] for q in written.captured_queries] == ["INSERT", "INSERT"]
    logged = ContactDecision.objects.get()
    assert (logged.outcome, logged.reason, logged.decided_at) == ("allow", "reply_to_merchant", MONDAY_2230)
    assert logged.outbox_message_id == result.message.pk and result.message.body == "【posdesk】已受理"
    # without the inbound message the same plan is held until the morning, as contact_request holds it
    later = contact_plan(merchant_id=world.merchant.pk, channel="sms", purpose="service_reply",
                         recipient="13812345678", at=MONDAY_2230)
    asked = _ask(world, purpose="service_reply", at=MONDAY_2230)
    assert later.decision == asked.decision
    assert (later.decision.outcome, later.decision.until) == (Outcome.DEFER, TUESDAY_08)


def test_follow_up_calls_are_capped_at_two_per_ticket_per_day(world, open_ticket):
    ticket = open_ticket()
    for minutes in (0, 30):
        contact_call_logged(merchant_id=world.merchant.pk, ticket_id=ticket.pk, purpose="service_follow_up",
                            actor=world.agent, at=MONDAY_10 + timedelta(minutes=minutes))
    preview = contact_decide(merchant_id=world.merchant.pk, channel="phone", purpose="service_follow_up",
                             ticket_id=ticket.pk, at=MONDAY_10 + timedelta(hours=1))
    assert (preview.outcome, preview.reason) == (Outcome.DEFER, Reason.CAP_REACHED)
    assert preview.until == MONDAY_10 + timedelta(days=1)
    # the preview itself is not logged: only real requests and calls are
    assert ContactDecision.objects.filter(channel="phone").count() == 2


def test_the_summary_says_when_and_how_often_this_week(world):
    _ask(world, at=MONDAY_10 - timedelta(days=9))
    _ask(world, at=MONDAY_10 - timedelta(days=2))
    _ask(world, channel="email", at=MONDAY_10 - timedelta(hours=1))
    _ask(world, purpose="marketing")  # denied: not a contact
    summary = contact_summary(merchant_id=world.merchant.pk, now=MONDAY_10)
    assert summary.last_contacted_at == MONDAY_10 - timedelta(hours=1)
    assert summary.last_channel == "email"
    assert summary.this_week == 2


def test_the_admins_quiet_hours_apply_once_changed(world):
    rules = ContactRuleSet.objects.get()
    rules.quiet_start, rules.quiet_end = time(23, 0), time(7, 0)
    rules.save()
    contact_rules_changed()
    assert _ask(world, purpose="service_follow_up", at=MONDAY_2230).decision.outcome == Outcome.ALLOW
