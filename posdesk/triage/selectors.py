"""Reads of triage records, corrections and self-service answers. Tickets are reached through the
tickets app's access gate by the callers; these selectors take a ticket already allowed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from posdesk.tickets.models import Ticket
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
