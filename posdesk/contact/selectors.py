"""Reads for the contact gate: the admin's rules (kept in memory for a short while), what is known
about a merchant, and their contact history."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import FilteredRelation, Q

from posdesk.contact.decision import Cap, ContactFacts, ContactRules, PastContact, Purpose
from posdesk.contact.models import (
    ContactCap,
    ContactDecision,
    ContactOptOut,
    ContactProfile,
    ContactRuleSet,
    MarketingConsent,
)
from posdesk.core.bulk import IdList
from posdesk.core.rows import PreparedRead
from posdesk.merchants.models import Merchant

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


# read for every governed message (every ticket opened sends one): compiled once (core/rows.py).
# The profile and the opt-outs come in one statement, from the merchant's row (a merchant without
# a profile gets NULLs; a missing merchant no row at all, which reads as no wishes, as before);
# for marketing the active consents come with them.
_wishes_rows = PreparedRead(
    lambda merchant_id: Merchant.objects.filter(pk=merchant_id).values_list(
        "contact_profile__do_not_disturb", "contact_profile__last_inbound_at",
        "contact_profile__last_inbound_channel", "contact_opt_outs__channel", "contact_opt_outs__purpose")
)
_wishes_and_consent_rows = PreparedRead(
    lambda merchant_id: Merchant.objects.filter(pk=merchant_id)
    .annotate(active_consent=FilteredRelation(
        "marketing_consents", condition=Q(marketing_consents__withdrawn_at__isnull=True)))
    .values_list("contact_profile__do_not_disturb", "contact_profile__last_inbound_at",
                 "contact_profile__last_inbound_channel", "contact_opt_outs__channel", "contact_opt_outs__purpose",
                 "active_consent__channel")
)


def _capped_purposes(rules: ContactRules, channel: str, purpose: Purpose) -> list[Cap]:
    return [c for c in rules.caps if c.purpose == purpose and (not c.channel or c.channel == channel)]


def contact_facts(*, merchant_id: int, channel: str, purpose: Purpose, at: datetime,
                  rules: ContactRules) -> ContactFacts:
    """What the decision needs, and no more: consent only for marketing, history only when a cap
    applies to this purpose and channel."""
    marketing = purpose == Purpose.MARKETING
    rows = (_wishes_and_consent_rows if marketing else _wishes_rows)(merchant_id)
    do_not_disturb, last_inbound_at, last_inbound_channel = rows[0][:3] if rows else (False, None, "")
    opt_outs = frozenset((row[3], Purpose(row[4]) if row[4] else None) for row in rows if row[3] is not None)
    consent = frozenset(row[5] for row in rows if row[5] is not None) if marketing else frozenset()
    caps = _capped_purposes(rules, channel, purpose)
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


# a broadcast reads its merchants' facts in slices of this many (well under the databases' limits
# on parameters in one statement: SQLite 32,766 by default, PostgreSQL 65,535)
MERCHANTS_PER_READ = 5000


def contact_facts_many(*, asks: Iterable[tuple[int, str, Purpose]], at: datetime,
                       rules: ContactRules) -> dict[int, ContactFacts]:
    """The facts of every merchant of a batch of (merchant id, channel, purpose) asks, in a fixed
    number of statements per slice of merchants, whatever the batch's size: wishes (profile and
    opt-outs), active consents (if the batch has marketing), and the contacts within the longest
    window of the caps that apply to the batch. Each merchant's history may hold more than one
    ask needs (other capped purposes, a longer window): the decision counts only what its cap
    covers, so its answer is the one `contact_facts` gives."""
    merchant_ids: set[int] = set()
    marketing_ids: set[int] = set()
    capped_ids: set[int] = set()
    capped_purposes: set[str] = set()
    longest = None
    for merchant_id, channel, purpose in asks:
        merchant_ids.add(merchant_id)
        if purpose == Purpose.MARKETING:
            marketing_ids.add(merchant_id)
        caps = _capped_purposes(rules, channel, purpose)
        if caps:
            capped_ids.add(merchant_id)
            capped_purposes.add(purpose.value)
            window = max(c.window for c in caps)
            longest = window if longest is None or window > longest else longest
    wishes: dict[int, tuple[bool, datetime | None, str]] = {}
    opt_outs: dict[int, set[tuple[str, Purpose | None]]] = defaultdict(set)
    consents: dict[int, set[str]] = defaultdict(set)
    recent: dict[int, list[PastContact]] = defaultdict(list)
    for ids in _slices(merchant_ids):
        for merchant_id, dnd, inbound_at, inbound_channel, channel, purpose in Merchant.objects.filter(
                pk__in=IdList(ids)).values_list("pk", "contact_profile__do_not_disturb", "contact_profile__last_inbound_at",
                                        "contact_profile__last_inbound_channel", "contact_opt_outs__channel",
                                        "contact_opt_outs__purpose"):
            wishes[merchant_id] = (bool(dnd), inbound_at, inbound_channel or "")
            if channel is not None:
                opt_outs[merchant_id].add((channel, Purpose(purpose) if purpose else None))
    for ids in _slices(marketing_ids):
        for merchant_id, channel in MarketingConsent.objects.filter(
                merchant_id__in=IdList(ids), withdrawn_at__isnull=True).values_list("merchant_id", "channel"):
            consents[merchant_id].add(channel)
    if longest is not None:
        for ids in _slices(capped_ids):
            for merchant_id, p, ch, when, ticket_id in ContactDecision.objects.filter(
                    merchant_id__in=IdList(ids), contacted=True, purpose__in=sorted(capped_purposes),
                    decided_at__gt=at - longest, decided_at__lte=at,
            ).values_list("merchant_id", "purpose", "channel", "decided_at", "ticket_id"):
                recent[merchant_id].append(PastContact(Purpose(p), ch, when, ticket_id))
    facts = {}
    for merchant_id in merchant_ids:
        dnd, inbound_at, inbound_channel = wishes.get(merchant_id, (False, None, ""))
        facts[merchant_id] = ContactFacts(
            do_not_disturb=dnd, opt_outs=frozenset(opt_outs.get(merchant_id, ())),
            marketing_consent_channels=frozenset(consents.get(merchant_id, ())),
            recent=tuple(recent.get(merchant_id, ())), last_inbound_at=inbound_at,
            last_inbound_channel=inbound_channel)
    return facts


def _slices(ids: set[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), MERCHANTS_PER_READ):
        yield ordered[start:start + MERCHANTS_PER_READ]


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
