"""The supervisor's side of an incident: confirm or dismiss a proposal, post updates and broadcast
them (one message per merchant, through the contact gate), set the ETA, resolve — and what
resolving does to the incident's tickets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posdesk.contact.models import ContactDecision
from posdesk.contact.services import contact_opt_out
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from posdesk.core.taxonomy import Status
from posdesk.incidents.models import Incident, IncidentEvent
from posdesk.incidents.services import (
    incident_resolve,
    incident_set_eta,
    incident_set_status,
    incident_update_post,
    incidents_observe,
)
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import Ticket

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def outage(world):
    """An open incident for 96 in Xihu: 30 tickets from 10 merchants (three each)."""
    merchants = merchants_in("xihu", 10)
    tickets = tickets_at(merchants, [START + timedelta(seconds=i) for i in range(30)])
    with time_machine.travel(START + timedelta(seconds=30), tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets])
    incident = Incident.objects.get()
    assert incident.links.count() == 30
    return incident, merchants, tickets


@pytest.mark.django_db
def test_a_broadcast_update_reaches_each_merchant_once_and_respects_their_opt_out(
        world, outage, django_capture_on_commit_callbacks):
    # given an open incident with 10 merchants, one of whom refused incident notices by SMS
    incident, merchants, _tickets = outage
    contact_opt_out(merchant=merchants[0], channel="sms", purpose="incident_notice", source="portal", actor=None)
    before = OutboxMessage.objects.count()

    # when the supervisor posts an update and broadcasts it
    with time_machine.travel(START + timedelta(minutes=20), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        event = incident_update_post(incident=incident, actor=world.supervisor, body="银联主机已切换备用线路，正在恢复",
                                     broadcast=True)

    # then nine merchants get one incident notice each; the tenth is refused by the gate, logged
    notices = OutboxMessage.objects.filter(purpose="incident_notice")
    assert OutboxMessage.objects.count() - before == 9 == notices.count()
    assert set(notices.values_list("merchant_id", flat=True)) == {m.pk for m in merchants[1:]}
    assert all("银联主机已切换备用线路" in body for body in notices.values_list("body", flat=True))
    assert ContactDecision.objects.get(merchant_id=merchants[0].pk, purpose="incident_notice").outcome == "deny"
    event.refresh_from_db()
    assert (event.broadcast_merchants, event.broadcast_sent) == (10, 9) and event.broadcast_done_at
    # and a second delivery of the job sends nothing again
    from posdesk.incidents.services import incident_broadcast

    assert incident_broadcast(event_id=event.pk) == 0
    assert notices.count() == 9


@pytest.mark.django_db
def test_new_reporters_are_told_the_latest_update_and_the_eta(world, outage):
    incident, _merchants, _tickets = outage
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        incident_set_eta(incident=incident, actor=world.supervisor, eta=START + timedelta(hours=2))
        incident_update_post(incident=incident, actor=world.supervisor, body="正在切换备用线路")
        incident_update_post(incident=incident, actor=world.supervisor, body="主机厂商排查中", public=False)
        late = tickets_at(merchants_in("xihu", 1), [START + timedelta(minutes=2)])[0]
        linked = incidents_observe(signals=[signal_of(late)])
    assert linked == {late.pk: incident.pk}
    body = OutboxMessage.objects.get(ticket_id=late.pk).body
    assert incident.number in body and "12-01 12:00" in body and "正在切换备用线路" in body
    assert "主机厂商排查中" not in body  # an internal note is never told


@pytest.mark.django_db
@pytest.mark.parametrize(("resolution", "expected"), [
    ("resolve", Status.RESOLVED), ("confirm", Status.PENDING_ACCEPTANCE), ("release", Status.NEW)])
def test_resolving_applies_the_supervisors_choice_to_the_tickets(
        world, outage, resolution, expected, django_capture_on_commit_callbacks):
    # given an open incident; one of its tickets has an on-site visit scheduled already
    incident, _merchants, tickets = outage
    visit = tickets[0]
    Ticket.objects.filter(pk=visit.pk).update(status=Status.ONSITE_SCHEDULED)

    # when the supervisor resolves it
    with time_machine.travel(START + timedelta(hours=1), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, actor=world.supervisor, resolution=resolution,
                         message="主机已恢复，请重新交易")

    # then the tickets move as chosen, the visit is left for an agent, and every link is released
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED and incident.resolution == resolution
    statuses = dict(Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("pk", "status"))
    assert statuses.pop(visit.pk) == Status.ONSITE_SCHEDULED
    assert set(statuses.values()) == {expected}
    assert not incident.links.filter(released_at__isnull=True).exists()
    # and the resolution message went out once per merchant
    assert OutboxMessage.objects.filter(purpose="incident_notice").count() == 10


@pytest.mark.django_db
def test_a_dismissed_proposal_releases_its_tickets_and_keeps_its_scope_quiet(world, settings):
    settings.INCIDENT_AUTO_OPEN = []  # everything is proposed
    tickets = tickets_at(merchants_in("xihu", 25), [START + timedelta(seconds=i) for i in range(25)])
    with time_machine.travel(START + timedelta(seconds=25), tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets[:22]])
        incident = Incident.objects.get()
        assert incident.status == Incident.Status.PROPOSED
        incident_set_status(incident=incident, actor=world.supervisor, to_status="dismissed", note="测试交易")
        # when more of the same come after the dismissal
        incidents_observe(signals=[signal_of(t) for t in tickets[22:]])
    # then nothing new is proposed and the dismissed incident's tickets are released
    assert Incident.objects.count() == 1
    assert not incident.links.filter(released_at__isnull=True).exists()


@pytest.mark.django_db
def test_only_supervisors_and_admins_manage_incidents(world, outage):
    incident, _m, _t = outage
    for user in (world.agent, world.technician, world.vendor, world.merchant_user):
        with pytest.raises(PermissionDenied):
            incident_update_post(incident=incident, actor=user, body="x")
        with pytest.raises(PermissionDenied):
            incident_resolve(incident=incident, actor=user, resolution="resolve")
    assert IncidentEvent.objects.filter(kind=IncidentEvent.Kind.UPDATE).count() == 0


@pytest.mark.django_db
def test_bad_moves_are_refused_and_change_nothing(world, outage):
    incident, _m, _t = outage
    with pytest.raises(Conflict):
        incident_set_status(incident=incident, actor=world.supervisor, to_status="dismissed")  # open → dismissed
    with pytest.raises(ValidationFailed):
        incident_set_status(incident=incident, actor=world.supervisor, to_status="resolved")
    with pytest.raises(ValidationFailed):
        incident_resolve(incident=incident, actor=world.supervisor, resolution="forget")
    with pytest.raises(ValidationFailed):
        incident_update_post(incident=incident, actor=world.supervisor, body="  ")
    with pytest.raises(ValidationFailed), time_machine.travel(START + timedelta(hours=1), tick=False):
        incident_set_eta(incident=incident, actor=world.supervisor, eta=START)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OPEN and incident.eta is None
