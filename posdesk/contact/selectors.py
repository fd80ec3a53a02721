"""Reads for the contact gate: the admin's rules (kept in memory for a short while), what is known
about a merchant, and their contact history."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from posdesk.contact.decision import Cap, ContactFacts, ContactRules, PastContact, Purpose
from posdesk.contact.models import (
    ContactCap,
    ContactDecision,
    ContactOptOut,
    ContactProfile,
    ContactRuleSet,
    MarketingConsent,
)
from posdesk.core.rows import PreparedRead

_lock = threading.Lock()
_rules: tuple[ContactRules, float] | None = None


def contact_rules_changed() -> None:
    """Forget the rules held in this process (called after an admin changes them)."""
    global _rules
    _rules = None


def contact_rules() -> ContactRules:
    global _rules
    held = _rules
    if held is not None and time.monotonic() - held[1] < settings.CONTACT_RULES_TTL_SECONDS:
        return held[0]
    with _lock:
        row = ContactRuleSet.objects.order_by("pk").first()
        if row is None:  # nobody installed rules (an emptied database): the built-in defaults
            rules = ContactRules()
        else:
            caps = tuple(
                Cap(Purpose(cap.purpose), cap.count, timedelta(hours=cap.window_hours), cap.channel, cap.per_ticket)
                for cap in ContactCap.objects.filter(is_active=True).order_by("pk")
            )
            rules = ContactRules(quiet_start=row.quiet_start, quiet_end=row.quiet_end,
                                 reply_window=timedelta(minutes=row.reply_window_minutes), caps=caps)
        _rules = (rules, time.monotonic())
    return rules


# read for every governed message (every ticket opened sends one): compiled once (core/rows.py)
_profile_row = PreparedRead(
    lambda merchant_id: ContactProfile.objects.filter(merchant_id=merchant_id)
    .values_list("do_not_disturb", "last_inbound_at", "last_inbound_channel")
)
_opt_out_rows = PreparedRead(
    lambda merchant_id: ContactOptOut.objects.filter(merchant_id=merchant_id).values_list("channel", "purpose")
)


def contact_facts(*, merchant_id: int, channel: str, purpose: Purpose, at: datetime,
                  rules: ContactRules) -> ContactFacts:
    """What the decision needs, and no more: consent only for marketing, history only when a cap
    applies to this purpose and channel."""
    profile = _profile_row(merchant_id)
    do_not_disturb, last_inbound_at, last_inbound_channel = profile[0] if profile else (False, None, "")
    opt_outs = frozenset((c, Purpose(p) if p else None) for c, p in _opt_out_rows(merchant_id))
    consent: frozenset[str] = frozenset()
    if purpose == Purpose.MARKETING:
        consent = frozenset(MarketingConsent.objects.filter(merchant_id=merchant_id, withdrawn_at__isnull=True)
                            .values_list("channel", flat=True))
    caps = [c for c in rules.caps if c.purpose == purpose and (not c.channel or c.channel == channel)]
    recent: tuple[PastContact, ...] = ()
    if caps:
        since = at - max(c.window for c in caps)
        recent = tuple(
            PastContact(Purpose(p), ch, when, ticket_id)
            for p, ch, when, ticket_id in ContactDecision.objects.filter(
                merchant_id=merchant_id, contacted=True, purpose=purpose, decided_at__gt=since, decided_at__lte=at,
            ).values_list("purpose", "channel", "decided_at", "ticket_id")
        )
    return ContactFacts(do_not_disturb=bool(do_not_disturb), opt_outs=opt_outs, marketing_consent_channels=consent,
                        recent=recent, last_inbound_at=last_inbound_at, last_inbound_channel=last_inbound_channel or "")


@dataclass(frozen=True)
class ContactSummary:
    last_contacted_at: datetime | None
    last_channel: str
    this_week: int


def contact_summary(*, merchant_id: int, now: datetime) -> ContactSummary:
    """"Last contacted …, N times this week" for the ticket page (the last seven days)."""
    contacted = ContactDecision.objects.filter(merchant_id=merchant_id, contacted=True)
    last = contacted.order_by("-decided_at", "-pk").values_list("decided_at", "channel").first()
    week = contacted.filter(decided_at__gt=now - timedelta(days=7)).count()
    return ContactSummary(last[0] if last else None, last[1] if last else "", week)


def contact_history(*, merchant_id: int, limit: int = 50) -> list[ContactDecision]:
    return list(ContactDecision.objects.filter(merchant_id=merchant_id).select_related("actor")
                .order_by("-decided_at", "-pk")[:limit])


def contact_profile(merchant_id: int) -> ContactProfile:
    return ContactProfile.objects.filter(merchant_id=merchant_id).first() or ContactProfile(merchant_id=merchant_id)


def contact_opt_outs(merchant_id: int) -> list[ContactOptOut]:
    return list(ContactOptOut.objects.filter(merchant_id=merchant_id).order_by("channel", "purpose"))


def marketing_consents(merchant_id: int) -> list[MarketingConsent]:
    return list(MarketingConsent.objects.filter(merchant_id=merchant_id).order_by("-given_at"))
