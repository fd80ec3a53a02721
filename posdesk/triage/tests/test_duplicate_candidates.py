"""Possible duplicates of a shop with many open tickets: its newest open tickets are compared with
a new report, not its oldest (a repeat report is about something recent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from posdesk.core.taxonomy import Status
from posdesk.tickets.models import Ticket
from posdesk.triage.models import TriageRecord
from posdesk.triage.pipeline import tickets_triage
from tests.factories import TicketFactory

MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def monday(time_machine: Any) -> None:
    time_machine.move_to(MONDAY_MORNING, tick=False)


def _older_open_tickets(merchant: Any, count: int, *, text: str) -> None:
    now = timezone.now()
    Ticket.objects.bulk_create(
        [
            TicketFactory.build(
                merchant=merchant,
                number=f"HD{i:08d}",
                subject=text,
                description=text,
                status=Status.TRIAGED,
                created_at=now - timedelta(hours=5, seconds=i),
                updated_at=now - timedelta(hours=5, seconds=i),
            )
            for i in range(count)
        ],
        batch_size=500,
    )


def test_a_shop_with_more_open_tickets_than_the_cap_has_its_newest_compared(
    world: Any, monday: None, open_ticket: Any
) -> None:
    # given a merchant with more older open tickets (about its deposit) than any cap, then a printer ticket
    _older_open_tickets(world.merchant, 2001, text="押金什么时候退给我")
    original = open_ticket(text="打印机不出纸", channel="api")

    # when the merchant reports the printer again
    again = open_ticket(text="打印机又不出纸了", channel="api")
    tickets_triage(ticket_ids=[again.pk])

    # then the recent printer ticket is the possible duplicate
    record = TriageRecord.objects.get(ticket=again)
    assert record.possible_duplicate_id == original.pk
