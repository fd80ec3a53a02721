"""Two intake workers on the same tickets at the same moment triage each ticket once — real
threads against the real database (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from posdesk.core.taxonomy import Status
from posdesk.core.tests.concurrency import racing_database, run_together
from posdesk.tickets import services as ticket_services
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.triage import pipeline
from posdesk.triage.models import SelfServiceAnswer, TriageRecord
from posdesk.triage.pipeline import TRIAGE_ACTOR_USERNAME, tickets_triage

TEXTS = [
    "打印机不出纸了",
    "签到失败，提示密钥错误",
    "顾客刷卡提示51，怎么回事",
    "押金什么时候退",
    "流量卡欠费了没信号",
]


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_tickets_triage_and_answer_each_once(
    world: Any, open_ticket: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    # given 20 new tickets whose commit-started job has not run yet
    monkeypatch.setattr(ticket_services, "intake_kick", lambda: None)
    tickets = [
        open_ticket(actor=world.merchant_user, text=TEXTS[i % len(TEXTS)], channel="portal")
        for i in range(20)
    ]
    ids = [t.pk for t in tickets]
    pipeline.triage_actor()
    from posdesk.triage.training import model_get

    model_get()  # trained before the race, so both threads classify at once

    with racing_database(tmp_path):
        # when two workers run the pipeline over the same tickets together
        outcomes = run_together(
            lambda: tickets_triage(ticket_ids=ids), lambda: tickets_triage(ticket_ids=ids)
        )

        # then neither failed, and between them each ticket was triaged exactly once
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        triaged = sorted(outcomes[0].triaged + outcomes[1].triaged)
        assert triaged == sorted(ids)
        assert TriageRecord.objects.filter(ticket_id__in=ids).count() == 20
        by_triage = TicketEvent.objects.filter(ticket_id__in=ids, actor__username=TRIAGE_ACTOR_USERNAME)
        assert by_triage.filter(kind=TicketEvent.Kind.STATUS_CHANGED).count() == 20
        assert by_triage.count() == 20  # one event per ticket: status, category and priority together
        assert set(Ticket.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Status.TRIAGED}
        # and the merchants with a known fix got one answer each, not two
        answered = outcomes[0].answered + outcomes[1].answered
        assert len(answered) == 4  # the four reports of response code 51
        assert (
            len(answered) == len(set(answered)) == SelfServiceAnswer.objects.filter(ticket_id__in=ids).count()
        )
        assert TicketEvent.objects.filter(
            ticket_id__in=ids, kind=TicketEvent.Kind.REPLY, actor=None
        ).count() == len(answered)
