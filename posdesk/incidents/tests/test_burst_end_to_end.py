"""The must-show burst, end to end: 2,000 merchants' reports of "交易失败 返回码96" from one district
within ten minutes, created through the real ticket services, so every commit starts the intake
pipeline (triage → incident detector → answers → routing) as production does. Exactly one incident
opens within the spike's first minute, every ticket is linked to it, every reporter is told its
status at once — and unrelated tickets opened meanwhile are untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posdesk.core.taxonomy import Channel
from posdesk.incidents.models import Incident, IncidentTicket
from posdesk.incidents.tests.builders import merchants_in
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket
from posdesk.tickets.services import ticket_open, ticket_open_from_channel
from tests import factories as f

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Hangzhou
BURST = 2000


@pytest.mark.django_db
def test_two_thousand_reports_of_96_from_one_district_make_one_incident_and_every_reporter_hears_at_once(
        world, django_capture_on_commit_callbacks):
    # given 2,000 merchants in Xihu and a few elsewhere
    xihu = f.district("xihu")
    burst_merchants = merchants_in("xihu", BURST)
    elsewhere = merchants_in("binjiang", 10)
    burst: list[Ticket] = []
    unrelated: list[Ticket] = []

    with time_machine.travel(START, tick=False) as clock:
        for i, merchant in enumerate(burst_merchants):
            # when each reports "交易失败 返回码96" (one every 0.3 s: ten minutes), by SMS or by phone to
            # an agent, each in its own request whose commit starts the intake pipeline
            clock.move_to(START + timedelta(seconds=0.3 * i))
            with django_capture_on_commit_callbacks(execute=True):
                if i % 2:
                    burst.append(ticket_open_from_channel(channel=Channel.SMS, text="交易失败 返回码96",
                                                          merchant=merchant))
                else:
                    burst.append(ticket_open(actor=world.agent, merchant=merchant, channel=Channel.PHONE,
                                             text="交易失败 返回码96"))
                if i % 200 == 100:  # and now and then an unrelated report from another district
                    unrelated.append(ticket_open(actor=world.agent, merchant=elsewhere[len(unrelated)],
                                                 channel=Channel.PHONE, text="打印机不出纸，换了纸也不行"))

    # then exactly one incident: 96 in Xihu, opened within the first minute of the spike
    incident = Incident.objects.get()
    assert incident.scope_key == f"r=96;d={xihu.pk}" and incident.status == Incident.Status.OPEN
    assert incident.detected_at - burst[0].created_at < timedelta(minutes=1)
    # every ticket of the burst is linked to it
    burst_ids = {t.pk for t in burst}
    linked = set(IncidentTicket.objects.filter(incident=incident).values_list("ticket_id", flat=True))
    assert linked == burst_ids
    # every reporter was told the incident's status at once (a service reply on the ticket's route)
    told = set(OutboxMessage.objects.filter(ticket_id__in=burst_ids, purpose="service_reply",
                                            body__contains=incident.number).values_list("ticket_id", flat=True))
    assert told == burst_ids
    assert not IncidentTicket.objects.filter(incident=incident, notified_at__isnull=True).exists()
    # and no self-service answer was sent on top of it
    assert not OutboxMessage.objects.filter(ticket_id__in=burst_ids, body__contains="问题解决了吗").exists()
    # the unrelated tickets were triaged as usual but not linked, and told nothing about the incident
    unrelated_ids = [t.pk for t in unrelated]
    assert len(unrelated_ids) == 10
    assert not IncidentTicket.objects.filter(ticket_id__in=unrelated_ids).exists()
    assert not OutboxMessage.objects.filter(ticket_id__in=unrelated_ids, body__contains="INC").exists()
    assert set(Ticket.objects.filter(pk__in=unrelated_ids).values_list("category", flat=True)) == {"hardware"}
