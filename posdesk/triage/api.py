"""REST API of triage (C6): a ticket's triage record, and an agent's correction of it. Thin:
parse, fetch through the tickets' access gate, call one service, answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema
from ninja import Status as Answer
from pydantic import BaseModel, Field

from posdesk.accounts.models import User
from posdesk.core.api import ERRORS, IDEMPOTENCY_HEADER_DOC, idempotency_key, principal
from posdesk.core.errors import NotFound, PermissionDenied
from posdesk.core.idempotency import idempotent_create
from posdesk.core.masking import mask_mobile
from posdesk.tickets import policies
from posdesk.tickets.models import Ticket
from posdesk.tickets.selectors import ticket_get_for_user
from posdesk.triage.selectors import TriageView, triage_view_for_ticket
from posdesk.triage.services import triage_correct

router = Router(tags=["triage"])


class Out(BaseModel):
    pass


class ArticleRef(Out):
    id: int
    slug: str
    title: str


class TicketRef(Out):
    id: int
    number: str
    status: str


class CorrectionOut(Out):
    field: str
    from_value: str
    to_value: str
    actor: str | None
    created_at: datetime


class SelfServiceOut(Out):
    source: str = Field(description="`response_code` or `article`")
    channel: str
    answer: str
    outcome: str = Field(description="`pending`, `solved` or `not_solved`")
    offered_at: datetime
    answered_at: datetime | None


class TriageOut(Out):
    ticket_id: int
    category: str = Field(description="the category triage suggested (SPEC §4 code)")
    priority: str
    confidence: float = Field(description="the lower of the category and priority confidences, 0–1")
    category_confidence: float
    priority_confidence: float
    entities: dict[str, list[str]] = Field(description="`sn`, `tid`, `mid`, `response_code`, `phone` (masked), `amount`")
    suggested_articles: list[ArticleRef]
    possible_duplicate: TicketRef | None = Field(description="an open ticket of the same merchant with similar words")
    duplicate_score: float
    applied: dict[str, Any] = Field(description="what triage changed on the ticket (`category`: [from, to], …)")
    model_version: str
    triaged_at: datetime
    corrections: list[CorrectionOut]
    self_service: SelfServiceOut | None


class CorrectionIn(Schema):
    category: str | None = None
    priority: str | None = None


def _masked(entities: dict[str, list[str]]) -> dict[str, list[str]]:
    return {**entities, "phone": [mask_mobile(p) for p in entities.get("phone", [])]}


def triage_out(ticket: Ticket, view: TriageView) -> dict:
    record = view.record
    if record is None:
        raise NotFound(_("This ticket has not been triaged yet."), code="not_triaged")
    offer = view.self_service
    return {
        "ticket_id": ticket.pk, "category": record.category, "priority": record.priority,
        "confidence": record.confidence, "category_confidence": record.category_confidence,
        "priority_confidence": record.priority_confidence, "entities": _masked(record.entities),
        "suggested_articles": [{"id": a.pk, "slug": a.slug, "title": a.title} for a in view.articles],
        "possible_duplicate": ({"id": view.duplicate.pk, "number": view.duplicate.number,
                                "status": view.duplicate.status} if view.duplicate else None),
        "duplicate_score": record.duplicate_score if view.duplicate else 0.0,
        "applied": record.applied, "model_version": record.model_version, "triaged_at": record.triaged_at,
        "corrections": [{"field": c.field, "from_value": c.from_value, "to_value": c.to_value,
                         "actor": str(c.actor) if c.actor else None, "created_at": c.created_at}
                        for c in view.corrections],
        "self_service": ({"source": offer.source, "channel": offer.channel, "answer": offer.answer,
                          "outcome": offer.outcome, "offered_at": offer.offered_at, "answered_at": offer.answered_at}
                         if offer else None),
    }


def _ticket_for_staff(user: User, ticket_id: int) -> Ticket:
    ticket = ticket_get_for_user(user, ticket_id=ticket_id)
    if not policies.can_see_internal(user):
        raise PermissionDenied()  # triage is the desk's working material, not the merchant's
    return ticket


@router.get(
    "/tickets/{ticket_id}/triage", response={200: TriageOut, **ERRORS}, summary="A ticket's triage",
    description=(
        "What triage found for the ticket: suggested category and priority with their confidence, "
        "entities (mobiles masked), suggested knowledge articles, a possible duplicate, what it changed, "
        "the agents' corrections and the self-service answer given, if any. Staff only; 404 "
        "`not_triaged` until the intake pipeline has run."
    ),
)
def triage_get(request: HttpRequest, ticket_id: int) -> dict:
    ticket = _ticket_for_staff(request.auth, ticket_id)
    return triage_out(ticket, triage_view_for_ticket(ticket, request.auth))


@router.post(
    "/tickets/{ticket_id}/triage/correction", response={201: TriageOut, **ERRORS},
    summary="Correct triage's category or priority",
    description=(
        "Set the ticket's `category` and/or `priority` (SPEC §4 codes): each change is applied to the "
        "ticket (deadlines follow the priority) and stored as a correction that retraining learns from. "
        "Desk roles only. " + IDEMPOTENCY_HEADER_DOC
    ),
)
def triage_correction(request: HttpRequest, ticket_id: int, payload: CorrectionIn) -> Any:
    user: User = request.auth  # type: ignore[assignment]
    ticket = _ticket_for_staff(user, ticket_id)

    def produce() -> tuple[int, dict]:
        triage_correct(ticket=ticket, actor=user, category=payload.category, priority=payload.priority)
        fresh = ticket_get_for_user(user, ticket_id=ticket_id)
        return 201, TriageOut.model_validate(triage_out(fresh, triage_view_for_ticket(fresh, user))).model_dump(
            mode="json")

    answer, _replayed = idempotent_create(
        principal=principal(request), scope=f"triage.correction:{ticket.pk}", key=idempotency_key(request),
        payload=payload.model_dump(mode="json"), produce=produce,
    )
    return Answer(*answer)
