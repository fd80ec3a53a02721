"""The contact-governance decision (C4): every rule alone, the order in which they decide, and
properties over random requests. Pure: no database. Time is "frozen" by passing explicit aware
`at` values in Asia/Shanghai; nothing reads the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posdesk.contact.decision import (
    Cap,
    ContactFacts,
    ContactRequest,
    ContactRules,
    Decision,
    Outcome,
    PastContact,
    Purpose,
    Reason,
    decide,
    quiet_until,
)
from posdesk.slas.calendars import statutory_rule

SHANGHAI = timezone(timedelta(hours=8))
RULES = ContactRules()
CHANNELS = ("sms", "email", "wechat", "phone")
ALL_PURPOSES = tuple(Purpose)
# 2026-06-10 is an ordinary Wednesday, a working day in the statutory calendar
WORKDAY = date(2026, 6, 10)

_workday_rule = statutory_rule()


def is_holiday(day: date) -> bool:
    """Marketing's holiday rule: a day the statutory calendar says is not a working day."""
    return _workday_rule(day) is False


def local(day: date, hour: int = 10, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=SHANGHAI)


def at_on_workday(hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return local(WORKDAY, hour, minute, second)


def request(
    purpose: Purpose, at: datetime, channel: str = "sms", ticket_id: int | None = None
) -> ContactRequest:
    return ContactRequest(channel=channel, purpose=purpose, at=at, ticket_id=ticket_id)


def consenting(**kwargs: object) -> ContactFacts:
    """Facts of a merchant who agreed to marketing on every channel."""
    return ContactFacts(marketing_consent_channels=frozenset(CHANNELS), **kwargs)  # type: ignore[arg-type]


def sent(purpose: Purpose, at: datetime, channel: str = "sms", ticket_id: int | None = None) -> PastContact:
    return PastContact(purpose=purpose, channel=channel, at=at, ticket_id=ticket_id)


def assert_allowed(decision: Decision, reason: Reason = Reason.ALLOWED) -> None:
    assert (decision.outcome, decision.reason, decision.until) == (Outcome.ALLOW, reason, None)
    assert decision.allowed


def assert_denied(decision: Decision, reason: Reason) -> None:
    assert (decision.outcome, decision.reason, decision.until) == (Outcome.DENY, reason, None)
    assert not decision.allowed


def assert_deferred(decision: Decision, reason: Reason, until: datetime) -> None:
    assert (decision.outcome, decision.reason) == (Outcome.DEFER, reason)
    assert decision.until is not None and decision.until.utcoffset() is not None
    assert decision.until.astimezone(UTC) == until.astimezone(UTC)
    assert not decision.allowed


# --- 1. the reply exemption -------------------------------------------------------------------


def test_it_allows_a_reply_within_the_hour_at_night_under_dnd_opted_out_and_over_caps() -> None:
    # given a merchant who wrote on WeChat at 22:30, is on do-not-disturb, opted out of WeChat
    # entirely (and of service replies there), and already had replies over a (custom) reply cap
    night = at_on_workday(23)
    rules = ContactRules(caps=(*RULES.caps, Cap(Purpose.SERVICE_REPLY, 1, timedelta(days=1))))
    facts = ContactFacts(
        do_not_disturb=True,
        opt_outs=frozenset({("wechat", None), ("wechat", Purpose.SERVICE_REPLY)}),
        recent=tuple(
            sent(Purpose.SERVICE_REPLY, night - timedelta(minutes=m), "wechat") for m in (5, 10, 20)
        ),
        last_inbound_at=night - timedelta(minutes=30),
        last_inbound_channel="wechat",
    )
    # when we answer on WeChat at 23:00
    decision = decide(request(Purpose.SERVICE_REPLY, night, "wechat"), facts, rules, is_holiday)
    # then the reply goes: the merchant is waiting for it
    assert_allowed(decision, Reason.REPLY_TO_MERCHANT)


@pytest.mark.parametrize(
    ("what", "facts_extra", "rules"),
    [
        ("quiet hours", {}, RULES),
        ("do-not-disturb", {"do_not_disturb": True}, RULES),
        ("opt-out of the channel", {"opt_outs": frozenset({("sms", None)})}, RULES),
        ("opt-out of replies", {"opt_outs": frozenset({("sms", Purpose.SERVICE_REPLY)})}, RULES),
        (
            "a reply cap",
            {"recent": (sent(Purpose.SERVICE_REPLY, local(WORKDAY, 22, 50)),)},
            ContactRules(caps=(Cap(Purpose.SERVICE_REPLY, 1, timedelta(days=1)),)),
        ),
    ],
)
def test_it_lets_a_reply_within_the_window_through_each_rule_on_its_own(
    what: str, facts_extra: dict, rules: ContactRules
) -> None:
    # given the merchant wrote by SMS at 22:10 and one rule that would otherwise stop the reply
    facts = ContactFacts(last_inbound_at=local(WORKDAY, 22, 10), last_inbound_channel="sms", **facts_extra)
    # when we reply by SMS at 23:00
    decision = decide(request(Purpose.SERVICE_REPLY, local(WORKDAY, 23)), facts, rules)
    # then it is allowed as a reply to the merchant
    assert_allowed(decision, Reason.REPLY_TO_MERCHANT)


@pytest.mark.parametrize("since", [timedelta(0), timedelta(minutes=1), timedelta(hours=1)])
def test_it_counts_the_reply_window_inclusively(since: timedelta) -> None:
    # given the merchant wrote `since` ago on SMS
    now = at_on_workday(23)
    facts = ContactFacts(last_inbound_at=now - since, last_inbound_channel="sms")
    # when we reply at night
    decision = decide(request(Purpose.SERVICE_REPLY, now), facts, RULES)
    # then it is exempt (0 and exactly 1 h included)
    assert_allowed(decision, Reason.REPLY_TO_MERCHANT)


def test_it_exempts_a_reply_on_another_channel_than_the_merchant_wrote_on() -> None:
    # given the merchant reported a fault on WeChat 10 minutes ago
    now = at_on_workday(23)
    facts = ContactFacts(last_inbound_at=now - timedelta(minutes=10), last_inbound_channel="wechat")
    # when we acknowledge it by SMS at 23:00
    decision = decide(request(Purpose.SERVICE_REPLY, now, "sms"), facts, RULES)
    # then it goes: it answers what they just sent
    assert_allowed(decision, Reason.REPLY_TO_MERCHANT)


def test_a_reply_on_another_channel_respects_a_refusal_of_that_channel() -> None:
    # given the merchant wrote on WeChat 10 minutes ago and refused service replies by SMS
    now = at_on_workday(23)
    facts = ContactFacts(last_inbound_at=now - timedelta(minutes=10), last_inbound_channel="wechat",
                         opt_outs=frozenset({("sms", Purpose.SERVICE_REPLY)}))
    # when we reply by SMS
    decision = decide(request(Purpose.SERVICE_REPLY, now, "sms"), facts, RULES)
    # then the refusal stands
    assert_denied(decision, Reason.OPTED_OUT)


@pytest.mark.parametrize("since", [timedelta(hours=1, seconds=1), timedelta(days=1)])
def test_it_does_not_exempt_a_reply_older_than_the_reply_window(since: timedelta) -> None:
    # given the merchant wrote on SMS more than an hour ago
    now = at_on_workday(23)
    facts = ContactFacts(last_inbound_at=now - since, last_inbound_channel="sms")
    # when we reply by SMS at 23:00
    decision = decide(request(Purpose.SERVICE_REPLY, now), facts, RULES)
    # then quiet hours apply
    assert_deferred(decision, Reason.QUIET_HOURS, local(WORKDAY + timedelta(days=1), 8))


def test_it_does_not_exempt_a_reply_to_an_inbound_message_in_the_future() -> None:
    # given a (clock-skewed) inbound message stamped 10 minutes after the reply
    now = at_on_workday(23)
    facts = ContactFacts(last_inbound_at=now + timedelta(minutes=10), last_inbound_channel="sms")
    # when we reply by SMS at 23:00
    decision = decide(request(Purpose.SERVICE_REPLY, now), facts, RULES)
    # then it is not a reply within the window
    assert_deferred(decision, Reason.QUIET_HOURS, local(WORKDAY + timedelta(days=1), 8))


@pytest.mark.parametrize("purpose", [p for p in Purpose if p != Purpose.SERVICE_REPLY])
def test_it_exempts_only_service_replies(purpose: Purpose) -> None:
    # given the merchant (who consented to marketing) wrote by SMS 5 minutes ago
    now = at_on_workday(23)
    facts = consenting(last_inbound_at=now - timedelta(minutes=5), last_inbound_channel="sms")
    # when anything but a service reply is sent by SMS at 23:00
    decision = decide(request(purpose, now), facts, RULES)
    # then quiet hours still apply: marketing is denied, the rest deferred
    if purpose == Purpose.MARKETING:
        assert_denied(decision, Reason.QUIET_HOURS)
    else:
        assert_deferred(decision, Reason.QUIET_HOURS, local(WORKDAY + timedelta(days=1), 8))


def test_it_honours_a_custom_reply_window() -> None:
    # given a 10-minute reply window and a merchant who wrote 15 minutes ago
    now = at_on_workday(23)
    rules = ContactRules(reply_window=timedelta(minutes=10))
    facts = ContactFacts(last_inbound_at=now - timedelta(minutes=15), last_inbound_channel="sms")
    # when we reply
    decision = decide(request(Purpose.SERVICE_REPLY, now), facts, rules)
    # then the exemption has lapsed
    assert_deferred(decision, Reason.QUIET_HOURS, local(WORKDAY + timedelta(days=1), 8))


# --- 2. do-not-disturb ------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", [Purpose.MARKETING, Purpose.SURVEY, Purpose.SERVICE_FOLLOW_UP])
def test_do_not_disturb_denies_marketing_surveys_and_follow_ups(purpose: Purpose) -> None:
    # given a consenting merchant on do-not-disturb
    facts = consenting(do_not_disturb=True)
    # when we send in the daytime on a working day
    decision = decide(request(purpose, at_on_workday(10)), facts, RULES, is_holiday)
    # then it is denied for do-not-disturb
    assert_denied(decision, Reason.DO_NOT_DISTURB)


@pytest.mark.parametrize("purpose", [Purpose.SERVICE_REPLY, Purpose.INCIDENT_NOTICE])
def test_do_not_disturb_still_lets_service_replies_and_incident_notices_through(purpose: Purpose) -> None:
    # given a merchant on do-not-disturb (and no recent inbound message)
    facts = ContactFacts(do_not_disturb=True)
    # when we send a service reply or an incident notice in the daytime
    decision = decide(request(purpose, at_on_workday(10)), facts, RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


def test_do_not_disturb_does_not_lift_quiet_hours_for_an_incident_notice() -> None:
    # given a merchant on do-not-disturb
    facts = ContactFacts(do_not_disturb=True)
    # when an incident notice is due at 22:00
    decision = decide(request(Purpose.INCIDENT_NOTICE, at_on_workday(22)), facts, RULES)
    # then it waits for 08:00
    assert_deferred(decision, Reason.QUIET_HOURS, local(WORKDAY + timedelta(days=1), 8))


def test_it_follows_the_admins_do_not_disturb_purposes() -> None:
    # given an admin who lets follow-ups through do-not-disturb
    rules = ContactRules(dnd_purposes=frozenset({Purpose.MARKETING, Purpose.SURVEY}))
    facts = ContactFacts(do_not_disturb=True)
    # when we follow up / survey in the daytime
    follow_up = decide(request(Purpose.SERVICE_FOLLOW_UP, at_on_workday()), facts, rules)
    survey = decide(request(Purpose.SURVEY, at_on_workday()), facts, rules)
    # then the follow-up goes and the survey does not
    assert_allowed(follow_up)
    assert_denied(survey, Reason.DO_NOT_DISTURB)


# --- 3. opt-outs ------------------------------------------------------------------------------


def test_an_opt_out_of_one_purpose_denies_only_that_purpose_on_that_channel() -> None:
    # given a consenting merchant who replied "TD" to marketing SMS
    facts = consenting(opt_outs=frozenset({("sms", Purpose.MARKETING)}))
    now = at_on_workday(10)
    # when we send marketing by SMS, a survey by SMS, and marketing by e-mail
    sms_marketing = decide(request(Purpose.MARKETING, now, "sms"), facts, RULES, is_holiday)
    sms_survey = decide(request(Purpose.SURVEY, now, "sms"), facts, RULES, is_holiday)
    email_marketing = decide(request(Purpose.MARKETING, now, "email"), facts, RULES, is_holiday)
    # then only the SMS marketing is refused, naming the channel
    assert_denied(sms_marketing, Reason.OPTED_OUT)
    assert sms_marketing.detail == {"channel": "sms"}
    assert_allowed(sms_survey)
    assert_allowed(email_marketing)


@pytest.mark.parametrize("purpose", [Purpose.MARKETING, Purpose.SURVEY, Purpose.SERVICE_FOLLOW_UP])
def test_an_opt_out_of_a_whole_channel_denies_every_purpose_there_but_replies_and_notices(
    purpose: Purpose,
) -> None:
    # given a consenting merchant who opted out of phone calls altogether
    facts = consenting(opt_outs=frozenset({("phone", None)}))
    # when we call for marketing, a survey or a follow-up
    decision = decide(request(purpose, at_on_workday(10), "phone", ticket_id=1), facts, RULES, is_holiday)
    # then it is refused
    assert_denied(decision, Reason.OPTED_OUT)
    assert decision.detail == {"channel": "phone"}


@pytest.mark.parametrize("purpose", [Purpose.SERVICE_REPLY, Purpose.INCIDENT_NOTICE])
def test_an_opt_out_of_a_whole_channel_still_lets_replies_and_incident_notices_through(
    purpose: Purpose,
) -> None:
    # given a merchant who opted out of phone calls altogether (no recent inbound message)
    facts = ContactFacts(opt_outs=frozenset({("phone", None)}))
    # when we call with a service reply or an incident notice in the daytime
    decision = decide(request(purpose, at_on_workday(10), "phone"), facts, RULES)
    # then it goes
    assert_allowed(decision)


@pytest.mark.parametrize("purpose", ALL_PURPOSES)
def test_an_opt_out_of_a_whole_channel_leaves_other_channels_alone(purpose: Purpose) -> None:
    # given a consenting merchant who opted out of phone calls altogether
    facts = consenting(opt_outs=frozenset({("phone", None)}))
    # when we use WeChat in the daytime on a working day
    decision = decide(request(purpose, at_on_workday(10), "wechat", ticket_id=1), facts, RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


# --- 4. consent -------------------------------------------------------------------------------


def test_marketing_without_consent_is_denied_naming_the_channel() -> None:
    # given a merchant who never consented to marketing
    facts = ContactFacts()
    # when we send marketing by SMS in the daytime
    decision = decide(request(Purpose.MARKETING, at_on_workday(10)), facts, RULES, is_holiday)
    # then it is denied for lack of consent on SMS
    assert_denied(decision, Reason.NO_CONSENT)
    assert decision.detail == {"channel": "sms"}


def test_consent_on_another_channel_does_not_cover_this_one() -> None:
    # given consent to marketing by e-mail only
    facts = ContactFacts(marketing_consent_channels=frozenset({"email"}))
    # when we send marketing by WeChat
    decision = decide(request(Purpose.MARKETING, at_on_workday(10), "wechat"), facts, RULES, is_holiday)
    # then it is denied
    assert_denied(decision, Reason.NO_CONSENT)
    assert decision.detail == {"channel": "wechat"}


def test_marketing_with_consent_goes_in_the_daytime_on_a_working_day() -> None:
    # given consent to marketing by SMS, and a working day (checked against the calendar)
    assert is_holiday(WORKDAY) is False
    facts = ContactFacts(marketing_consent_channels=frozenset({"sms"}))
    # when we send marketing by SMS at 10:00
    decision = decide(request(Purpose.MARKETING, at_on_workday(10)), facts, RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


@pytest.mark.parametrize("purpose", [p for p in Purpose if p != Purpose.MARKETING])
def test_only_marketing_needs_consent(purpose: Purpose) -> None:
    # given no marketing consent at all
    # when any other purpose is sent in the daytime
    decision = decide(request(purpose, at_on_workday(10), ticket_id=1), ContactFacts(), RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


# --- 5. caps ----------------------------------------------------------------------------------


def test_the_third_marketing_message_in_30_days_is_denied() -> None:
    # given two marketing messages in the last 30 days (on different channels: the cap is per merchant)
    now = at_on_workday(10)
    facts = consenting(
        recent=(
            sent(Purpose.MARKETING, now - timedelta(days=29)),
            sent(Purpose.MARKETING, now - timedelta(days=3), "email"),
        )
    )
    # when a third is planned
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then it is denied with the cap in the detail
    assert_denied(decision, Reason.CAP_REACHED)
    assert decision.detail == {"count": 2, "days": 30}


def test_a_second_marketing_message_in_30_days_goes() -> None:
    # given one marketing message in the last 30 days
    now = at_on_workday(10)
    facts = consenting(recent=(sent(Purpose.MARKETING, now - timedelta(days=3)),))
    # when a second is planned
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


@pytest.mark.parametrize("age", [timedelta(days=30), timedelta(days=30, seconds=1), timedelta(days=90)])
def test_marketing_older_than_30_days_does_not_count(age: timedelta) -> None:
    # given two marketing messages, one of them 30 days old or older
    now = at_on_workday(10)
    facts = consenting(
        recent=(sent(Purpose.MARKETING, now - age), sent(Purpose.MARKETING, now - timedelta(days=1)))
    )
    # when a third is planned
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then the window holds only one, and it goes
    assert_allowed(decision)


def test_contacts_on_other_purposes_do_not_count_toward_the_marketing_cap() -> None:
    # given many recent contacts, none of them marketing
    now = at_on_workday(10)
    facts = consenting(
        recent=tuple(
            sent(p, now - timedelta(days=d), ticket_id=1)
            for p in Purpose
            if p != Purpose.MARKETING
            for d in (1, 2, 3)
        )
    )
    # when marketing is planned
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


def test_contacts_after_the_request_do_not_count() -> None:
    # given two marketing messages recorded after the moment asked about
    now = at_on_workday(10)
    facts = consenting(
        recent=(
            sent(Purpose.MARKETING, now + timedelta(minutes=1)),
            sent(Purpose.MARKETING, now + timedelta(days=1)),
        )
    )
    # when marketing is planned at `now`
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then the cap is not reached
    assert_allowed(decision)


def test_a_second_survey_within_14_days_is_denied() -> None:
    # given one survey 13 days ago
    now = at_on_workday(10)
    facts = ContactFacts(recent=(sent(Purpose.SURVEY, now - timedelta(days=13), "wechat"),))
    # when another survey is planned
    decision = decide(request(Purpose.SURVEY, now), facts, RULES)
    # then it is denied (survey fatigue), not deferred
    assert_denied(decision, Reason.CAP_REACHED)
    assert decision.detail == {"count": 1, "days": 14}


def test_a_survey_after_14_days_goes() -> None:
    # given one survey 14 days ago
    now = at_on_workday(10)
    facts = ContactFacts(recent=(sent(Purpose.SURVEY, now - timedelta(days=14)),))
    # when another survey is planned
    decision = decide(request(Purpose.SURVEY, now), facts, RULES)
    # then it goes
    assert_allowed(decision)


def test_a_third_follow_up_call_for_a_ticket_waits_until_the_oldest_leaves_the_day() -> None:
    # given two follow-up calls today for ticket 7, at 10:00 and 14:00
    now = at_on_workday(15)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(14), "phone", 7),
        )
    )
    # when a third call for ticket 7 is wanted at 15:00
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then it is deferred until 10:00 tomorrow, when the 10:00 call leaves the one-day window
    assert_deferred(decision, Reason.CAP_REACHED, local(WORKDAY + timedelta(days=1), 10))
    assert decision.detail == {"count": 2, "days": 1}


def test_a_follow_up_call_waits_for_the_right_one_of_three_calls() -> None:
    # given three calls for ticket 7 within the day (an import got ahead of the cap)
    now = at_on_workday(15)
    facts = ContactFacts(
        recent=tuple(sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(h), "phone", 7) for h in (9, 11, 13))
    )
    # when another call is wanted
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then it waits until only one call is left in the window: 11:00 tomorrow
    assert_deferred(decision, Reason.CAP_REACHED, local(WORKDAY + timedelta(days=1), 11))


def test_the_follow_up_call_cap_is_per_ticket() -> None:
    # given two calls today for ticket 7
    now = at_on_workday(15)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(14), "phone", 7),
        )
    )
    # when a call for ticket 8 is wanted
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 8), facts, RULES)
    # then it goes
    assert_allowed(decision)


