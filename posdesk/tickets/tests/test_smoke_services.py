import pytest

from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.models import TicketEvent


def test_it_opens_a_ticket_with_timeline_audit_and_acknowledgement(world, open_ticket,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket()
    assert ticket.number.startswith("T")
    assert ticket.events.get().kind == TicketEvent.Kind.CREATED
    message = OutboxMessage.objects.get(ticket_id=ticket.pk)
    assert message.recipient == "13812345678"
    assert message.status == OutboxMessage.Status.SENT  # eager worker delivered it on commit


@pytest.mark.django_db(transaction=True)
def test_numbers_are_sequential_per_day(world, open_ticket):
    a, b = open_ticket(), open_ticket()
    assert int(b.number[-4:]) == int(a.number[-4:]) + 1
