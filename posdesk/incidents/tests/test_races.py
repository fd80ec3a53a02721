"""Two workers observing one spike at the same moment open one incident, not two — real threads
against the real database (SQLite on a file with its one writer; PostgreSQL with the advisory lock)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.incidents import services
from posdesk.incidents.models import Incident, IncidentTicket
from posdesk.incidents.services import incidents_observe
from posdesk.incidents.tests.builders import merchants_in, signal_of, tickets_at

START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_workers_observing_one_spike_at_once_open_one_incident(world, tmp_path, monkeypatch):
    # given 50 reports of 96 from Xihu in one minute, half taken by each of two workers
    tickets = tickets_at(merchants_in("xihu", 50), [START + timedelta(seconds=i) for i in range(50)])
    halves = [tickets[0::2], tickets[1::2]]
    # and both workers made to reach the spike check before either opens anything (the worst case)
    both_counted = threading.Barrier(2, timeout=30)
    spikes = services._spikes
    checked = threading.local()

    def spikes_after_both_counted(*args, **kwargs):
        if not getattr(checked, "done", False):
            checked.done = True
            both_counted.wait()
        return spikes(*args, **kwargs)

    monkeypatch.setattr(services, "_spikes", spikes_after_both_counted)

    with time_machine.travel(START + timedelta(minutes=1), tick=False), racing_database(tmp_path):
        # when the two workers observe their halves at the same moment
        results = run_together(*[lambda h=h: incidents_observe(signals=[signal_of(t) for t in h]) for h in halves])

        # then neither failed, one incident exists, and every ticket is linked to it once
        assert not [r for r in results if isinstance(r, Exception)], results
        incident = Incident.objects.get()
        assert incident.status == Incident.Status.OPEN
        assert IncidentTicket.objects.filter(incident=incident).count() == 50
        assert {**results[0], **results[1]} == {t.pk: incident.pk for t in tickets}