def test_a_follow_up_by_sms_is_not_capped_by_the_phone_cap() -> None:
    # given two calls and two SMS follow-ups today for ticket 7
    now = at_on_workday(15)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(14), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(11), "sms", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(12), "sms", 7),
        )
    )
    # when a follow-up SMS for ticket 7 is wanted
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "sms", 7), facts, RULES)
    # then it goes
    assert_allowed(decision)


def test_follow_ups_by_sms_do_not_count_toward_the_phone_cap() -> None:
    # given one call and two SMS follow-ups today for ticket 7
    now = at_on_workday(15)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(11), "sms", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(12), "sms", 7),
        )
    )
    # when a second call for ticket 7 is wanted
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then it goes
    assert_allowed(decision)


def test_a_cap_deferral_that_would_land_in_quiet_hours_moves_to_08_00() -> None:
    # given calls for ticket 7 at 21:30 yesterday and 10:00 today
    now = at_on_workday(12)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, local(WORKDAY - timedelta(days=1), 21, 30), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
        )
    )
    # when a third call is wanted at noon
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then the cap frees at 21:30 tonight, inside quiet hours, so the call waits for 08:00 tomorrow
    assert_deferred(decision, Reason.CAP_REACHED, local(WORKDAY + timedelta(days=1), 8))


