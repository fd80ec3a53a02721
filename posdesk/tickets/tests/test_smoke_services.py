from datetime import UTC, datetime

import pytest

from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import TicketEvent

WORKDAY_MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def test_it_opens_a_ticket_with_timeline_audit_and_acknowledgement(world, open_ticket, time_machine,
                                                                   django_capture_on_commit_callbacks):
    time_machine.move_to(WORKDAY_MORNING)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    assert ticket.number.startswith("T")
    # the report opens the timeline (triage, run after the commit, adds its own events after it)
    assert ticket.events.order_by("created_at", "pk").first().kind == TicketEvent.Kind.CREATED
    message = OutboxMessage.objects.get(ticket_id=ticket.pk)
    assert message.recipient == "13812345678"
    assert message.status == OutboxMessage.Status.SENT  # eager worker delivered it on commit


@pytest.mark.django_db(transaction=True)
def test_numbers_are_sequential_per_day(world, open_ticket):
    a, b = open_ticket(), open_ticket()
    assert int(b.number[-4:]) == int(a.number[-4:]) + 1


MONDAY_2230 = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def test_a_fault_the_merchant_reports_at_night_is_acknowledged_at_once(world, open_ticket, time_machine):
    # given 22:30 in Shanghai (quiet hours)
    time_machine.move_to(MONDAY_2230, tick=False)
    # when the merchant reports a fault in the portal
    ticket = open_ticket(actor=world.merchant_user, channel="portal")
    # then the acknowledgement SMS is not held: it answers what they just sent
    message = OutboxMessage.objects.get(ticket_id=ticket.pk)
    assert message.next_attempt_at is None and not message.gate_recheck


def test_a_ticket_the_desk_opens_at_night_is_acknowledged_in_the_morning(world, open_ticket, time_machine):
    time_machine.move_to(MONDAY_2230, tick=False)
    ticket = open_ticket(actor=world.agent, channel="console")
    message = OutboxMessage.objects.get(ticket_id=ticket.pk)
    assert message.next_attempt_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC) and message.gate_recheck
