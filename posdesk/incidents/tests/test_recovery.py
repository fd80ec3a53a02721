"""A worker that stops between the detector's count (committed first, in its own transaction) and the
linking of the tickets it counted: the count is never taken again, so without a repair those
tickets would stay outside their incident for ever — their reporters unanswered, their tickets
worked one by one. The retried job, the next observation of any ticket, and the hourly upkeep
each repair it; nobody is told twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posdesk.core.taxonomy import Category
from posdesk.incidents import services
from posdesk.incidents.models import DetectorSignal, Incident, IncidentTicket
from posdesk.incidents.services import (
    detector_upkeep,
    incident_links_recover,
    incident_set_status,
    incidents_observe,
)
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at
from posdesk.outbox.models import OutboxMessage

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Hangzhou


class WorkerKilled(Exception):
    pass


@pytest.fixture
def outage(world):
    """An open incident for 96 in Xihu, made by 30 reports in the first half minute."""
    tickets = tickets_at(merchants_in("xihu", 10), [START + timedelta(seconds=i) for i in range(30)])
    with time_machine.travel(START + timedelta(seconds=30), tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets])
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.OPEN and incident.links.count() == 30
    return incident


@pytest.fixture(autouse=True)
def _recovery_due_at_the_next_observation(monkeypatch):
    # the observation runs the recovery at most once a minute per process: start each test afresh
    monkeypatch.setattr(services, "_links_recover_due", [None])


def killed_after_the_count(monkeypatch, tickets) -> None:
    """Observe `tickets` in a worker that dies right after the count's commit."""

    def die(*args, **kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(services, "_active_incidents", die)  # the first thing read after the commit
        with pytest.raises(WorkerKilled):
            incidents_observe(signals=[signal_of(t) for t in tickets])


def answers_to(tickets) -> list[int]:
    return list(
        OutboxMessage.objects.filter(
            ticket_id__in=[t.pk for t in tickets], purpose="service_reply"
        ).values_list("ticket_id", flat=True)
    )


@pytest.mark.django_db
def test_a_retried_job_links_the_tickets_its_killed_first_run_had_counted(world, outage, monkeypatch):
    # given three new reports of the outage whose worker died after counting them
    late = tickets_at(merchants_in("xihu", 3), [START + timedelta(minutes=1)] * 3)
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        killed_after_the_count(monkeypatch, late)
        assert DetectorSignal.objects.filter(ticket_id__in=[t.pk for t in late]).count() == 3  # counted
        assert not IncidentTicket.objects.filter(ticket_id__in=[t.pk for t in late]).exists()

        # when the job is delivered again
        linked = incidents_observe(signals=[signal_of(t) for t in late])

    # then they are linked to the incident and each reporter is told its status once
    assert linked == {t.pk: outage.pk for t in late}
    assert (
        IncidentTicket.objects.filter(
            incident=outage, ticket_id__in=[t.pk for t in late], notified_at__isnull=False
        ).count()
        == 3
    )
    assert sorted(answers_to(late)) == sorted(t.pk for t in late)
    # and a third delivery changes nothing
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        assert incidents_observe(signals=[signal_of(t) for t in late]) == {}
    assert len(answers_to(late)) == 3


@pytest.mark.django_db
def test_the_next_observation_of_any_ticket_links_what_a_killed_worker_left(world, outage, monkeypatch):
    # given three reports of the outage counted by a worker that died, and never delivered again
    late = tickets_at(merchants_in("xihu", 3), [START + timedelta(minutes=1)] * 3)
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        killed_after_the_count(monkeypatch, late)

    # when, a few minutes later, the intake job observes an unrelated ticket
    printer = tickets_at(
        merchants_in("binjiang", 1),
        [START + timedelta(minutes=4)],
        text="打印机不出纸",
        category=Category.HARDWARE,
    )
    with time_machine.travel(START + timedelta(minutes=4), tick=False):
        assert incidents_observe(signals=[signal_of(t, response_codes=()) for t in printer]) == {}

    # then the three are linked to the incident and answered, and the unrelated ticket is untouched
    assert set(IncidentTicket.objects.filter(incident=outage).values_list("ticket_id", flat=True)) >= {
        t.pk for t in late
    }
    assert sorted(answers_to(late)) == sorted(t.pk for t in late)
    assert not IncidentTicket.objects.filter(ticket_id=printer[0].pk).exists()
    assert not OutboxMessage.objects.filter(ticket_id=printer[0].pk).exists()


@pytest.mark.django_db
def test_the_hourly_upkeep_links_what_a_killed_worker_left_when_nothing_else_comes(
    world, outage, monkeypatch
):
    # given the last reports of the outage counted by a worker that died; nothing is observed after
    late = tickets_at(merchants_in("xihu", 3), [START + timedelta(minutes=1)] * 3)
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        killed_after_the_count(monkeypatch, late)

    # when the hourly upkeep runs
    result = detector_upkeep(now=START + timedelta(minutes=50))

    # then it linked and answered them
    assert result["links_recovered"] == 3
    assert IncidentTicket.objects.filter(incident=outage).count() == 33
    assert sorted(answers_to(late)) == sorted(t.pk for t in late)


@pytest.mark.django_db
def test_the_recovery_links_nothing_outside_an_active_scope_nor_what_a_dismissal_keeps_quiet(
    world, settings, monkeypatch
):
    # given a proposal for 96 in Xihu that the supervisor dismissed (its scope stays quiet a while)
    settings.INCIDENT_AUTO_OPEN = []
    tickets = tickets_at(merchants_in("xihu", 25), [START + timedelta(seconds=i) for i in range(25)])
    with time_machine.travel(START + timedelta(seconds=25), tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets])
        dismissed = Incident.objects.get()
        incident_set_status(incident=dismissed, actor=world.supervisor, to_status="dismissed")
    # and an open incident for firmware V2.3.1 of one model, everywhere
    from tests import factories as f

    model = f.TerminalModelFactory()
    firmware_reports = tickets_at(
        merchants_in("binjiang", 25),
        [START + timedelta(seconds=i) for i in range(25)],
        text="开机就重启",
        category=Category.HARDWARE,
    )
    firmware = {"response_codes": (), "terminal_model_id": model.pk, "firmware": "V2.3.1"}
    with time_machine.travel(START + timedelta(seconds=30), tick=False):
        incidents_observe(signals=[signal_of(t, **firmware) for t in firmware_reports])
    rebooting = Incident.objects.exclude(pk=dismissed.pk).get()
    incident_set_status(incident=rebooting, actor=world.supervisor, to_status="open")
    # and, counted by a worker that died: a 96 from Xihu on that firmware (the quiet dismissal is
    # the more specific scope), a reboot on that firmware, and a printer fault
    xihu_96 = tickets_at(merchants_in("xihu", 1), [START + timedelta(minutes=2)])
    reboot = tickets_at(
        merchants_in("gongshu", 1),
        [START + timedelta(minutes=2)],
        text="开机就重启",
        category=Category.HARDWARE,
    )
    printer = tickets_at(
        merchants_in("gongshu", 1),
        [START + timedelta(minutes=2)],
        text="打印机不出纸",
        category=Category.HARDWARE,
    )
    with time_machine.travel(START + timedelta(minutes=2), tick=False):

        def die(*args, **kwargs):
            raise WorkerKilled

        monkeypatch.setattr(services, "_active_incidents", die)
        with pytest.raises(WorkerKilled):
            incidents_observe(
                signals=[
                    signal_of(xihu_96[0], **{**firmware, "response_codes": ("96",)}),
                    signal_of(reboot[0], **firmware),
                    signal_of(printer[0], response_codes=()),
                ]
            )
        monkeypatch.undo()
        monkeypatch.setattr(services, "_links_recover_due", [None])

    # when the recovery runs
    recovered = incident_links_recover(now=START + timedelta(minutes=10))

    # then only the reboot is linked, to the firmware incident
    assert recovered == 1
    assert IncidentTicket.objects.get(ticket_id=reboot[0].pk).incident_id == rebooting.pk
    assert not IncidentTicket.objects.filter(ticket_id__in=[xihu_96[0].pk, printer[0].pk]).exists()


@pytest.mark.django_db
def test_the_recovery_waits_for_an_observation_that_may_still_be_running(world, outage, monkeypatch):
    late = tickets_at(merchants_in("xihu", 2), [START + timedelta(minutes=1)] * 2)
    with time_machine.travel(START + timedelta(minutes=1), tick=False):
        killed_after_the_count(monkeypatch, late)
    # a minute after the tickets were created their own observation may still be linking them
    assert incident_links_recover(now=START + timedelta(minutes=2)) == 0
    assert incident_links_recover(now=START + timedelta(minutes=3, seconds=1)) == 2


@pytest.mark.django_db
def test_the_recovery_costs_a_fixed_number_of_queries_when_nothing_is_missing(
    world, outage, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):  # the incidents, then the signals no incident holds
        assert incident_links_recover(now=START + timedelta(minutes=30)) == 0