# --- 6. quiet hours and holidays --------------------------------------------------------------

NIGHT_CASES = [
    # (local time of the request, day offset of the 08:00 it waits for)
    (time(21, 0), 1),
    (time(23, 59), 1),
    (time(23, 59, 59, 999999), 1),
    (time(0, 0), 0),
    (time(7, 59), 0),
    (time(7, 59, 59, 999999), 0),
]


@pytest.mark.parametrize(
    "purpose", [Purpose.SERVICE_FOLLOW_UP, Purpose.INCIDENT_NOTICE, Purpose.SERVICE_REPLY]
)
@pytest.mark.parametrize(("clock", "days_later"), NIGHT_CASES)
def test_service_messages_in_quiet_hours_wait_until_08_00_the_right_day(
    purpose: Purpose, clock: time, days_later: int
) -> None:
    # given no reply exemption
    at = datetime.combine(WORKDAY, clock, tzinfo=SHANGHAI)
    # when a service message is due at night
    decision = decide(request(purpose, at, "phone", 7), ContactFacts(), RULES)
    # then it waits for 08:00 (Asia/Shanghai) of the right day, as an aware UTC moment
    expected = local(WORKDAY + timedelta(days=days_later), 8)
    assert_deferred(decision, Reason.QUIET_HOURS, expected)
    assert decision.until == datetime.combine(WORKDAY + timedelta(days=days_later), time(0), tzinfo=UTC)


