"""Contact governance (C4): the one decision every outbound contact passes (pure: no database).

    decide(request, facts, rules) -> Decision(outcome, reason, until)

`request` is what someone wants to send (channel, purpose, when, for which ticket); `facts` is what
is known about the merchant and contact (do-not-disturb, opt-outs, consent, what they were sent
recently, when they last wrote to us); `rules` are the admin's settings. The answer is `allow`,
`deny`, or `defer` until a moment, with a reason code an agent can read (the Django layer turns
codes into zh-Hans / English sentences and logs every decision).

The checks, in order (the first that decides wins):
  1. A service reply within `reply_window` of a message the merchant sent is allowed — they are
     waiting for it: on the channel they wrote on, always; on another channel (the SMS that
     acknowledges a fault reported in the portal or by phone) unless they refused that channel.
  2. Do-not-disturb (merchant-wide) denies marketing, surveys and follow-ups; service replies and
     incident notices (whether they can take payments) still go.
  3. A per-channel opt-out denies the purposes it covers (e.g. SMS "TD" → marketing by SMS).
  4. Marketing needs recorded consent for the channel.
  5. Caps per purpose and window (marketing ≤ 2 per 30 days, survey ≤ 1 per 14 days, follow-up
     calls ≤ 2 per ticket per day): marketing and surveys over the cap are denied; service
     messages are deferred until the oldest contact leaves the window.
  6. Quiet hours (21:00–08:00 Asia/Shanghai) defer service messages to the end of the quiet
     period; marketing is denied in quiet hours and on holidays (it is planned again, not queued).
A deferral never lands inside quiet hours: it moves on to their end."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

SHANGHAI_OFFSET = timedelta(hours=8)


class Purpose(StrEnum):
    SERVICE_REPLY = "service_reply"
    SERVICE_FOLLOW_UP = "service_follow_up"
    INCIDENT_NOTICE = "incident_notice"
    SURVEY = "survey"
    MARKETING = "marketing"


SERVICE_PURPOSES = frozenset({Purpose.SERVICE_REPLY, Purpose.SERVICE_FOLLOW_UP, Purpose.INCIDENT_NOTICE})


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    DEFER = "defer"


class Reason(StrEnum):
    ALLOWED = "allowed"
    REPLY_TO_MERCHANT = "reply_to_merchant"
    DO_NOT_DISTURB = "do_not_disturb"
    OPTED_OUT = "opted_out"
    NO_CONSENT = "no_consent"
    CAP_REACHED = "cap_reached"
    QUIET_HOURS = "quiet_hours"
    HOLIDAY = "holiday"


@dataclass(frozen=True)
class Cap:
    """At most `count` contacts of a purpose (on `channel`, if given; per ticket, if `per_ticket`)
    within `window` before the moment of the request."""

    purpose: Purpose
    count: int
    window: timedelta
    channel: str = ""
    per_ticket: bool = False

    def __post_init__(self) -> None:
        # a cap of 0 would have no moment when a deferred service message may go: forbid it
        if self.count < 1 or self.window <= timedelta(0):
            raise ValueError("a cap allows at least one contact within a positive window")


@dataclass(frozen=True)
class ContactRules:
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    reply_window: timedelta = timedelta(hours=1)
    caps: tuple[Cap, ...] = (
        Cap(Purpose.MARKETING, 2, timedelta(days=30)),
        Cap(Purpose.SURVEY, 1, timedelta(days=14)),
        Cap(Purpose.SERVICE_FOLLOW_UP, 2, timedelta(days=1), channel="phone", per_ticket=True),
    )
    # purposes that do-not-disturb stops (service replies and incident notices still go)
    dnd_purposes: frozenset[Purpose] = frozenset({Purpose.MARKETING, Purpose.SURVEY, Purpose.SERVICE_FOLLOW_UP})


@dataclass(frozen=True)
class PastContact:
    purpose: Purpose
    channel: str
    at: datetime
    ticket_id: int | None = None


@dataclass(frozen=True)
class ContactFacts:
    do_not_disturb: bool = False
    # (channel, purpose) pairs the merchant refused; purpose None: every purpose but service
    # replies and incident notices on that channel
    opt_outs: frozenset[tuple[str, Purpose | None]] = frozenset()
    marketing_consent_channels: frozenset[str] = frozenset()
    recent: tuple[PastContact, ...] = ()
    last_inbound_at: datetime | None = None
    last_inbound_channel: str = ""


@dataclass(frozen=True)
class ContactRequest:
    channel: str
    purpose: Purpose
    at: datetime
    ticket_id: int | None = None


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: Reason
    until: datetime | None = None  # for `defer`: the earliest moment to try again
    detail: dict = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.outcome == Outcome.ALLOW


HolidayRule = Callable[[date], bool]


def _local(at: datetime) -> datetime:
    return at.astimezone(UTC) + SHANGHAI_OFFSET  # naive local wall time, Asia/Shanghai (no DST)


def _from_local(local: datetime) -> datetime:
    return (local - SHANGHAI_OFFSET).replace(tzinfo=UTC)


def quiet_until(at: datetime, rules: ContactRules) -> datetime | None:
    """The end of the quiet period `at` falls in, or None outside quiet hours."""
    local = _local(at)
    clock = local.time()
    start, end = rules.quiet_start, rules.quiet_end
    if start == end:
        return None
    if start > end:  # across midnight: 21:00–08:00
        if clock >= start:
            return _from_local(datetime.combine(local.date() + timedelta(days=1), end))
        if clock < end:
            return _from_local(datetime.combine(local.date(), end))
        return None
    if start <= clock < end:
        return _from_local(datetime.combine(local.date(), end))
    return None


def _opted_out(facts: ContactFacts, channel: str, purpose: Purpose) -> bool:
    if (channel, purpose) in facts.opt_outs:
        return True
    return (channel, None) in facts.opt_outs and purpose not in (Purpose.SERVICE_REPLY, Purpose.INCIDENT_NOTICE)


def _cap_hit(cap: Cap, request: ContactRequest, recent: Iterable[PastContact]) -> datetime | None:
    """When the cap frees a place again, or None if it is not reached."""
    since = request.at - cap.window
    counted = sorted(
        c.at for c in recent
        if c.purpose == cap.purpose and since < c.at <= request.at
        and (not cap.channel or c.channel == cap.channel)
        and (not cap.per_ticket or c.ticket_id == request.ticket_id)
    )
    if len(counted) < cap.count:
        return None
    return counted[len(counted) - cap.count] + cap.window


def decide(request: ContactRequest, facts: ContactFacts, rules: ContactRules,
           is_holiday: HolidayRule = lambda _day: False) -> Decision:
    purpose, channel = request.purpose, request.channel
    if (purpose == Purpose.SERVICE_REPLY and facts.last_inbound_at is not None
            and timedelta(0) <= request.at - facts.last_inbound_at <= rules.reply_window
            and (facts.last_inbound_channel == channel or not _opted_out(facts, channel, purpose))):
        return Decision(Outcome.ALLOW, Reason.REPLY_TO_MERCHANT)
    if facts.do_not_disturb and purpose in rules.dnd_purposes:
        return Decision(Outcome.DENY, Reason.DO_NOT_DISTURB)
    if _opted_out(facts, channel, purpose):
        return Decision(Outcome.DENY, Reason.OPTED_OUT, detail={"channel": channel})
    if purpose == Purpose.MARKETING and channel not in facts.marketing_consent_channels:
        return Decision(Outcome.DENY, Reason.NO_CONSENT, detail={"channel": channel})
    for cap in rules.caps:
        if cap.purpose != purpose or (cap.channel and cap.channel != channel):
            continue
        frees_at = _cap_hit(cap, request, facts.recent)
        if frees_at is None:
            continue
        detail = {"count": cap.count, "days": cap.window / timedelta(days=1)}
        if purpose in SERVICE_PURPOSES:
            return Decision(Outcome.DEFER, Reason.CAP_REACHED, _outside_quiet(frees_at, rules), detail)
        return Decision(Outcome.DENY, Reason.CAP_REACHED, detail=detail)
    quiet_end = quiet_until(request.at, rules)
    if purpose == Purpose.MARKETING:
        if quiet_end is not None:
            return Decision(Outcome.DENY, Reason.QUIET_HOURS)
        if is_holiday(_local(request.at).date()):
            return Decision(Outcome.DENY, Reason.HOLIDAY)
    elif quiet_end is not None:
        return Decision(Outcome.DEFER, Reason.QUIET_HOURS, quiet_end)
    return Decision(Outcome.ALLOW, Reason.ALLOWED)


def _outside_quiet(at: datetime, rules: ContactRules) -> datetime:
    end = quiet_until(at, rules)
    return end if end is not None else at
