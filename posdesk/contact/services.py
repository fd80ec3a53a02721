"""Contact governance (C4): every outbound contact to a merchant passes `contact_request`, which
decides (contact/decision.py), logs the decision, and hands an allowed or deferred message to the
outbox in the caller's transaction. Merchants' wishes and consents are written here too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.contact.decision import ContactRequest, Decision, Outcome, PastContact, Purpose, Reason, decide
from posdesk.contact.models import (
    ContactChannel,
    ContactDecision,
    ContactOptOut,
    ContactProfile,
    ContactPurpose,
    ContactSource,
    MarketingConsent,
)
from posdesk.contact.selectors import contact_facts, contact_facts_many, contact_rules
from posdesk.core.bulk import rows_insert_many
from posdesk.core.errors import Conflict, ValidationFailed, field_error
from posdesk.core.rows import row_insert
from posdesk.merchants.models import Merchant
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_enqueue, outbox_enqueue_many
from posdesk.slas.selectors import is_public_holiday

REASON_TEXT = {
    Reason.ALLOWED: _("Allowed."),
    Reason.REPLY_TO_MERCHANT: _("Allowed: a reply to what the merchant just sent."),
    Reason.DO_NOT_DISTURB: _("The merchant asked not to be disturbed."),
    Reason.OPTED_OUT: _("The merchant refused this channel for this purpose."),
    Reason.NO_CONSENT: _("No recorded marketing consent for this channel."),
    Reason.CAP_REACHED: _("Contacted as often as the rules allow in this period."),
    Reason.QUIET_HOURS: _("Quiet hours (21:00–08:00 unless the admin changed them)."),
    Reason.HOLIDAY: _("No marketing on public holidays."),
}


@dataclass(frozen=True)
class ContactResult:
    decision: Decision
    message: OutboxMessage | None  # None when denied

    @property
    def reason_text(self) -> str:
        return str(REASON_TEXT[self.decision.reason])


def contact_decide(*, merchant_id: int, channel: str, purpose: str, at: datetime | None = None,
                   ticket_id: int | None = None, inbound_channel: str = "") -> Decision:
    """The decision alone, logged nowhere: what the ticket page shows before an agent calls.
    `inbound_channel`: take it as recorded that the merchant wrote to us on it at `at`."""
    at = at or timezone.now()
    rules = contact_rules()
    request = ContactRequest(channel=channel, purpose=Purpose(purpose), at=at, ticket_id=ticket_id)
    facts = contact_facts(merchant_id=merchant_id, channel=channel, purpose=request.purpose, at=at, rules=rules)
    if inbound_channel:
        facts = replace(facts, last_inbound_at=at, last_inbound_channel=inbound_channel)
    return decide(request, facts, rules, is_public_holiday)


def _contacted(channel: str, decision: Decision) -> bool:
    """Whether handing the message to the outbox is the contact itself (what caps and "N times this
    week" count). A phone message is not: it puts a callback in the agents' queue, and the call an
    agent then makes is the contact (`contact_call_logged`)."""
    return decision.allowed and channel != ContactChannel.PHONE


def _log(*, merchant_id: int | None, ticket_id: int | None, channel: str, purpose: str, decision: Decision,
         at: datetime, actor: User | None, message_id: int | None, contacted: bool) -> ContactDecision:
    return row_insert(ContactDecision(
        merchant_id=merchant_id, ticket_id=ticket_id, channel=channel, purpose=purpose,
        outcome=decision.outcome.value, reason=decision.reason.value, until=decision.until,
        outbox_message_id=message_id, contacted=contacted, actor=actor if getattr(actor, "pk", None) else None,
        decided_at=at,
    ))


# the rows `contact_plan_carry_out` may write: a change that carries a planned contact names them
# to `core.rows.rows_together` so they are written with its own
PLANNED_CONTACT_ROWS = (OutboxMessage, ContactDecision)


@dataclass(frozen=True)
class ContactPlan:
    """A contact decided ahead of the change that causes it (`contact_plan`): the facts are read
    and the decision made before the write transaction opens, so that transaction only writes
    (`contact_plan_carry_out`). On SQLite the write transaction holds the database's one write
    lock; the less it does, the more changes per second the database takes. Two plans made at
    once for one merchant may both see a cap not yet reached — as two requests on PostgreSQL
    (read committed) always could."""

    merchant_id: int
    channel: str
    purpose: str
    recipient: str
    at: datetime
    decision: Decision


def contact_plan(
    *, merchant_id: int, channel: str, purpose: str, recipient: str, at: datetime | None = None,
    ticket_id: int | None = None, inbound_channel: str = "",
) -> ContactPlan:
    """Decide a contact now and write it later. `inbound_channel`: the change that carries the
    contact also records that the merchant wrote to us on that channel at `at` (a report they
    made), which the decision takes as already recorded."""
    if channel not in ContactChannel.values or purpose not in ContactPurpose.values:
        raise ValidationFailed(_("Unknown channel or purpose."), code="invalid_contact")
    at = at or timezone.now()
    decision = contact_decide(merchant_id=merchant_id, channel=channel, purpose=purpose, at=at, ticket_id=ticket_id,
                              inbound_channel=inbound_channel)
    return ContactPlan(merchant_id=merchant_id, channel=channel, purpose=purpose, recipient=recipient, at=at,
                       decision=decision)


def contact_plan_carry_out(
    plan: ContactPlan, *, body: str, subject: str = "", ticket_id: int | None = None, actor: User | None = None,
    headers: dict[str, str] | None = None,
) -> ContactResult:
    """Write a planned contact: an allowed or deferred message to the outbox, and the decision to
    the log. Call inside the transaction of the change that caused it."""
    decision, channel = plan.decision, plan.channel
    message = None
    if decision.outcome != Outcome.DENY:
        deferred = decision.outcome == Outcome.DEFER
        message = outbox_enqueue(channel=channel, purpose=plan.purpose, recipient=plan.recipient, body=body,
                                 subject=subject, ticket_id=ticket_id, merchant_id=plan.merchant_id,
                                 not_before=decision.until if deferred else None, gate_recheck=deferred,
                                 headers=headers)
    _log(merchant_id=plan.merchant_id, ticket_id=ticket_id, channel=channel, purpose=plan.purpose, decision=decision,
         at=plan.at, actor=actor, message_id=message.pk if message else None,
         contacted=_contacted(channel, decision))
    return ContactResult(decision, message)


def contact_request(
    *, merchant_id: int, channel: str, purpose: str, recipient: str, body: str, subject: str = "",
    ticket_id: int | None = None, actor: User | None = None, at: datetime | None = None,
    headers: dict[str, str] | None = None,
) -> ContactResult:
    """Ask to contact a merchant. Allowed: the message goes to the outbox now. Deferred: it goes
    to the outbox held until the decision's moment, and is decided again then. Denied: nothing
    is sent. Every decision is logged; call inside the transaction of the change that caused it."""
    plan = contact_plan(merchant_id=merchant_id, channel=channel, purpose=purpose, recipient=recipient, at=at,
                        ticket_id=ticket_id)
    return contact_plan_carry_out(plan, body=body, subject=subject, ticket_id=ticket_id, actor=actor, headers=headers)


@dataclass(frozen=True)
class ContactDraft:
    """One message of a broadcast (an incident notice, a survey wave, a campaign): to which
    merchant, on which channel, for what, and what it says."""

    merchant_id: int
    channel: str
    purpose: str
    recipient: str = ""
    body: str = ""
    subject: str = ""
    ticket_id: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


_CHANNELS, _PURPOSES = frozenset(ContactChannel.values), frozenset(ContactPurpose.values)


def _check_drafts(drafts: Sequence[ContactDraft]) -> None:
    for draft in drafts:
        if draft.channel not in _CHANNELS or draft.purpose not in _PURPOSES:
            raise ValidationFailed(_("Unknown channel or purpose."), code="invalid_contact")


def contact_decide_many(drafts: Sequence[ContactDraft], *, at: datetime | None = None) -> list[Decision]:
    """The decisions `contact_request_many` makes for these drafts, logged nowhere — each one what
    `contact_request` would answer if the drafts were sent one by one in this order at `at`: a
    draft allowed earlier in the batch counts against the caps of the later ones (two marketing
    messages to one merchant count against each other). The facts of all the batch's merchants are
    read in a fixed number of statements (`contact_facts_many`)."""
    _check_drafts(drafts)
    at = at or timezone.now()
    rules = contact_rules()
    requests = [ContactRequest(channel=d.channel, purpose=Purpose(d.purpose), at=at, ticket_id=d.ticket_id)
                for d in drafts]
    facts = contact_facts_many(asks=[(d.merchant_id, r.channel, r.purpose) for d, r in zip(drafts, requests, strict=True)],
                               at=at, rules=rules)
    decisions = []
    for draft, request in zip(drafts, requests, strict=True):
        known = facts[draft.merchant_id]
        decision = decide(request, known, rules, is_public_holiday)
        if _contacted(draft.channel, decision):  # what contact_request logs as a contact before the next one
            facts[draft.merchant_id] = replace(known, recent=(
                *known.recent, PastContact(request.purpose, request.channel, at, request.ticket_id)))
        decisions.append(decision)
    return decisions


@transaction.atomic
def contact_request_many(drafts: Sequence[ContactDraft], *, at: datetime | None = None,
                         actor: User | None = None) -> list[ContactResult]:
    """`contact_request` for a whole broadcast, with the same answers (`contact_decide_many`):
    the allowed and deferred messages go to the outbox and every decision is logged, in bulk and
    in one transaction (the caller's, if any), one delivery kick after the commit."""
    at = at or timezone.now()
    decisions = contact_decide_many(drafts, at=at)
    messages: list[OutboxMessage | None] = []
    for draft, decision in zip(drafts, decisions, strict=True):
        if decision.outcome == Outcome.DENY:
            messages.append(None)
            continue
        deferred = decision.outcome == Outcome.DEFER
        messages.append(OutboxMessage(
            channel=draft.channel, purpose=draft.purpose, recipient=draft.recipient, body=draft.body,
            subject=draft.subject, ticket_id=draft.ticket_id, merchant_id=draft.merchant_id,
            next_attempt_at=decision.until if deferred else None, gate_recheck=deferred,
            headers=draft.headers or {}))
    outbox_enqueue_many([m for m in messages if m is not None])
    actor_id = getattr(actor, "pk", None)
    rows_insert_many([
        ContactDecision(
            merchant_id=draft.merchant_id, ticket_id=draft.ticket_id, channel=draft.channel, purpose=draft.purpose,
            outcome=decision.outcome.value, reason=decision.reason.value, until=decision.until,
            outbox_message_id=message.pk if message else None, contacted=_contacted(draft.channel, decision),
            actor_id=actor_id, decided_at=at)
        for draft, decision, message in zip(drafts, decisions, messages, strict=True)
    ])
    return [ContactResult(decision, message) for decision, message in zip(decisions, messages, strict=True)]


def contact_recheck_for_delivery(message: OutboxMessage, now: datetime) -> tuple[str, datetime | None, str]:
    """The outbox asks again before sending a message the gate deferred (settings.OUTBOX_DELIVERY_GATE)."""
    if message.merchant_id is None or message.purpose not in ContactPurpose.values:
        return Outcome.ALLOW.value, None, ""
    decision = contact_decide(merchant_id=message.merchant_id, channel=message.channel, purpose=message.purpose,
                              at=now, ticket_id=message.ticket_id)
    _log(merchant_id=message.merchant_id, ticket_id=message.ticket_id, channel=message.channel,
         purpose=message.purpose, decision=decision, at=now, actor=None, message_id=message.pk,
         contacted=_contacted(message.channel, decision))
    return decision.outcome.value, decision.until, decision.reason.value


def contact_call_logged(*, merchant_id: int, ticket_id: int | None, purpose: str, actor: User,
                        at: datetime | None = None) -> ContactDecision:
    """An agent's outbound call, logged by hand: it counts as a contact whatever the gate said
    (the decision of that moment is kept beside it)."""
    at = at or timezone.now()
    decision = contact_decide(merchant_id=merchant_id, channel=ContactChannel.PHONE, purpose=purpose, at=at,
                              ticket_id=ticket_id)
    return _log(merchant_id=merchant_id, ticket_id=ticket_id, channel=ContactChannel.PHONE, purpose=purpose,
                decision=decision, at=at, actor=actor, message_id=None, contacted=True)


def contact_inbound_recorded(*, merchant_id: int, channel: str, at: datetime | None = None) -> None:
    """The merchant wrote to us on `channel`: a service reply on it within the reply window goes."""
    at = at or timezone.now()
    updated = ContactProfile.objects.filter(merchant_id=merchant_id).update(
        last_inbound_at=at, last_inbound_channel=channel, updated_at=at)
    if not updated:
        ContactProfile.objects.get_or_create(
            merchant_id=merchant_id, defaults={"last_inbound_at": at, "last_inbound_channel": channel})


# --- the merchant's wishes ---------------------------------------------------------------------

def _merchant_wish_audit(actor: User | None, merchant: Merchant, summary: str, changes: dict) -> None:
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=merchant, summary=summary, changes=changes)


@transaction.atomic
def contact_do_not_disturb_set(*, merchant: Merchant, on: bool, actor: User | None) -> ContactProfile:
    now = timezone.now()
    profile, _created = ContactProfile.objects.select_for_update().get_or_create(merchant=merchant)
    if profile.do_not_disturb != on:
        profile.do_not_disturb = on
        profile.do_not_disturb_since = now if on else None
        profile.save(update_fields=["do_not_disturb", "do_not_disturb_since", "updated_at"])
        _merchant_wish_audit(actor, merchant, "do not disturb " + ("on" if on else "off"), {"do_not_disturb": on})
    return profile


def _check_channel_purpose(channel: str, purpose: str) -> None:
    if channel not in ContactChannel.values:
        raise field_error("channel", _("Unknown channel."), code="invalid_channel")
    if purpose and purpose not in ContactPurpose.values:
        raise field_error("purpose", _("Unknown purpose."), code="invalid_purpose")


@transaction.atomic
def contact_opt_out(*, merchant: Merchant, channel: str, purpose: str = "", source: str, actor: User | None,
                    note: str = "") -> ContactOptOut:
    """The merchant refuses `channel` for `purpose` (empty: everything but service replies and
    incident notices). Effective at once; idempotent."""
    _check_channel_purpose(channel, purpose)
    if source not in ContactSource.values:
        raise field_error("source", _("Unknown source."), code="invalid_source")
    opt_out, created = ContactOptOut.objects.get_or_create(
        merchant=merchant, channel=channel, purpose=purpose,
        defaults={"source": source, "note": note[:200], "created_at": timezone.now(),
                  "created_by": actor if getattr(actor, "pk", None) else None},
    )
    if created:
        _merchant_wish_audit(actor, merchant, f"opt-out {channel}/{purpose or '*'}",
                             {"channel": channel, "purpose": purpose, "source": source})
    return opt_out


@transaction.atomic
def contact_opt_in(*, merchant: Merchant, channel: str, purpose: str = "", actor: User | None) -> bool:
    _check_channel_purpose(channel, purpose)
    deleted, _rows = ContactOptOut.objects.filter(merchant=merchant, channel=channel, purpose=purpose).delete()
    if deleted:
        _merchant_wish_audit(actor, merchant, f"opt-in {channel}/{purpose or '*'}",
                             {"channel": channel, "purpose": purpose})
    return bool(deleted)


@transaction.atomic
def marketing_consent_record(*, merchant: Merchant, channel: str, how: str, evidence: str = "",
                             actor: User | None, given_at: datetime | None = None) -> MarketingConsent:
    """Consent to marketing on a channel, with when and how it was given. Without evidence only
    the merchant themself (portal, WeChat, SMS) can give it."""
    _check_channel_purpose(channel, "")
    if how not in ContactSource.values:
        raise field_error("how", _("Say how the consent was given."), code="invalid_consent_source")
    if how in (ContactSource.PAPER_FORM, ContactSource.PHONE, ContactSource.ADMIN) and not evidence.strip():
        raise field_error("evidence", _("Give the evidence: the form number or call recording."),
                          code="consent_evidence_required")
    try:
        with transaction.atomic():  # one active consent per channel: a second one at the same moment loses
            consent = MarketingConsent.objects.create(
                merchant=merchant, channel=channel, how=how, evidence=evidence.strip()[:300],
                given_at=given_at or timezone.now(), recorded_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError:
        raise Conflict(_("Consent for this channel is already recorded."), code="consent_exists") from None
    _merchant_wish_audit(actor, merchant, f"marketing consent {channel}", {"channel": channel, "how": how})
    return consent


@transaction.atomic
def marketing_consent_withdraw(*, merchant: Merchant, channel: str, how: str, actor: User | None) -> int:
    now = timezone.now()
    withdrawn = MarketingConsent.objects.filter(merchant=merchant, channel=channel, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_how=how)
    if withdrawn:
        _merchant_wish_audit(actor, merchant, f"marketing consent withdrawn {channel}", {"channel": channel, "how": how})
    return withdrawn


MARKETING_CHANNELS = (ContactChannel.SMS, ContactChannel.WECHAT, ContactChannel.EMAIL)


@transaction.atomic
def contact_preferences_set(*, merchant: Merchant, actor: User, do_not_disturb: bool, marketing: set[str],
                            surveys: bool) -> None:
    """What a merchant chose on their preferences page: do-not-disturb, marketing by which channels
    (consent given or withdrawn through the portal), and whether we may survey them."""
    unknown = set(marketing) - set(MARKETING_CHANNELS)
    if unknown:
        raise field_error("marketing", _("Unknown channel."), code="invalid_channel")
    contact_do_not_disturb_set(merchant=merchant, on=do_not_disturb, actor=actor)
    consented = set(MarketingConsent.objects.filter(merchant=merchant, withdrawn_at__isnull=True)
                    .values_list("channel", flat=True))
    for channel in MARKETING_CHANNELS:
        if channel in marketing and channel not in consented:
            marketing_consent_record(merchant=merchant, channel=channel, how=ContactSource.PORTAL, actor=actor)
        elif channel not in marketing and channel in consented:
            marketing_consent_withdraw(merchant=merchant, channel=channel, how=ContactSource.PORTAL, actor=actor)
    for channel in ContactChannel.values:
        if surveys:
            contact_opt_in(merchant=merchant, channel=channel, purpose=ContactPurpose.SURVEY, actor=actor)
        else:
            contact_opt_out(merchant=merchant, channel=channel, purpose=ContactPurpose.SURVEY,
                            source=ContactSource.PORTAL, actor=actor)