@pytest.mark.parametrize("purpose", ALL_PURPOSES)
@pytest.mark.parametrize("clock", [time(8, 0), time(12, 0), time(20, 59), time(20, 59, 59, 999999)])
def test_every_purpose_goes_between_08_00_and_21_00(purpose: Purpose, clock: time) -> None:
    # given a consenting merchant and a working day
    at = datetime.combine(WORKDAY, clock, tzinfo=SHANGHAI)
    # when anything is sent at 08:00 or just before 21:00
    decision = decide(request(purpose, at, ticket_id=1), consenting(), RULES, is_holiday)
    # then it goes
    assert_allowed(decision)


@pytest.mark.parametrize(
    ("clock", "day"),
    [(time(21, 0), WORKDAY), (time(23, 30), WORKDAY), (time(3, 0), WORKDAY), (time(7, 59), WORKDAY)],
)
def test_marketing_in_quiet_hours_is_denied_not_queued(clock: time, day: date) -> None:
    # given a consenting merchant
    at = datetime.combine(day, clock, tzinfo=SHANGHAI)
    # when marketing is planned at night
    decision = decide(request(Purpose.MARKETING, at), consenting(), RULES, is_holiday)
    # then it is denied for quiet hours (planned again, not deferred)
    assert_denied(decision, Reason.QUIET_HOURS)


