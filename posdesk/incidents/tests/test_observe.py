"""incidents_observe with the signals the intake pipeline sends: a spike opens one incident (or
proposes it), the tickets that made it and those that follow link to it, and their reporters are
told its status; everything else is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db.models import Sum

from posdesk.core.taxonomy import Category
from posdesk.incidents import detector
from posdesk.incidents.models import (
    DetectorBaseline,
    DetectorCount,
    DetectorHourCount,
    Incident,
    IncidentTicket,
)
from posdesk.incidents.services import detector_baselines_refresh, detector_upkeep, incidents_observe
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at
from posdesk.outbox.models import OutboxMessage
from tests import factories as f

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Hangzhou


def observe_as_it_comes(tickets, clock, *, batch=10, signal_kwargs=None):
    """Observe tickets in creation order, a few at a time, as the coalesced intake job does."""
    linked: dict[int, int] = {}
    ordered = sorted(tickets, key=lambda t: (t.created_at, t.pk))
    for start in range(0, len(ordered), batch):
        chunk = ordered[start:start + batch]
        clock.move_to(chunk[-1].created_at)
        linked.update(incidents_observe(signals=[signal_of(t, **(signal_kwargs or {}).get(t.pk, {})) for t in chunk]))
    return linked


@pytest.mark.django_db
def test_a_burst_of_96_from_one_district_opens_one_incident_in_its_first_minute_and_answers_everyone(world):
    # given 2,000 reports of "交易失败 返回码96" from Xihu in ten minutes, and unrelated reports elsewhere
    xihu = f.district("xihu")
    burst = tickets_at(merchants_in("xihu", 500), [START + timedelta(seconds=0.3 * i) for i in range(2000)])
    unrelated = tickets_at(merchants_in("binjiang", 20), [START + timedelta(seconds=29 * i) for i in range(20)],
                           text="打印机不出纸", category=Category.HARDWARE)
    quiet = {t.pk: {"response_codes": ()} for t in unrelated}

    # when the intake job observes them as they come
    with time_machine.travel(START, tick=False) as clock:
        linked = observe_as_it_comes([*burst, *unrelated], clock, signal_kwargs=quiet)

    # then exactly one incident opened, for 96 in Xihu, within the spike's first minute
    incident = Incident.objects.get()
    assert incident.scope_key == f"r=96;d={xihu.pk}"
    assert incident.status == Incident.Status.OPEN and incident.opened_automatically
    assert incident.detected_at - START < timedelta(minutes=1)
    assert incident.first_report_at == START
    assert "西湖区" in incident.title and "96" in incident.title
    # every ticket of the burst is linked, and each reporter was told the incident's status
    burst_ids = {t.pk for t in burst}
    assert set(IncidentTicket.objects.filter(incident=incident).values_list("ticket_id", flat=True)) == burst_ids
    assert set(linked) == burst_ids and set(linked.values()) == {incident.pk}
    answered = OutboxMessage.objects.filter(purpose="service_reply", ticket_id__in=burst_ids,
                                            body__contains=incident.number)
    assert answered.count() == 2000 and answered.values("ticket_id").distinct().count() == 2000
    assert IncidentTicket.objects.filter(incident=incident, notified_at__isnull=True).count() == 0
    # and the unrelated tickets are untouched: not linked, nobody told anything
    unrelated_ids = [t.pk for t in unrelated]
    assert not IncidentTicket.objects.filter(ticket_id__in=unrelated_ids).exists()
    assert not OutboxMessage.objects.filter(ticket_id__in=unrelated_ids).exists()


@pytest.mark.django_db
def test_a_96_elsewhere_after_a_district_outage_is_not_taken_for_a_nationwide_one(world):
    # given an open incident for 96 in Xihu, made by 30 reports
    with time_machine.travel(START, tick=False) as clock:
        observe_as_it_comes(tickets_at(merchants_in("xihu", 30), [START + timedelta(seconds=2 * i) for i in range(30)]),
                            clock)
        # when three merchants in Binjiang report a 96 a minute later
        later = START + timedelta(minutes=1, seconds=30)
        others = tickets_at(merchants_in("binjiang", 3), [later] * 3)
        linked = observe_as_it_comes(others, clock)

    # then the "96 everywhere" count (33) is not a spike: 30 of it is the district's incident
    assert Incident.objects.count() == 1
    assert linked == {}
    assert not IncidentTicket.objects.filter(ticket_id__in=[t.pk for t in others]).exists()


@pytest.mark.django_db
def test_below_the_floor_nothing_opens(world):
    with time_machine.travel(START, tick=False) as clock:
        observe_as_it_comes(tickets_at(merchants_in("xihu", 19), [START + timedelta(seconds=i) for i in range(19)]),
                            clock)
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_ticket_observed_twice_is_counted_once(world):
    tickets = tickets_at(merchants_in("xihu", 15), [START] * 15)
    with time_machine.travel(START, tick=False):
        incidents_observe(signals=[signal_of(t) for t in tickets])
        incidents_observe(signals=[signal_of(t) for t in tickets])  # the job retried
    assert DetectorCount.objects.get(key="r=96", minute=detector.minute_of(START)).count == 15
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_a_firmware_spike_is_proposed_and_its_reporters_hear_once_a_supervisor_confirms(
        world, django_capture_on_commit_callbacks):
    # given 25 hardware reports from one model and firmware, spread over five districts
    from posdesk.incidents.services import incident_set_status

    model = f.TerminalModelFactory()
    merchants = [m for code in ("xihu", "binjiang", "gongshu", "shangcheng", "yuhang") for m in merchants_in(code, 2)]
    tickets = tickets_at(merchants, [START + timedelta(seconds=5 * i) for i in range(25)], text="开机就重启",
                         category=Category.HARDWARE)
    kwargs = {t.pk: {"response_codes": (), "terminal_model_id": model.pk, "firmware": "V2.3.1"} for t in tickets}
    with time_machine.travel(START, tick=False) as clock:
        linked = observe_as_it_comes(tickets, clock, signal_kwargs=kwargs)

        # then it is proposed (firmware is not opened automatically), linked, and nobody is told yet
        incident = Incident.objects.get()
        assert incident.scope_key == f"m={model.pk};f=V2.3.1"
        assert incident.status == Incident.Status.PROPOSED and not incident.opened_automatically
        assert incident.links.count() == 25 and linked == {}
        assert not OutboxMessage.objects.exists()

        # when the supervisor confirms it
        clock.move_to(START + timedelta(minutes=10))
        with django_capture_on_commit_callbacks(execute=True):
            incident_set_status(incident=incident, actor=world.supervisor, to_status="open")

    # then each affected merchant gets one incident notice (ten merchants, 25 tickets)
    notices = OutboxMessage.objects.filter(purpose="incident_notice")
    assert notices.count() == 10
    assert notices.values("merchant_id").distinct().count() == 10
    assert all(incident.number in body for body in notices.values_list("body", flat=True))


@pytest.mark.django_db
def test_a_busy_hours_usual_volume_is_not_an_outage(world):
    # given eight weeks in which Xihu's transactions ran at 600 an hour at this hour of the week
    xihu = f.district("xihu")
    hour = int(START.timestamp() // 3600)
    keys = detector.signal_keys(category="transaction", district_id=xihu.pk, terminal_model_id=None, firmware="",
                                response_codes=("96",))
    DetectorHourCount.objects.bulk_create([DetectorHourCount(key=k, hour=hour - 168 * w, count=600)
                                           for k in keys for w in range(1, 9)])
    assert detector_baselines_refresh(now=START) == len(keys)
    assert DetectorBaseline.objects.get(key="r=96", hour_of_week=detector.hour_of_week(START)).per_hour == 600

    # when 60 reports come in five minutes (the threshold is 4 × 50 = 200)
    with time_machine.travel(START, tick=False) as clock:
        observe_as_it_comes(tickets_at(merchants_in("xihu", 60), [START + timedelta(seconds=5 * i) for i in range(60)]),
                            clock)

    # then no incident
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_upkeep_rolls_minutes_into_hours_and_drops_old_rows(world):
    minute = detector.minute_of(START)
    DetectorCount.objects.bulk_create([DetectorCount(key="r=96", minute=minute - 300 + i, count=2) for i in range(60)]
                                      + [DetectorCount(key="r=96", minute=minute, count=5)])
    result = detector_upkeep(now=START)
    assert DetectorHourCount.objects.filter(key="r=96").aggregate(total=Sum("count"))["total"] == 120
    assert list(DetectorCount.objects.values_list("count", flat=True)) == [5]  # the last two hours stay
    assert result["baselines"] > 0


@pytest.mark.django_db
def test_the_baseline_command_seeds_hour_counts_from_the_ticket_history(world):
    import io

    from django.core.management import call_command

    # given two weeks in which Xihu reported 3 hardware faults every Tuesday at 10:00
    xihu = f.district("xihu")
    times = [START - timedelta(weeks=w, minutes=m) for w in (1, 2) for m in (1, 2, 3)]
    tickets_at(merchants_in("xihu", 3), times, text="打印机不出纸", category=Category.HARDWARE)
    out = io.StringIO()
    with time_machine.travel(START, tick=False):
        call_command("incidents", "baseline", "--from-tickets", "20", stdout=out)
    # then the Tuesday 09:00 hour has a baseline of 3 an hour for hardware in Xihu (two weeks seen)
    how = detector.hour_of_week(START - timedelta(minutes=1))
    assert DetectorBaseline.objects.get(key=f"c=hardware;d={xihu.pk}", hour_of_week=how).per_hour == 3
    assert "baselines:" in out.getvalue()
