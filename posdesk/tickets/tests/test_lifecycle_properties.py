"""Property: whatever anybody tries, in any order, a ticket only ever makes legal moves, and its
timeline replays to where it stands."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posdesk.core.errors import ApplicationError
from posdesk.core.taxonomy import Status
from posdesk.tickets import lifecycle
from posdesk.tickets.models import TicketEvent
from posdesk.tickets.services import ticket_transition

ROLES = ["merchant", "agent", "technician", "vendor", "supervisor", "admin"]
attempts = st.lists(
    st.tuples(st.sampled_from(ROLES), st.sampled_from(list(Status)), st.sampled_from(["", "商户来电说明"])),
    max_size=14,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attempts=attempts)
def test_random_attempts_leave_only_legal_moves_and_a_replayable_log(world, open_ticket, attempts):
    # given a new ticket
    ticket = open_ticket()

    # when random people try random moves, with or without a reason
    for role, to_status, reason in attempts:
        before = ticket.status
        try:
            ticket_transition(ticket=ticket, actor=world.users[role], to_status=to_status, reason=reason)
        except ApplicationError:
            ticket.refresh_from_db()
            assert ticket.status == before  # a refusal changes nothing
            continue
        ticket.refresh_from_db()
        # then every accepted move was legal and the role's to make, with a reason where needed
        assert lifecycle.is_legal(before, ticket.status)
        assert lifecycle.role_may_move(role, before, ticket.status)
        assert reason or (Status(before), Status(to_status)) not in lifecycle.REASON_REQUIRED

    # and replaying the status events from `new` ends where the ticket is
    events = list(ticket.events.order_by("created_at", "id"))
    assert events[0].kind == TicketEvent.Kind.CREATED and events[0].to_status == Status.NEW
    replayed = Status.NEW
    for event in events[1:]:
        assert event.kind == TicketEvent.Kind.STATUS_CHANGED
        assert event.from_status == replayed
        assert lifecycle.is_legal(event.from_status, event.to_status)
        replayed = event.to_status
    assert replayed == ticket.status
    reopens = sum(lifecycle.is_reopen(e.from_status, e.to_status) for e in events[1:])
    assert ticket.reopen_count == reopens