def test_a_survey_in_quiet_hours_is_deferred_like_a_service_message() -> None:
    # given no earlier survey
    # when a survey is due at 22:00
    decision = decide(request(Purpose.SURVEY, at_on_workday(22)), ContactFacts(), RULES)
    # then it waits for 08:00 (only marketing is denied at night)
    assert_deferred(decision, Reason.QUIET_HOURS, local(WORKDAY + timedelta(days=1), 8))


def test_it_reads_quiet_hours_in_shanghai_whatever_the_requests_time_zone() -> None:
    # given 13:30 UTC, which is 21:30 in Shanghai
    at = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
    # when a follow-up is due
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, at), ContactFacts(), RULES)
    # then it is in quiet hours and waits for 08:00 Shanghai on 11 June
    assert_deferred(decision, Reason.QUIET_HOURS, local(date(2026, 6, 11), 8))


def test_marketing_on_a_statutory_holiday_is_denied() -> None:
    # given National Day 2026-10-01, which the calendar says is not a working day
    assert _workday_rule(date(2026, 10, 1)) is False
    # when marketing is planned at 10:00 that day
    decision = decide(
        request(Purpose.MARKETING, local(date(2026, 10, 1), 10)), consenting(), RULES, is_holiday
    )
    # then it is denied for the holiday
    assert_denied(decision, Reason.HOLIDAY)


def test_marketing_on_an_adjusted_working_saturday_goes() -> None:
    # given Saturday 2026-10-10, a working day moved for National Day (调休)
    assert date(2026, 10, 10).weekday() == 5 and _workday_rule(date(2026, 10, 10)) is True
    # when marketing is planned at 10:00 that day
    decision = decide(
        request(Purpose.MARKETING, local(date(2026, 10, 10), 10)), consenting(), RULES, is_holiday
    )
    # then it goes
    assert_allowed(decision)


def test_marketing_on_an_ordinary_sunday_is_denied_as_a_day_off() -> None:
    # given Sunday 2026-10-11, an ordinary day off
    assert _workday_rule(date(2026, 10, 11)) is False
    # when marketing is planned at 10:00 that day
    decision = decide(
        request(Purpose.MARKETING, local(date(2026, 10, 11), 10)), consenting(), RULES, is_holiday
    )
    # then it is denied
    assert_denied(decision, Reason.HOLIDAY)


def test_the_holiday_rule_reads_the_shanghai_date() -> None:
    # given instants written in UTC−5, whose own date is the day before Shanghai's:
    # 2026-09-29 21:00 −05:00 is 10:00 on 30 September (a working day) in Shanghai,
    # 2026-09-30 21:00 −05:00 is 10:00 on 1 October (National Day)
    new_york_winter = timezone(timedelta(hours=-5))
    on_working_day = datetime(2026, 9, 29, 21, 0, tzinfo=new_york_winter)
    on_holiday = datetime(2026, 9, 30, 21, 0, tzinfo=new_york_winter)
    days_asked: list[date] = []

    def recording_rule(day: date) -> bool:
        days_asked.append(day)
        return is_holiday(day)

    # when marketing is planned at those moments
    working = decide(request(Purpose.MARKETING, on_working_day), consenting(), RULES, recording_rule)
    holiday = decide(request(Purpose.MARKETING, on_holiday), consenting(), RULES, recording_rule)
    # then the rule is asked about the Shanghai dates
    assert days_asked == [date(2026, 9, 30), date(2026, 10, 1)]
    assert_allowed(working)
    assert_denied(holiday, Reason.HOLIDAY)


@pytest.mark.parametrize("purpose", [p for p in Purpose if p != Purpose.MARKETING])
def test_holidays_stop_only_marketing(purpose: Purpose) -> None:
    # given National Day
    # when anything else is sent at 10:00
    decision = decide(
        request(purpose, local(date(2026, 10, 1), 10), ticket_id=1), ContactFacts(), RULES, is_holiday
    )
    # then it goes
    assert_allowed(decision)


def test_marketing_at_night_on_a_holiday_is_denied_for_quiet_hours_first() -> None:
    # given National Day at 22:00
    # when marketing is planned
    decision = decide(
        request(Purpose.MARKETING, local(date(2026, 10, 1), 22)), consenting(), RULES, is_holiday
    )
    # then quiet hours are the reason given
    assert_denied(decision, Reason.QUIET_HOURS)


# --- custom rules -----------------------------------------------------------------------------

LUNCH = ContactRules(quiet_start=time(12, 0), quiet_end=time(14, 0))


@pytest.mark.parametrize("clock", [time(12, 0), time(13, 0), time(13, 59, 59)])
def test_quiet_hours_within_one_day_defer_to_their_end_the_same_day(clock: time) -> None:
    # given quiet hours 12:00–14:00
    at = datetime.combine(WORKDAY, clock, tzinfo=SHANGHAI)
    # when a follow-up is due during them
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, at), ContactFacts(), LUNCH)
    # then it waits until 14:00 the same day
    assert_deferred(decision, Reason.QUIET_HOURS, at_on_workday(14))


