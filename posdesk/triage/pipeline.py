"""The intake pipeline (C6, with C5's answers and C7's detector): what happens to every new ticket,
whatever channel opened it, after its commit.

For a batch of tickets, one classifier call (`triage_texts`), then per ticket, in its own short
transaction: merchant and terminal linked when the entities prove them, category and priority
(only the fields nobody has set yet) and status new → triaged applied as one change
(`ticket_triage_apply`: one lock, SLA refresh, event and audit entry), and the triage record
stored with the suggested articles and a possible duplicate. Then, for the tickets this run
triaged: indexed for search (K), handed to the incident detector (I), answered at once where a
confident known fix exists and no incident took them, and routed — last, so the skills see the
triaged category.

Idempotent and safe with several workers: a ticket with a triage record is never triaged again,
and the record is written in the same transaction that takes the ticket's row lock and checks
that none exists, so of two workers on one ticket exactly one triages it; the other skips it. The
steps after the commit (the follow-ups) act on the tickets the worker itself triaged, and end by
marking their records done. A worker that dies after the commit and before that mark leaves
records not done: the minute sweep runs their follow-ups again after FOLLOWUP_GRACE. Every
follow-up is safe to repeat — the index replaces a row, the detector counts a ticket once, a
self-service answer is given once per ticket and never to a reporter told of an incident — and
routing's own minute sweep routes whatever is left unrouted."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from posdesk.accounts.models import Role, User
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Priority, Status
from posdesk.incidents.models import Incident, IncidentTicket
from posdesk.incidents.services import incidents_observe
from posdesk.incidents.signals import TicketSignal
from posdesk.knowledge.search import ticket_search_index
from posdesk.knowledge.selectors import article_suggest, response_code_lookup
from posdesk.merchants.models import Merchant
from posdesk.terminals.models import Terminal
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.routing import routing_kick
from posdesk.tickets.services import ticket_identify, ticket_triage_apply
from posdesk.triage import duplicates
from posdesk.triage.models import SelfServiceAnswer, TriageRecord
from posdesk.triage.selfservice import response_code_answer
from posdesk.triage.services import TriageResult, self_service_offer, triage_texts

logger = logging.getLogger("posdesk.triage")

BATCH = 200  # tickets per classifier call
TRIAGE_ACTOR_USERNAME = "posdesk-triage"
# channels on which the merchant can answer "did this solve it?" on the same thread; a ticket an
# agent opened (console, phone, API) has a person on it already
SELF_SERVICE_CHANNELS = frozenset({"portal", "wechat", "sms", "email"})
# an article's answer is sent only when the article matches the message this well (K's score: 1.0 for
# the article of a response code the message names, else the share of the query the article covers)
ARTICLE_ANSWER_MIN_SCORE = 0.5
# a record whose follow-ups are not done this long after triage lost its worker: the sweep runs them
FOLLOWUP_GRACE = timedelta(minutes=2)
# open tickets of one merchant compared with each new ticket of theirs, newest first
DUPLICATE_CANDIDATES = 200


@dataclass
class IntakeOutcome:
    triaged: list[int] = field(default_factory=list)
    skipped: int = 0  # already triaged (by an earlier run or another worker), or gone
    identified: int = 0
    duplicates: int = 0
    incident_linked: dict[int, int] = field(default_factory=dict)
    answered: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)  # follow-ups run again by the sweep

    def as_dict(self) -> dict[str, int]:
        return {
            "triaged": len(self.triaged),
            "skipped": self.skipped,
            "identified": self.identified,
            "duplicates": self.duplicates,
            "incident_linked": len(self.incident_linked),
            "answered": len(self.answered),
            "recovered": len(self.recovered),
        }


def triage_actor() -> User:
    """The user the pipeline's changes are recorded as ("自动分诊" on the timeline and in the audit
    log). A desk role, so `ticket_classify` accepts it; inactive, so nobody signs in as it and
    routing never gives it work."""
    try:
        return User.objects.get(username=TRIAGE_ACTOR_USERNAME)
    except User.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            user = User(
                username=TRIAGE_ACTOR_USERNAME, role=Role.AGENT, is_active=False, display_name="自动分诊"
            )
            user.set_unusable_password()
            user.save()
            return user
    except IntegrityError:  # another worker created it first
        return User.objects.get(username=TRIAGE_ACTOR_USERNAME)


# --- what a batch reads -------------------------------------------------------------------------


@dataclass
class _Plan:
    """What triage decided for one ticket, before it is written."""

    ticket: Ticket
    result: TriageResult
    merchant: Merchant | None = None  # to link (the ticket had none)
    terminal: Terminal | None = None  # to link
    articles: list = field(default_factory=list)  # K's ArticleSuggestion, best first
    duplicate: tuple[int, float] | None = None


def _identities(plans: list[_Plan]) -> None:
    """Merchant and terminal the entities prove, for tickets without them: a MID of an active
    merchant, an SN or TID of exactly one terminal. A message naming two merchants (or a MID and
    another merchant's terminal) proves nothing; a terminal is linked only to its own merchant.
    A mobile in the text is not proof: anyone can write anyone's number."""
    wanting = [p for p in plans if p.ticket.merchant_id is None or p.ticket.terminal_id is None]
    mids = {mid for p in wanting for mid in p.result.entities.mid}
    sns = {sn for p in wanting for sn in p.result.entities.sn}
    tids = {tid for p in wanting for tid in p.result.entities.tid}
    merchants = (
        {m.mid: m for m in Merchant.objects.filter(mid__in=mids, status=Merchant.Status.ACTIVE)}
        if mids
        else {}
    )
    terminals_by_sn: dict[str, list[Terminal]] = defaultdict(list)
    terminals_by_tid: dict[str, list[Terminal]] = defaultdict(list)
    if sns or tids:
        for terminal in Terminal.objects.filter(Q(sn__in=sns) | Q(tid__in=tids)).select_related("merchant"):
            terminals_by_sn[terminal.sn.upper()].append(terminal)
            if terminal.tid:
                terminals_by_tid[terminal.tid].append(terminal)
    for plan in wanting:
        named: dict[int, Terminal] = {}
        for sn in plan.result.entities.sn:
            for terminal in terminals_by_sn.get(sn.upper(), []):
                named[terminal.pk] = terminal
        for tid in plan.result.entities.tid:
            found = terminals_by_tid.get(tid, [])
            if len(found) == 1:  # a TID is unique per acquirer, not across them
                named[found[0].pk] = found[0]
        merchant = None
        if plan.ticket.merchant_id is None:
            proven = {
                merchants[mid].pk: merchants[mid] for mid in plan.result.entities.mid if mid in merchants
            }
            proven.update({t.merchant_id: t.merchant for t in named.values() if t.merchant_id is not None})
            if len(proven) == 1:
                merchant = next(iter(proven.values()))
                if merchant.status != Merchant.Status.ACTIVE:
                    merchant = None
            plan.merchant = merchant
        owner_id = plan.ticket.merchant_id or (merchant.pk if merchant else None)
        if plan.ticket.terminal_id is None and owner_id is not None:
            own = [t for t in named.values() if t.merchant_id == owner_id]
            plan.terminal = own[0] if len(own) == 1 else None


def _duplicates(plans: list[_Plan]) -> None:
    """A possible duplicate: an open, unmerged ticket of the same merchant (and terminal, when both
    name one) from the last TRIAGE_DUPLICATE_DAYS with similar words. One read for the batch: per
    merchant the newest DUPLICATE_CANDIDATES open tickets opened up to the batch's newest — a shop
    with hundreds of open tickets has its recent ones compared, which is where a repeat report is."""
    by_merchant: dict[int, list[_Plan]] = defaultdict(list)
    for plan in plans:
        merchant_id = plan.ticket.merchant_id or (plan.merchant.pk if plan.merchant else None)
        if merchant_id is not None:
            by_merchant[merchant_id].append(plan)
    if not by_merchant:
        return
    since = timezone.now() - timedelta(days=settings.TRIAGE_DUPLICATE_DAYS)
    until = max(plan.ticket.created_at for merchant_plans in by_merchant.values() for plan in merchant_plans)
    newest_first = Window(
        RowNumber(), partition_by=[F("merchant_id")], order_by=[F("created_at").desc(), F("pk").desc()]
    )
    rows = (
        Ticket.objects.filter(
            merchant_id__in=list(by_merchant),
            status__in=sorted(OPEN_STATUSES),
            created_at__gte=since,
            created_at__lte=until,
            merged_into__isnull=True,
        )
        .annotate(newest=newest_first)
        .filter(newest__lte=DUPLICATE_CANDIDATES)
        .values_list("pk", "merchant_id", "terminal_id", "description", "created_at")
    )
    candidates: dict[int, list[tuple[duplicates.Candidate, datetime]]] = defaultdict(list)
    for pk, merchant_id, terminal_id, description, created_at in sorted(
        rows, key=lambda row: (row[4], row[0])
    ):
        # oldest first: on a tie `best_duplicate` keeps the first, and the oldest is the original
        candidate = duplicates.Candidate(
            ticket_id=pk, terminal_id=terminal_id, words=duplicates.text_words(description)
        )
        candidates[merchant_id].append((candidate, created_at))
    for merchant_id, merchant_plans in by_merchant.items():
        for plan in merchant_plans:
            # only an earlier ticket is the original; a ticket of this same batch that came first is one too
            earlier = [
                c
                for c, created_at in candidates.get(merchant_id, [])
                if c.ticket_id != plan.ticket.pk
                and (created_at, c.ticket_id) < (plan.ticket.created_at, plan.ticket.pk)
            ]
            if not earlier:
                continue
            terminal_id = plan.ticket.terminal_id or (plan.terminal.pk if plan.terminal else None)
            words = duplicates.text_words(plan.ticket.description)
            plan.duplicate = duplicates.best_duplicate(words, terminal_id, earlier)


def _articles_for(
    ticket: Ticket, *, category: str, response_codes: Sequence[str], terminal: Terminal | None
) -> list:
    try:
        return article_suggest(
            text=ticket.description,
            category=category,
            terminal_model_id=terminal.model_id if terminal else None,
            response_codes=tuple(response_codes),
            audience="internal",
            limit=3,
        )
    except Exception:  # suggestions help; they must never stop a ticket's triage
        logger.exception("article suggestions failed", extra={"ticket_id": ticket.pk})
        return []


def _suggestions(plans: list[_Plan]) -> None:
    for plan in plans:
        plan.articles = _articles_for(
            plan.ticket,
            category=plan.result.category,
            response_codes=plan.result.entities.response_code,
            terminal=plan.ticket.terminal or plan.terminal,
        )


# --- writing one ticket -------------------------------------------------------------------------


def _human_set_fields(ticket_ids: Sequence[int], actor: User) -> dict[int, set[str]]:
    """Fields someone already chose on these tickets (a classification before triage ran)."""
    chosen: dict[int, set[str]] = defaultdict(set)
    events = (
        TicketEvent.objects.filter(ticket_id__in=list(ticket_ids), kind=TicketEvent.Kind.FIELDS_CHANGED)
        .exclude(actor=actor)
        .values_list("ticket_id", "data")
    )
    for ticket_id, data in events:
        chosen[ticket_id].update((data or {}).get("changes", {}).keys())
    return chosen


def _write(plan: _Plan, *, actor: User, human_fields: set[str]) -> TriageRecord | None:
    """Apply one ticket's triage in one transaction, or nothing if another run triaged it first."""
    with transaction.atomic():
        # the row lock first, then the check in a statement of its own: of two workers the second
        # waits on the lock and then sees the record the first one committed (one statement with a
        # LEFT JOIN would not: PostgreSQL re-checks only the locked row, and let both through)
        ticket = Ticket.objects.select_for_update().filter(pk=plan.ticket.pk).first()
        if ticket is None or TriageRecord.objects.filter(ticket_id=ticket.pk).exists():
            return None
        applied: dict = {}
        if (plan.merchant is not None or plan.terminal is not None) and ticket_identify(
            ticket=ticket,
            actor=actor,
            merchant=plan.merchant,
            terminal=plan.terminal,
            reason="triage: identifiers in the text",
        ) is not None:
            # ticket_identify fills only what was empty, and only with a terminal of the ticket's merchant
            if ticket.merchant_id is None and plan.merchant is not None:
                ticket.merchant_id, ticket.district_id = plan.merchant.pk, plan.merchant.district_id
            if (
                ticket.terminal_id is None
                and plan.terminal is not None
                and plan.terminal.merchant_id == ticket.merchant_id
            ):
                ticket.terminal_id = plan.terminal.pk
            applied["identified"] = {"merchant": ticket.merchant_id, "terminal": ticket.terminal_id}
            if plan.merchant is not None:  # a merchant named in the text is not a proven sender (no answer)
                applied["identified"]["merchant_from_text"] = True
        # only fields still at the intake defaults that no person has chosen: triage never overrides a person
        category = (
            plan.result.category
            if (ticket.category == Category.CONSULTATION and "category" not in human_fields)
            else None
        )
        priority = (
            plan.result.priority
            if (ticket.priority == Priority.P3 and "priority" not in human_fields)
            else None
        )
        if ticket.status not in OPEN_STATUSES:
            category = priority = None  # a closed ticket's fields are history
        if category or priority or ticket.status == Status.NEW:
            # one change: one lock, one SLA refresh, one timeline event and one audit entry
            event = ticket_triage_apply(ticket=ticket, actor=actor, category=category, priority=priority)
            if event is not None:
                changes = (event.data or {}).get("changes", {})
                applied.update(changes)
                ticket.category = changes.get("category", [None, ticket.category])[1]
                ticket.priority = changes.get("priority", [None, ticket.priority])[1]
                ticket.status = event.to_status or ticket.status
        record = TriageRecord.objects.create(
            ticket=ticket,
            category=plan.result.category,
            priority=plan.result.priority,
            category_confidence=plan.result.confidence,
            priority_confidence=plan.result.priority_confidence,
            confidence=min(plan.result.confidence, plan.result.priority_confidence or plan.result.confidence),
            entities=plan.result.entities.as_dict(),
            suggested_article_ids=[a.article_id for a in plan.articles],
            possible_duplicate_id=plan.duplicate[0] if plan.duplicate else None,
            duplicate_score=round(plan.duplicate[1], 3) if plan.duplicate else 0.0,
            applied=applied,
            model_version=plan.result.model_version,
            triaged_at=timezone.now(),
        )
    plan.ticket = ticket
    return record


# --- after the writes ---------------------------------------------------------------------------


@dataclass
class _Followup:
    """What the steps after the triage commit need of one ticket: handed over by the batch that
    triaged it, or rebuilt from its record by the sweep when that batch's worker died."""

    ticket: Ticket  # as written, its terminal loaded
    category: str  # triage's suggestion (the articles are chosen for it)
    confidence: float  # of the category
    response_codes: tuple[str, ...]
    merchant_from_text: bool  # the merchant was linked from words in the text, not from the sender
    articles: list | None = (
        None  # K's ArticleSuggestion, best first; None: not known yet (suggested on demand)
    )

    @classmethod
    def of_plan(cls, plan: _Plan) -> _Followup:
        return cls(
            ticket=plan.ticket,
            category=plan.result.category,
            confidence=plan.result.confidence,
            response_codes=tuple(plan.result.entities.response_code),
            merchant_from_text=plan.merchant is not None,
            articles=plan.articles,
        )

    @classmethod
    def of_record(cls, record: TriageRecord) -> _Followup:
        return cls(
            ticket=record.ticket,
            category=record.category,
            confidence=record.category_confidence,
            response_codes=tuple((record.entities or {}).get("response_code") or ()),
            merchant_from_text=bool((record.applied.get("identified") or {}).get("merchant_from_text")),
        )


def _signal(followup: _Followup) -> TicketSignal:
    ticket = followup.ticket
    terminal = ticket.terminal if ticket.terminal_id else None
    return TicketSignal(
        ticket_id=ticket.pk,
        merchant_id=ticket.merchant_id,
        created_at=ticket.created_at,
        category=ticket.category,
        priority=ticket.priority,
        district_id=ticket.district_id,
        terminal_model_id=terminal.model_id if terminal else None,
        firmware=(terminal.firmware or "") if terminal else "",
        response_codes=followup.response_codes,
        text=ticket.description,
    )


def _known_fix(followup: _Followup) -> tuple[str, str, str, int | None] | None:
    """(source, answer, response code, article id) of a fix the merchant can apply alone: a
    response code whose remedy is theirs (not a terminal fault), else the best article's answer."""
    for code in followup.response_codes:
        info = response_code_lookup(code)
        if info is not None and info.remedy and not info.terminal_fault:
            return (
                SelfServiceAnswer.Source.RESPONSE_CODE,
                response_code_answer(info.code, info.meaning, info.remedy),
                info.code,
                info.article_id,
            )
    if followup.articles is None:
        ticket = followup.ticket
        followup.articles = _articles_for(
            ticket,
            category=followup.category,
            response_codes=followup.response_codes,
            terminal=ticket.terminal if ticket.terminal_id else None,
        )
    for article in followup.articles:
        # `answer` is set only on published merchant-facing known fixes, whatever the audience asked
        if article.answer and article.score >= ARTICLE_ANSWER_MIN_SCORE:
            return SelfServiceAnswer.Source.ARTICLE, article.answer, "", article.article_id
    return None


def _answer(followup: _Followup) -> bool:
    """Send a self-service answer when triage is sure, the fix is known, the ticket is not P1 (a
    merchant who cannot take payments gets a person) and came on a channel they can answer on."""
    ticket = followup.ticket
    if (
        ticket.merchant_id is None
        or ticket.channel not in SELF_SERVICE_CHANNELS
        or ticket.priority == Priority.P1
        or followup.confidence < settings.TRIAGE_SELF_SERVICE_CONFIDENCE
        or followup.merchant_from_text
    ):
        # merchant_from_text: linked from words in the text, not from the sender — answer only a proven sender
        return False
    fix = _known_fix(followup)
    if fix is None:
        return False
    source, answer, code, article_id = fix
    return (
        self_service_offer(
            ticket_id=ticket.pk, source=source, answer=answer, response_code=code, article_id=article_id
        )
        is not None
    )


def _told_of_an_incident(ticket_ids: Sequence[int]) -> set[int]:
    """Tickets linked to a confirmed incident (by this run or an earlier one): their reporters get
    the incident's status, never a second, self-service answer."""
    return set(
        IncidentTicket.objects.filter(ticket_id__in=list(ticket_ids))
        .exclude(incident__status__in=[Incident.Status.PROPOSED, Incident.Status.DISMISSED])
        .values_list("ticket_id", flat=True)
    )


def _followups_done(ticket_ids: Sequence[int]) -> None:
    TriageRecord.objects.filter(ticket_id__in=list(ticket_ids), followups_done_at__isnull=True).update(
        followups_done_at=timezone.now()
    )


def _followups_run(followups: list[_Followup], *, outcome: IntakeOutcome) -> None:
    """Index, observe and answer triaged tickets, then mark their records done. Each step is safe
    to run again (the index replaces a ticket's row, the detector counts a ticket once, an answer is
    given once per ticket and never to a reporter told of an incident), so a run cut short — the
    worker died, a step raised — is simply run again by the sweep from the records left not done."""
    ids = [f.ticket.pk for f in followups]
    ticket_search_index(ids)
    terminals = {
        t.pk: t
        for t in Terminal.objects.filter(
            pk__in={f.ticket.terminal_id for f in followups if f.ticket.terminal_id}
        )
    }
    for followup in followups:
        if followup.ticket.terminal_id:
            followup.ticket.terminal = terminals.get(followup.ticket.terminal_id)
    linked = incidents_observe(signals=[_signal(f) for f in followups])
    outcome.incident_linked.update(linked)
    told = set(linked) | _told_of_an_incident(ids)
    for followup in followups:
        if followup.ticket.pk in told:
            continue  # the incident's status answered them; no second answer
        try:
            if _answer(followup):
                outcome.answered.append(followup.ticket.pk)
        except Exception:  # one merchant's answer failing must not stop the others' or routing
            logger.exception("self-service answer failed", extra={"ticket_id": followup.ticket.pk})
    _followups_done(ids)


def tickets_triage(*, ticket_ids: Sequence[int]) -> IntakeOutcome:
    """Triage these tickets (those not triaged yet), then index, observe, answer and route them."""
    outcome = IntakeOutcome()
    ids = sorted(set(ticket_ids))
    actor = triage_actor()
    for start in range(0, len(ids), BATCH):
        _triage_batch(ids[start : start + BATCH], actor=actor, outcome=outcome)
    if outcome.triaged:
        routing_kick()  # last: routing sees the triaged category (coalesced, its own job)
    logger.info("intake pipeline ran", extra=outcome.as_dict())
    return outcome


def _triage_batch(ids: Sequence[int], *, actor: User, outcome: IntakeOutcome) -> None:
    tickets = list(
        Ticket.objects.filter(pk__in=ids, triage_record__isnull=True)
        .select_related("terminal")
        .order_by("pk")
    )
    outcome.skipped += len(ids) - len(tickets)
    if not tickets:
        return
    results = triage_texts([t.description for t in tickets])  # one classifier call for the batch
    plans = [_Plan(ticket=t, result=r) for t, r in zip(tickets, results, strict=True)]
    _identities(plans)
    _duplicates(plans)
    _suggestions(plans)
    human = _human_set_fields([p.ticket.pk for p in plans], actor)
    written: list[_Plan] = []
    for plan in plans:
        try:
            record = _write(plan, actor=actor, human_fields=human.get(plan.ticket.pk, set()))
        except Exception:  # noqa: BLE001 - one ticket that cannot be written must not stall every later one
            logger.exception("triage of a ticket failed", extra={"ticket_id": plan.ticket.pk})
            record = None
        if record is None:
            outcome.skipped += 1
            continue
        written.append(plan)
        outcome.triaged.append(plan.ticket.pk)
        outcome.identified += "identified" in record.applied
        outcome.duplicates += record.possible_duplicate_id is not None
    if written:
        _followups_run([_Followup.of_plan(p) for p in written], outcome=outcome)


def tickets_triage_new(*, within: timedelta = timedelta(days=1), limit: int = 5000) -> IntakeOutcome:
    """The job every new ticket's commit starts (coalesced): tickets still `new` without a triage
    record — read from the status index, so the cost is the untriaged tickets, not the table."""
    since = timezone.now() - within
    ids = list(
        Ticket.objects.filter(status=Status.NEW, created_at__gte=since, triage_record__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return tickets_triage(ticket_ids=ids) if ids else IntakeOutcome()


def tickets_triage_sweep(*, within: timedelta = timedelta(hours=1), limit: int = 5000) -> IntakeOutcome:
    """Every minute: the tickets of the last hour without a triage record in any status (a job
    that never ran, a worker that died, a ticket an agent moved on before triage ran), then the
    follow-ups still owed on records of the last hour (`tickets_followups_owed`)."""
    since = timezone.now() - within
    ids = list(
        Ticket.objects.filter(created_at__gte=since, triage_record__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcome = tickets_triage(ticket_ids=ids) if ids else IntakeOutcome()
    owed = tickets_followups_owed(within=within, limit=limit)
    outcome.recovered = owed.recovered
    outcome.answered += owed.answered
    outcome.incident_linked.update(owed.incident_linked)
    return outcome


def tickets_followups_owed(*, within: timedelta = timedelta(hours=1), limit: int = 5000) -> IntakeOutcome:
    """Run again the follow-ups of tickets triaged more than FOLLOWUP_GRACE ago whose records are
    not marked done: the worker that triaged them died (or a step raised) after the triage commit.
    Younger records are left to the worker still running them — running them twice would be safe,
    only wasted. Older than `within`, a late self-service answer would confuse more than help: those
    records stay not done. A batch whose steps raise is logged and tried again next minute."""
    now = timezone.now()
    records = list(
        TriageRecord.objects.filter(
            followups_done_at__isnull=True, triaged_at__gte=now - within, triaged_at__lt=now - FOLLOWUP_GRACE
        )
        .select_related("ticket")
        .order_by("triaged_at", "pk")[:limit]
    )
    outcome = IntakeOutcome()
    for start in range(0, len(records), BATCH):
        followups = [_Followup.of_record(r) for r in records[start : start + BATCH]]
        try:
            _followups_run(followups, outcome=outcome)
        except Exception:  # noqa: BLE001 - one batch that cannot be followed up must not stall the later ones
            logger.exception("triage follow-ups failed again", extra={"tickets": len(followups)})
            continue
        outcome.recovered += [f.ticket.pk for f in followups]
    if outcome.recovered:
        logger.warning("triage follow-ups run again", extra=outcome.as_dict())
        routing_kick()
    return outcome
