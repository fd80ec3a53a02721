"""Creates retried at the same moment with one `Idempotency-Key` make one ticket — with real
threads against the real database (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from posdesk.core import idempotency
from posdesk.core.models import IdempotencyRecord
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.tickets.models import Ticket, TicketEvent

JSON = "application/json"


def _create(client, key, text="刷卡没反应，屏幕显示A0", mid="898330160120021"):
    return client.post(
        "/api/v1/tickets",
        data={"text": text, "mid": mid},
        content_type=JSON,
        headers={"Idempotency-Key": key},
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_the_same_key_create_one_ticket(world, api, tmp_path):
    # given two requests with one key, sent at the same moment (a client that retried too early)
    clients = [api(world.merchant_user), api(world.merchant_user)]

    with racing_database(tmp_path):
        # when both reach the server together
        answers = run_together(*[lambda c=c: _create(c, "8c1f-race") for c in clients])

        # then both get the same ticket and only one exists
        assert [a.status_code for a in answers] == [201, 201], answers
        assert answers[0].json()["id"] == answers[1].json()["id"]
        assert Ticket.objects.count() == 1
        assert IdempotencyRecord.objects.count() == 1


class _BothMissTheRecord:
    """Stands in for the record lookup inside posdesk.core.idempotency: each thread's first lookup
    waits until every thread has looked, so all of them miss the record and race to create it —
    the worst interleaving, forced instead of hoped for. A create that lost the race on the
    record's unique key looks again (to replay the winner's answer): `lost_races` counts those."""

    def __init__(self, parties: int) -> None:
        self._barrier = threading.Barrier(parties, timeout=30)
        self._looked = threading.local()
        self._lock = threading.Lock()
        self.lost_races = 0
        self._lookup = idempotency._record_row

    def lookup(self, *args):
        found = self._lookup(*args)
        if not getattr(self._looked, "done", False):
            self._looked.done = True
            self._barrier.wait()  # what the lookup saw before the other thread wrote
        else:
            with self._lock:
                self.lost_races += 1
        return found


@pytest.mark.django_db(transaction=True)
def test_retries_that_both_miss_the_record_still_create_one_ticket(world, api, tmp_path, monkeypatch):
    clients = [api(world.merchant_user), api(world.merchant_user)]
    records = _BothMissTheRecord(parties=2)
    monkeypatch.setattr(idempotency, "_record_row", records.lookup)

    with racing_database(tmp_path):
        answers = run_together(*[lambda c=c: _create(c, "forced-race") for c in clients])
        assert [a.status_code for a in answers] == [201, 201], answers
        assert answers[0].json() == answers[1].json()
        assert Ticket.objects.count() == 1
        # one report on one timeline (triage, run after the commit, adds its own events)
        assert TicketEvent.objects.filter(kind=TicketEvent.Kind.CREATED).count() == 1
    assert records.lost_races == 1  # the second create really collided and was rolled back