@pytest.mark.parametrize("clock", [time(0, 0), time(11, 59, 59), time(14, 0), time(23, 0)])
def test_quiet_hours_within_one_day_leave_the_night_free(clock: time) -> None:
    # given quiet hours 12:00–14:00
    at = datetime.combine(WORKDAY, clock, tzinfo=SHANGHAI)
    # when a follow-up is due outside them, even at night
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, at), ContactFacts(), LUNCH)
    # then it goes
    assert_allowed(decision)


def test_marketing_in_custom_quiet_hours_is_denied() -> None:
    # given quiet hours 12:00–14:00
    # when marketing is planned at 12:30
    decision = decide(request(Purpose.MARKETING, at_on_workday(12, 30)), consenting(), LUNCH, is_holiday)
    # then it is denied for quiet hours
    assert_denied(decision, Reason.QUIET_HOURS)


@pytest.mark.parametrize("clock", [time(0, 0), time(3, 0), time(21, 0), time(23, 59)])
def test_equal_quiet_start_and_end_mean_no_quiet_hours(clock: time) -> None:
    # given quiet_start == quiet_end
    rules = ContactRules(quiet_start=time(21, 0), quiet_end=time(21, 0))
    at = datetime.combine(WORKDAY, clock, tzinfo=SHANGHAI)
    # when a follow-up and marketing are sent at any hour
    follow_up = decide(request(Purpose.SERVICE_FOLLOW_UP, at), ContactFacts(), rules)
    marketing = decide(request(Purpose.MARKETING, at), consenting(), rules, is_holiday)
    # then both go
    assert_allowed(follow_up)
    assert_allowed(marketing)
    assert quiet_until(at, rules) is None


def test_no_caps_means_no_limit() -> None:
    # given caps=() and plenty of recent marketing, surveys and calls
    rules = ContactRules(caps=())
    now = at_on_workday(15)
    facts = consenting(
        recent=tuple(sent(p, now - timedelta(hours=h), "phone", 7) for p in Purpose for h in range(1, 6))
    )
    # when each purpose is sent by phone again
    decisions = [decide(request(p, now, "phone", 7), facts, rules, is_holiday) for p in Purpose]
    # then all go
    for decision in decisions:
        assert_allowed(decision)


def test_a_channel_specific_cap_applies_only_to_that_channel() -> None:
    # given a cap of one marketing SMS a week (and no other cap), and one marketing SMS and two
    # marketing e-mails this week
    rules = ContactRules(caps=(Cap(Purpose.MARKETING, 1, timedelta(days=7), channel="sms"),))
    now = at_on_workday(10)
    facts = consenting(
        recent=(
            sent(Purpose.MARKETING, now - timedelta(days=2), "sms"),
            sent(Purpose.MARKETING, now - timedelta(days=1), "email"),
            sent(Purpose.MARKETING, now - timedelta(hours=1), "email"),
        )
    )
    # when marketing is planned by SMS and by e-mail
    by_sms = decide(request(Purpose.MARKETING, now, "sms"), facts, rules, is_holiday)
    by_email = decide(request(Purpose.MARKETING, now, "email"), facts, rules, is_holiday)
    # then SMS is capped (e-mails did not count toward it) and e-mail is not
    assert_denied(by_sms, Reason.CAP_REACHED)
    assert by_sms.detail == {"count": 1, "days": 7}
    assert_allowed(by_email)


def test_a_channel_specific_cap_ignores_contacts_on_other_channels() -> None:
    # given the SMS-only weekly cap and marketing e-mails only
    rules = ContactRules(caps=(Cap(Purpose.MARKETING, 1, timedelta(days=7), channel="sms"),))
    now = at_on_workday(10)
    facts = consenting(recent=(sent(Purpose.MARKETING, now - timedelta(days=1), "email"),))
    # when marketing is planned by SMS
    decision = decide(request(Purpose.MARKETING, now, "sms"), facts, rules, is_holiday)
    # then it goes
    assert_allowed(decision)


# --- order of the checks ----------------------------------------------------------------------


def test_do_not_disturb_is_reported_before_missing_consent() -> None:
    # given a merchant on do-not-disturb who never consented to marketing
    facts = ContactFacts(do_not_disturb=True)
    # when marketing is planned
    decision = decide(request(Purpose.MARKETING, at_on_workday(10)), facts, RULES, is_holiday)
    # then do-not-disturb is the reason
    assert_denied(decision, Reason.DO_NOT_DISTURB)


def test_do_not_disturb_is_reported_before_an_opt_out() -> None:
    # given a merchant on do-not-disturb who also opted out of SMS
    facts = consenting(do_not_disturb=True, opt_outs=frozenset({("sms", None)}))
    # when a survey is sent by SMS
    decision = decide(request(Purpose.SURVEY, at_on_workday(10)), facts, RULES)
    # then do-not-disturb is the reason
    assert_denied(decision, Reason.DO_NOT_DISTURB)


def test_an_opt_out_is_reported_before_missing_consent() -> None:
    # given a merchant who opted out of marketing SMS and never consented
    facts = ContactFacts(opt_outs=frozenset({("sms", Purpose.MARKETING)}))
    # when marketing is planned by SMS
    decision = decide(request(Purpose.MARKETING, at_on_workday(10)), facts, RULES, is_holiday)
    # then the opt-out is the reason
    assert_denied(decision, Reason.OPTED_OUT)


def test_an_opt_out_is_reported_before_a_reached_cap() -> None:
    # given a consenting merchant over the marketing cap who also opted out of marketing SMS
    now = at_on_workday(10)
    facts = consenting(
        opt_outs=frozenset({("sms", Purpose.MARKETING)}),
        recent=(
            sent(Purpose.MARKETING, now - timedelta(days=1)),
            sent(Purpose.MARKETING, now - timedelta(days=2)),
        ),
    )
    # when marketing is planned by SMS
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then the opt-out is the reason
    assert_denied(decision, Reason.OPTED_OUT)


