"""Reads of triage records, corrections and self-service answers. Tickets are reached through the
tickets app's access gate by the callers; these selectors take a ticket already allowed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from posdesk.accounts.models import User
from posdesk.core.taxonomy import OPEN_STATUSES
from posdesk.knowledge.selectors import article_scope_for_user
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import ticket_scope_for_user
from posdesk.triage.models import SelfServiceAnswer, TriageCorrection, TriageRecord


def triage_record_for_ticket(ticket: Ticket) -> TriageRecord | None:
    return (TriageRecord.objects.select_related("possible_duplicate")
            .filter(ticket_id=ticket.pk).first())


def triage_corrections_for_ticket(ticket: Ticket) -> list[TriageCorrection]:
    return list(TriageCorrection.objects.select_related("actor").filter(ticket_id=ticket.pk)
                .order_by("-created_at", "-pk")[:20])


def triage_corrections_for_training() -> list[tuple[str, str | None, str | None]]:
    """(text, category, priority) per corrected ticket for retraining: the ticket's description
    with the latest correction of each field (None where that field was not corrected). A field
    corrected back to what triage suggested still counts: it confirms the label."""
    latest: dict[int, dict[str, str]] = {}
    rows = (TriageCorrection.objects.order_by("ticket_id", "created_at", "pk")
            .values_list("ticket_id", "field", "to_value"))
    for ticket_id, field, to_value in rows.iterator(chunk_size=2000):
        latest.setdefault(ticket_id, {})[field] = to_value  # later rows win
    texts = dict(Ticket.objects.filter(pk__in=list(latest)).values_list("pk", "description")) if latest else {}
    return [
        (texts[ticket_id], fields.get("category"), fields.get("priority"))
        for ticket_id, fields in latest.items()
        if ticket_id in texts
    ]


def self_service_answer_for_ticket(ticket: Ticket) -> SelfServiceAnswer | None:
    return SelfServiceAnswer.objects.filter(ticket_id=ticket.pk).first()


def self_service_pending(ticket_id: int) -> bool:
    return SelfServiceAnswer.objects.filter(ticket_id=ticket_id, outcome=SelfServiceAnswer.Outcome.PENDING).exists()


@dataclass(frozen=True)
class SelfServiceFigures:
    offered: int
    solved: int
    not_solved: int
    pending: int

    @property
    def deflection_rate(self) -> float:
        """Share of the answered offers that solved the problem (pending ones are not counted)."""
        answered = self.solved + self.not_solved
        return self.solved / answered if answered else 0.0


def self_service_figures(*, since: datetime | None = None) -> SelfServiceFigures:
    """How many self-service answers were given, and what the merchants said: deflection."""
    answers = SelfServiceAnswer.objects.all()
    if since is not None:
        answers = answers.filter(offered_at__gte=since)
    counts = answers.aggregate(
        offered=Count("pk"),
        solved=Count("pk", filter=Q(outcome=SelfServiceAnswer.Outcome.SOLVED)),
        not_solved=Count("pk", filter=Q(outcome=SelfServiceAnswer.Outcome.NOT_SOLVED)),
        pending=Count("pk", filter=Q(outcome=SelfServiceAnswer.Outcome.PENDING)),
    )
    return SelfServiceFigures(**counts)


@dataclass(frozen=True)
class TriageView:
    """Everything the triage panel and the API show for one ticket, read in a few statements."""

    record: TriageRecord | None
    articles: list  # knowledge Articles, in the record's order
    duplicate: Ticket | None  # the possible duplicate, if the viewer may see it and it is still open
    corrections: list[TriageCorrection]
    self_service: SelfServiceAnswer | None


def triage_view_for_ticket(ticket: Ticket, user: User) -> TriageView:
    """The triage of a ticket the viewer already may see. The duplicate is shown only if the viewer
    may see it too (through the tickets' access gate) and it is still open to merge."""
    record = triage_record_for_ticket(ticket)
    articles: list = []
    duplicate = None
    if record is not None:
        if record.suggested_article_ids:
            found = {a.pk: a for a in article_scope_for_user(user).filter(pk__in=record.suggested_article_ids)
                     .only("pk", "slug", "title", "summary", "audience", "status")}
            articles = [found[pk] for pk in record.suggested_article_ids if pk in found]
        if record.possible_duplicate_id is not None:
            duplicate = (ticket_scope_for_user(user).filter(pk=record.possible_duplicate_id,
                                                            status__in=sorted(OPEN_STATUSES))
                         .only("pk", "number", "status", "subject", "created_at").first())
    return TriageView(record=record, articles=articles, duplicate=duplicate,
                      corrections=triage_corrections_for_ticket(ticket),
                      self_service=self_service_answer_for_ticket(ticket))
