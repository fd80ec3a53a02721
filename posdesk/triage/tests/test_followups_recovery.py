"""The steps after the triage commit (search index, incident detector, self-service answer) are
owed until the record says they ran: a worker that dies between the commit and the end of those
steps leaves them to the minute sweep, which runs them again — once, and never a second answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from posdesk.incidents.models import DetectorSignal, Incident, IncidentTicket
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.services import ticket_open_from_channel
from posdesk.triage import pipeline
from posdesk.triage.models import SelfServiceAnswer, TriageRecord
from posdesk.triage.pipeline import tickets_triage, tickets_triage_sweep

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
KNOWN_FIX = "顾客刷卡提示51，怎么回事"  # 51: insufficient funds — the remedy is the cardholder's


class WorkerDied(Exception):
    pass


@pytest.fixture
def monday(time_machine: Any) -> Any:
    time_machine.move_to(MONDAY_MORNING, tick=False)
    return time_machine


def _sms_ticket(world: Any) -> Ticket:
    return ticket_open_from_channel(channel="sms", text=KNOWN_FIX, merchant=world.merchant)


def _die(*args: Any, **kwargs: Any) -> None:
    raise WorkerDied


def _answers_sent(ticket: Ticket) -> int:
    return TicketEvent.objects.filter(
        ticket=ticket, kind=TicketEvent.Kind.REPLY, data__automatic=True
    ).count()


def test_follow_ups_cut_short_after_the_triage_commit_are_run_by_the_sweep(
    world: Any, monday: Any, monkeypatch: Any
) -> None:
    # given a known fix texted by the merchant, triaged by a worker that died right after the triage commit
    ticket = _sms_ticket(world)
    index = pipeline.ticket_search_index
    monkeypatch.setattr(pipeline, "ticket_search_index", _die)
    with pytest.raises(WorkerDied):
        tickets_triage(ticket_ids=[ticket.pk])
    monkeypatch.setattr(pipeline, "ticket_search_index", index)
    record = TriageRecord.objects.get(ticket=ticket)
    assert record.followups_done_at is None
    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists()

    # when the sweep runs at once, the worker may still be at work: it is left alone
    assert tickets_triage_sweep().recovered == []

    # when the sweep runs after the grace period
    monday.shift(pipeline.FOLLOWUP_GRACE + timedelta(seconds=1))
    swept = tickets_triage_sweep()

    # then the follow-ups ran: observed by the detector, answered once on the SMS thread, marked done
    assert swept.recovered == [ticket.pk] and swept.answered == [ticket.pk]
    assert DetectorSignal.objects.filter(ticket_id=ticket.pk).exists()
    assert SelfServiceAnswer.objects.filter(ticket=ticket).count() == 1
    assert _answers_sent(ticket) == 1
    record.refresh_from_db()
    assert record.followups_done_at == timezone.now()

    # and a later sweep owes nothing
    monday.shift(timedelta(minutes=1))
    assert tickets_triage_sweep().recovered == []
    assert _answers_sent(ticket) == 1


def test_a_worker_that_died_after_answering_does_not_make_the_sweep_answer_again(
    world: Any, monday: Any, monkeypatch: Any
) -> None:
    # given a worker that answered the merchant and died before marking the follow-ups done
    ticket = _sms_ticket(world)
    done = pipeline._followups_done
    monkeypatch.setattr(pipeline, "_followups_done", _die)
    with pytest.raises(WorkerDied):
        tickets_triage(ticket_ids=[ticket.pk])
    monkeypatch.setattr(pipeline, "_followups_done", done)
    assert _answers_sent(ticket) == 1
    sms_before = OutboxMessage.objects.filter(channel="sms", recipient=world.contact.mobile).count()

    # when the sweep runs the follow-ups again
    monday.shift(pipeline.FOLLOWUP_GRACE + timedelta(seconds=1))
    swept = tickets_triage_sweep()

    # then they are marked done, and the merchant got no second answer
    assert swept.recovered == [ticket.pk] and swept.answered == []
    assert _answers_sent(ticket) == 1
    assert OutboxMessage.objects.filter(channel="sms", recipient=world.contact.mobile).count() == sms_before
    assert TriageRecord.objects.get(ticket=ticket).followups_done_at is not None


def test_a_reporter_told_of_an_incident_gets_no_self_service_answer_from_the_sweep(
    world: Any, monday: Any, monkeypatch: Any
) -> None:
    # given a worker that linked the ticket to an open incident (its reporter was told) and died then
    ticket = _sms_ticket(world)
    monkeypatch.setattr(pipeline, "ticket_search_index", _die)
    with pytest.raises(WorkerDied):
        tickets_triage(ticket_ids=[ticket.pk])
    monkeypatch.undo()
    now = timezone.now()
    incident = Incident.objects.create(
        number="INC-HD-1",
        title="银联通道故障",
        scope_key="code:96",
        scope_kind="response_code",
        status=Incident.Status.OPEN,
        detected_at=now,
        opened_at=now,
        created_at=now,
        updated_at=now,
    )
    IncidentTicket.objects.create(
        incident=incident,
        ticket=ticket,
        merchant=world.merchant,
        ticket_created_at=ticket.created_at,
        linked_at=now,
        notified_at=now,
    )

    # when the sweep runs the follow-ups again
    monday.shift(pipeline.FOLLOWUP_GRACE + timedelta(seconds=1))
    swept = tickets_triage_sweep()

    # then the follow-ups are done without a self-service answer
    assert swept.recovered == [ticket.pk] and swept.answered == []
    assert not SelfServiceAnswer.objects.filter(ticket=ticket).exists()
    assert TriageRecord.objects.get(ticket=ticket).followups_done_at is not None


def test_a_batch_whose_follow_ups_fail_again_does_not_stall_the_others(
    world: Any, monday: Any, monkeypatch: Any
) -> None:
    # given two tickets whose worker died after the triage commit
    first, second = _sms_ticket(world), _sms_ticket(world)
    monkeypatch.setattr(pipeline, "ticket_search_index", _die)
    with pytest.raises(WorkerDied):
        tickets_triage(ticket_ids=[first.pk, second.pk])
    monkeypatch.undo()
    # and the first one's follow-ups fail again
    observe = pipeline.incidents_observe

    def observe_failing_for_first(*, signals: Any) -> Any:
        if any(s.ticket_id == first.pk for s in signals):
            raise WorkerDied
        return observe(signals=signals)

    monkeypatch.setattr(pipeline, "incidents_observe", observe_failing_for_first)
    monkeypatch.setattr(pipeline, "BATCH", 1)

    # when the sweep runs them again
    monday.shift(pipeline.FOLLOWUP_GRACE + timedelta(seconds=1))
    swept = tickets_triage_sweep()

    # then the second is done and answered; the first stays owed for the next sweep
    assert swept.recovered == [second.pk] and swept.answered == [second.pk]
    assert TriageRecord.objects.get(ticket=first).followups_done_at is None
    assert TriageRecord.objects.get(ticket=second).followups_done_at is not None