def test_an_opt_out_of_follow_up_calls_beats_their_deferral_by_the_cap() -> None:
    # given two calls for ticket 7 today and an opt-out of phone calls
    now = at_on_workday(15)
    facts = ContactFacts(
        opt_outs=frozenset({("phone", None)}),
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(14), "phone", 7),
        ),
    )
    # when a third call is wanted
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then it is denied, not deferred
    assert_denied(decision, Reason.OPTED_OUT)


def test_missing_consent_is_reported_before_quiet_hours() -> None:
    # given no consent
    # when marketing is planned at 22:00
    decision = decide(request(Purpose.MARKETING, at_on_workday(22)), ContactFacts(), RULES, is_holiday)
    # then the missing consent is the reason
    assert_denied(decision, Reason.NO_CONSENT)


@pytest.mark.parametrize("clock", [time(22, 0), time(3, 0)])
def test_a_reached_marketing_cap_is_reported_before_quiet_hours(clock: time) -> None:
    # given a consenting merchant over the marketing cap
    now = datetime.combine(WORKDAY, clock, tzinfo=SHANGHAI)
    facts = consenting(
        recent=(
            sent(Purpose.MARKETING, now - timedelta(days=1)),
            sent(Purpose.MARKETING, now - timedelta(days=2)),
        )
    )
    # when marketing is planned at night
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then it is denied as capped, not for quiet hours
    assert_denied(decision, Reason.CAP_REACHED)


def test_a_reached_marketing_cap_is_reported_before_a_holiday() -> None:
    # given a consenting merchant over the marketing cap on National Day
    now = local(date(2026, 10, 1), 10)
    facts = consenting(
        recent=(
            sent(Purpose.MARKETING, now - timedelta(days=1)),
            sent(Purpose.MARKETING, now - timedelta(days=2)),
        )
    )
    # when marketing is planned
    decision = decide(request(Purpose.MARKETING, now), facts, RULES, is_holiday)
    # then it is denied as capped
    assert_denied(decision, Reason.CAP_REACHED)


def test_a_capped_follow_up_at_night_waits_for_08_00_when_the_cap_frees_earlier() -> None:
    # given calls for ticket 7 yesterday at 23:30 (an emergency) and today at 09:00
    now = at_on_workday(22)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, local(WORKDAY - timedelta(days=1), 23, 30), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(9), "phone", 7),
        )
    )
    # when a third call is wanted at 22:00 (the cap frees at 23:30, still quiet)
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then it waits for the later moment: 08:00 tomorrow
    assert_deferred(decision, Reason.CAP_REACHED, local(WORKDAY + timedelta(days=1), 8))


def test_a_capped_follow_up_at_night_waits_for_the_cap_when_it_frees_after_08_00() -> None:
    # given calls for ticket 7 today at 10:00 and 20:00
    now = at_on_workday(22)
    facts = ContactFacts(
        recent=(
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(10), "phone", 7),
            sent(Purpose.SERVICE_FOLLOW_UP, at_on_workday(20), "phone", 7),
        )
    )
    # when a third call is wanted at 22:00 (quiet hours end 08:00, the cap frees at 10:00)
    decision = decide(request(Purpose.SERVICE_FOLLOW_UP, now, "phone", 7), facts, RULES)
    # then it waits for the later moment: 10:00 tomorrow
    assert_deferred(decision, Reason.CAP_REACHED, local(WORKDAY + timedelta(days=1), 10))


def test_do_not_disturb_denies_a_follow_up_at_night_rather_than_deferring_it() -> None:
    # given a merchant on do-not-disturb
    # when a follow-up is due at 22:00
    decision = decide(
        request(Purpose.SERVICE_FOLLOW_UP, at_on_workday(22)), ContactFacts(do_not_disturb=True), RULES
    )
    # then it is denied (a deferral would only be denied again)
    assert_denied(decision, Reason.DO_NOT_DISTURB)


# --- quiet_until ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(WORKDAY, 20, 59, 59, 999999), None),
        (local(WORKDAY, 21), local(WORKDAY + timedelta(days=1), 8)),
        (local(WORKDAY, 23, 59, 59, 999999), local(WORKDAY + timedelta(days=1), 8)),
        (local(WORKDAY, 0), local(WORKDAY, 8)),
        (local(WORKDAY, 7, 59, 59, 999999), local(WORKDAY, 8)),
        (local(WORKDAY, 8), None),
        (local(WORKDAY, 12), None),
        # month, year and leap-day boundaries
        (local(date(2026, 6, 30), 22), local(date(2026, 7, 1), 8)),
        (local(date(2026, 12, 31), 23), local(date(2027, 1, 1), 8)),
        (local(date(2027, 2, 28), 21, 30), local(date(2027, 3, 1), 8)),
        (local(date(2028, 2, 28), 21, 30), local(date(2028, 2, 29), 8)),
        # other time zones name the same instants
        (datetime(2026, 6, 10, 12, 59, tzinfo=UTC), None),  # 20:59 Shanghai
        (datetime(2026, 6, 10, 13, 0, tzinfo=UTC), local(date(2026, 6, 11), 8)),  # 21:00 Shanghai
        (datetime(2026, 6, 10, 16, 0, tzinfo=UTC), local(date(2026, 6, 11), 8)),  # 00:00 Shanghai, 11 June
        (datetime(2026, 6, 10, 11, 0, tzinfo=timezone(timedelta(hours=-5))), local(date(2026, 6, 11), 8)),
    ],
)
def test_quiet_until_gives_the_end_of_the_quiet_period(at: datetime, expected: datetime | None) -> None:
    # given the default quiet hours 21:00–08:00
    # when asked about an instant
    result = quiet_until(at, RULES)
    # then it names the end of the period (an aware UTC moment), or None outside it
    assert result == expected
    if result is not None:
        assert result.utcoffset() == timedelta(0)
        assert quiet_until(result, RULES) is None


def test_quiet_until_within_one_day() -> None:
    # given quiet hours 12:00–14:00
    # when asked at 11:59, 12:00, 13:59 and 14:00
    answers = [quiet_until(at_on_workday(h, m), LUNCH) for h, m in ((11, 59), (12, 0), (13, 59), (14, 0))]
    # then only the two inside answer 14:00
    assert answers == [None, at_on_workday(14), at_on_workday(14), None]


