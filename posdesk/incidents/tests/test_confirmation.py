"""Confirming a proposed incident answers the reporters who were waiting on it: one incident notice
per merchant, and their tickets marked told (`notified_at`) — as a reporter linked to an open
incident is told at once. What the confirmation told is then counted once: the summary's
"answered", and no merchant answered on their own ticket meanwhile is told again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posdesk.contact.services import contact_opt_out
from posdesk.core.taxonomy import Category
from posdesk.incidents.models import Incident, IncidentEvent, IncidentTicket
from posdesk.incidents.selectors import incident_summary
from posdesk.incidents.services import incident_broadcast, incident_set_status, incidents_observe
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at
from posdesk.outbox.models import OutboxMessage
from tests import factories as f

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Hangzhou


@pytest.fixture
def proposal(world):
    """A firmware spike, proposed (firmware is not opened automatically): 25 reports from 10
    merchants, linked, nobody told yet."""
    model = f.TerminalModelFactory()
    merchants = merchants_in("xihu", 5) + merchants_in("binjiang", 5)
    tickets = tickets_at(
        merchants,
        [START + timedelta(seconds=5 * i) for i in range(25)],
        text="开机就重启",
        category=Category.HARDWARE,
    )
    kwargs = {"response_codes": (), "terminal_model_id": model.pk, "firmware": "V2.3.1"}
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        assert incidents_observe(signals=[signal_of(t, **kwargs) for t in tickets]) == {}
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.PROPOSED and incident.links.count() == 25
    assert not OutboxMessage.objects.exists()
    return incident, merchants, tickets, kwargs


@pytest.mark.django_db
def test_confirming_a_proposal_tells_each_waiting_merchant_once_and_marks_their_tickets_told(
    world, proposal, django_capture_on_commit_callbacks
):
    incident, merchants, tickets, _kwargs = proposal
    # given one merchant who refused incident notices by SMS
    contact_opt_out(
        merchant=merchants[0], channel="sms", purpose="incident_notice", source="portal", actor=None
    )

    # when the supervisor confirms the outage
    with (
        time_machine.travel(START + timedelta(minutes=10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = incident_set_status(incident=incident, actor=world.supervisor, to_status="open")

    # then nine merchants got one notice each, and every ticket of theirs is marked told
    notices = OutboxMessage.objects.filter(purpose="incident_notice")
    assert notices.count() == 9 and notices.values("merchant_id").distinct().count() == 9
    told = IncidentTicket.objects.filter(incident=incident, notified_at__isnull=False)
    assert set(told.values_list("merchant_id", flat=True)) == {m.pk for m in merchants[1:]}
    assert told.count() == 25 - sum(1 for t in tickets if t.merchant_id == merchants[0].pk)
    assert not IncidentTicket.objects.filter(
        incident=incident, merchant=merchants[0], notified_at__isnull=False
    ).exists()  # refused: not told
    # and the summary counts what was told once
    summary = incident_summary(incident)
    assert summary.notified_count == told.count()
    event.refresh_from_db()
    assert (event.broadcast_merchants, event.broadcast_sent) == (10, 9) and summary.broadcast_messages == 9


@pytest.mark.django_db
def test_a_merchant_answered_on_a_new_ticket_before_the_confirmation_notice_went_is_not_told_twice(
    world, proposal
):
    incident, merchants, tickets, kwargs = proposal
    # given the supervisor confirmed the outage, and its notice job has not run yet
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        event = incident_set_status(incident=incident, actor=world.supervisor, to_status="open")
        assert event.broadcast and event.broadcast_done_at is None
        # and meanwhile one of the waiting merchants reported again, and was answered at once
        again = tickets_at(
            [merchants[1]], [START + timedelta(minutes=10)], text="开机就重启", category=Category.HARDWARE
        )
        assert incidents_observe(signals=[signal_of(again[0], **kwargs)]) == {again[0].pk: incident.pk}
        assert OutboxMessage.objects.filter(merchant_id=merchants[1].pk).count() == 1

        # when the notice job runs
        sent = incident_broadcast(event_id=event.pk)

    # then the nine others are told; the merchant answered already is not told again
    assert sent == 9
    assert OutboxMessage.objects.filter(merchant_id=merchants[1].pk).count() == 1
    assert (
        OutboxMessage.objects.filter(purpose="incident_notice").values("merchant_id").distinct().count() == 9
    )
    assert not OutboxMessage.objects.filter(purpose="incident_notice", merchant_id=merchants[1].pk).exists()
    # and a second delivery of the job sends nothing
    assert incident_broadcast(event_id=event.pk) == 0


@pytest.mark.django_db
def test_a_later_broadcast_update_still_reaches_every_affected_merchant(
    world, proposal, django_capture_on_commit_callbacks
):
    from posdesk.incidents.services import incident_update_post

    incident, _merchants, _tickets, _kwargs = proposal
    with (
        time_machine.travel(START + timedelta(minutes=10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        incident_set_status(incident=incident, actor=world.supervisor, to_status="open")
    with (
        time_machine.travel(START + timedelta(minutes=30), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        update = incident_update_post(
            incident=incident, actor=world.supervisor, body="已推送修复固件 V2.3.2", broadcast=True
        )
    update.refresh_from_db()
    assert (update.broadcast_merchants, update.broadcast_sent) == (10, 10)
    assert OutboxMessage.objects.filter(purpose="incident_notice", body__contains="V2.3.2").count() == 10
    # the update is not a status answer: what the summary counts as told is the confirmation's
    assert incident_summary(incident).notified_count == 25
    assert IncidentEvent.objects.filter(incident=incident, broadcast_done_at__isnull=False).count() == 2
