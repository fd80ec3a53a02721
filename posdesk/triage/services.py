"""Triage services (C6)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.core.errors import Conflict, NotFound, field_error
from posdesk.core.taxonomy import OPEN_STATUSES, Channel, Status
from posdesk.knowledge.services import deflection_record
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_automatic_answer, ticket_classify, ticket_resolve_automatically
from posdesk.triage import training
from posdesk.triage.decision import TriageResult, triage_decide
from posdesk.triage.models import SelfServiceAnswer, TriageCorrection
from posdesk.triage.selfservice import answer_text, merchant_answer


def triage_text(text: str) -> TriageResult:
    """Category, priority, confidence and entities of a merchant's message. Reads only (the model,
    trained on first use); writes nothing."""
    return triage_texts([text])[0]


def triage_texts(texts: Sequence[str]) -> list[TriageResult]:
    """`triage_text` for many messages at once (one model call: the intake pipeline's batch)."""
    model = training.model_get()
    predictions = model.predict_many(list(texts))
    return [
        triage_decide(text, prediction, model_version=model.version)
        for text, prediction in zip(texts, predictions, strict=True)
    ]


# --- corrections, self-service answers (T2) ---------------------------------------------------


@transaction.atomic
def triage_correct(
    *, ticket: Ticket, actor: User, category: str | None = None, priority: str | None = None
) -> list[TriageCorrection]:
    """An agent corrects the category and/or priority of a ticket: each changed field is stored as
    a correction (who, when, from → to: the next model's training data) and applied to the ticket
    through `ticket_classify`, which checks the agent may, records the change and refreshes the SLA
    deadlines. Setting a field to what it already is changes nothing and stores nothing."""
    if category is None and priority is None:
        raise field_error("category", _("Choose a category or a priority."), code="correction_empty")
    event = ticket_classify(ticket=ticket, actor=actor, category=category, priority=priority)
    if event is None:
        return []
    now = timezone.now()
    corrections = [
        TriageCorrection(ticket_id=ticket.pk, field=name, from_value=values[0], to_value=values[1], actor=actor,
                         created_at=now)
        for name, values in event.data["changes"].items()
    ]
    TriageCorrection.objects.bulk_create(corrections)
    return corrections


@transaction.atomic
def self_service_offer(
    *, ticket_id: int, source: str, answer: str, response_code: str = "", article_id: int | None = None,
) -> SelfServiceAnswer | None:
    """Give the merchant a self-service answer on their own channel, with "did this solve it?".
    At most once per ticket (a second run finds the row, or loses the unique insert), and only
    while nobody works the ticket yet: open, not answered by an agent. The ticket stays in the
    queue meanwhile — an agent still sees it. Returns None when no answer was given."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if (ticket is None or ticket.merchant_id is None or ticket.status not in (Status.NEW, Status.TRIAGED)
            or ticket.first_response_at is not None
            or SelfServiceAnswer.objects.filter(ticket_id=ticket_id).exists()):
        return None
    offer = SelfServiceAnswer.objects.create(
        ticket=ticket, merchant_id=ticket.merchant_id, channel=ticket.channel, source=source,
        response_code=response_code, article_id=article_id, answer=answer, offered_at=timezone.now())
    short, full = answer_text(answer, channel=ticket.channel, ticket_number=ticket.number)
    # the portal shows it on the ticket page with two buttons; other channels get it on their thread
    ticket_automatic_answer(ticket=ticket, body=short, full_body=full, notify=ticket.channel != Channel.PORTAL,
                            data={"self_service": offer.pk})
    return offer


@transaction.atomic
def self_service_conclude(*, ticket: Ticket, solved: bool, actor: User | None = None) -> SelfServiceAnswer:
    """The answer of the merchant (`actor`: their portal user, reached through the tickets' gate; None on
    SMS, WeChat and e-mail) to "did this solve it?". Yes: the ticket is resolved as self-served
    (a lifecycle transition with its reason) and the deflection counted; no: it goes on to an
    agent as it is, priority kept. The same answer twice is harmless; a different second answer
    is refused (the first one was acted on)."""
    offer = SelfServiceAnswer.objects.select_for_update().filter(ticket_id=ticket.pk).first()
    if offer is None:
        raise NotFound(_("This ticket has no self-service answer."), code="no_self_service_answer")
    outcome = SelfServiceAnswer.Outcome.SOLVED if solved else SelfServiceAnswer.Outcome.NOT_SOLVED
    if offer.outcome != SelfServiceAnswer.Outcome.PENDING:
        if offer.outcome == outcome:
            return offer
        raise Conflict(_("You have already answered this question."), code="self_service_answered")
    now = timezone.now()
    if solved:
        current = Ticket.objects.only("status").get(pk=ticket.pk)
        if current.status not in OPEN_STATUSES:
            raise Conflict(_("This ticket is already closed."), code="ticket_not_open")
        ticket_resolve_automatically(ticket=ticket, reason="self-served: the merchant says the answer solved it")
        deflection_record(kind="self_service", ticket_id=ticket.pk, article_id=offer.article_id,
                          merchant_id=offer.merchant_id)
    offer.outcome, offer.answered_at = outcome, now
    offer.save(update_fields=["outcome", "answered_at"])
    return offer


def self_service_reply(*, ticket: Ticket, text: str) -> bool | None:
    """A message the merchant sent on a ticket waiting for their "did this solve it?" (SMS, WeChat,
    e-mail): True / False when it answered (and was acted on), None when it was not an answer or
    nothing was asked. Called by the channels after the message joined the ticket."""
    if not SelfServiceAnswer.objects.filter(ticket_id=ticket.pk, outcome=SelfServiceAnswer.Outcome.PENDING).exists():
        return None
    solved = merchant_answer(text)
    if solved is None:
        return None
    try:
        self_service_conclude(ticket=ticket, solved=solved)
    except (Conflict, NotFound):
        return None
    return solved