# --- properties -------------------------------------------------------------------------------

FIRST = datetime(2025, 1, 1)
LAST = datetime(2027, 12, 31, 23, 59, 59)


@st.composite
def situations(
    draw: st.DrawFn, rules: st.SearchStrategy[ContactRules] | None = None
) -> tuple[ContactRequest, ContactFacts, ContactRules]:
    at = draw(st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(SHANGHAI)))
    ticket_ids = st.sampled_from([None, 1, 2])
    req = ContactRequest(
        channel=draw(st.sampled_from(CHANNELS)),
        purpose=draw(st.sampled_from(ALL_PURPOSES)),
        at=at,
        ticket_id=draw(ticket_ids),
    )
    ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))
    recent = draw(
        st.lists(
            st.builds(
                lambda purpose, channel, age, ticket_id: PastContact(purpose, channel, at - age, ticket_id),
                st.sampled_from(ALL_PURPOSES),
                st.sampled_from(CHANNELS),
                ages,
                ticket_ids,
            ),
            max_size=6,
        )
    )
    opt_outs = draw(
        st.frozensets(
            st.tuples(st.sampled_from(CHANNELS), st.sampled_from([None, *ALL_PURPOSES])), max_size=3
        )
    )
    inbound = draw(st.none() | st.timedeltas(min_value=timedelta(hours=-2), max_value=timedelta(days=2)))
    facts = ContactFacts(
        do_not_disturb=draw(st.booleans()),
        opt_outs=opt_outs,
        marketing_consent_channels=draw(st.frozensets(st.sampled_from(CHANNELS))),
        recent=tuple(recent),
        last_inbound_at=None if inbound is None else at - inbound,
        last_inbound_channel=draw(st.sampled_from(CHANNELS)),
    )
    return req, facts, draw(rules) if rules is not None else RULES


clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
custom_rules = st.builds(
    ContactRules,
    quiet_start=clock_times,
    quiet_end=clock_times,
    reply_window=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=3)),
    caps=st.lists(
        st.builds(
            Cap,
            purpose=st.sampled_from(ALL_PURPOSES),
            count=st.integers(1, 3),
            window=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=30)),
            channel=st.sampled_from(["", *CHANNELS]),
            per_ticket=st.booleans(),
        ),
        max_size=4,
    ).map(tuple),
)


def _check_well_formed(req: ContactRequest, decision: Decision, rules: ContactRules) -> None:
    assert decision.outcome in Outcome and decision.reason in Reason
    if decision.outcome == Outcome.DEFER:
        assert decision.until is not None
        assert decision.until > req.at
        assert quiet_until(decision.until, rules) is None
    else:
        assert decision.until is None
    if req.purpose == Purpose.MARKETING:
        assert decision.outcome != Outcome.DEFER


@settings(max_examples=500, deadline=None)
@given(situations())
def test_property_decide_never_raises_and_every_deferral_is_later_and_outside_quiet_hours(
    situation: tuple[ContactRequest, ContactFacts, ContactRules],
) -> None:
    # given any request and facts over 2025–2027 under the default rules
    req, facts, rules = situation
    # when decided (with the statutory holiday rule, which knows nothing of 2027)
    decision = decide(req, facts, rules, is_holiday)
    # then the answer is well formed: a deferral is strictly later and never inside quiet hours,
    # marketing is never deferred
    _check_well_formed(req, decision, rules)


@settings(max_examples=300, deadline=None)
@given(situations(rules=custom_rules))
def test_property_deferrals_stay_later_and_outside_quiet_hours_under_any_admin_rules(
    situation: tuple[ContactRequest, ContactFacts, ContactRules],
) -> None:
    # given any request and facts under random quiet hours, reply windows and caps (count ≥ 1)
    req, facts, rules = situation
    # when decided
    decision = decide(req, facts, rules, is_holiday)
    # then the same guarantees hold
    _check_well_formed(req, decision, rules)


@settings(max_examples=300, deadline=None)
@given(
    situations(rules=st.one_of(st.just(RULES), custom_rules)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1)),
)
def test_property_a_service_reply_inside_the_reply_window_is_always_allowed(
    situation: tuple[ContactRequest, ContactFacts, ContactRules], since: timedelta
) -> None:
    # given any facts, and the merchant's last message on the reply's channel within the window
    req, facts, rules = situation
    since = min(since, rules.reply_window)
    reply = ContactRequest(
        channel=req.channel, purpose=Purpose.SERVICE_REPLY, at=req.at, ticket_id=req.ticket_id
    )
    facts = ContactFacts(
        do_not_disturb=facts.do_not_disturb,
        opt_outs=facts.opt_outs,
        marketing_consent_channels=facts.marketing_consent_channels,
        recent=facts.recent,
        last_inbound_at=req.at - since,
        last_inbound_channel=req.channel,
    )
    # when the reply is decided
    decision = decide(reply, facts, rules, is_holiday)
    # then it is allowed as a reply to the merchant
    assert_allowed(decision, Reason.REPLY_TO_MERCHANT)


@settings(max_examples=300, deadline=None)
@given(situations(rules=st.one_of(st.just(RULES), custom_rules)))
def test_property_marketing_is_only_ever_allowed_or_denied(
    situation: tuple[ContactRequest, ContactFacts, ContactRules],
) -> None:
    # given any facts
    req, facts, rules = situation
    marketing = ContactRequest(channel=req.channel, purpose=Purpose.MARKETING, at=req.at)
    # when marketing is decided
    decision = decide(marketing, facts, rules, is_holiday)
    # then it is never deferred (it is planned again, not queued)
    assert decision.outcome in (Outcome.ALLOW, Outcome.DENY)
    assert decision.until is None


@pytest.mark.parametrize(("count", "window"), [(0, timedelta(days=30)), (-1, timedelta(days=1)), (1, timedelta(0))])
def test_a_cap_that_could_never_free_a_place_is_refused_when_the_rules_are_built(count, window):
    with pytest.raises(ValueError):
        Cap(Purpose.MARKETING, count, window)
