"""The queue's keyset cursor: whatever a client sends as `cursor`, the answer is a page or a clear
`invalid_cursor`, never a server error."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from posdesk.core.errors import ApplicationError
from posdesk.tickets.selectors import SORTS, TicketFilters, ticket_queue


def _encode(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "P1", "P9"]),
)
cursors = st.one_of(st.text(max_size=60), st.lists(json_scalars, max_size=4).map(_encode))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cursor=cursors, sort=st.sampled_from(list(SORTS)))
@example(cursor=_encode(["9999-12-31T23:59:59-14:00", 1]), sort="-created_at")
@example(cursor=_encode(["2026-01-01T00:00:00+00:00", 2**64]), sort="-created_at")
@example(cursor=_encode(["2026-01-01T00:00:00", 1]), sort="created_at")
@example(cursor=_encode([5, "2026-01-01T00:00:00+00:00", 1]), sort="priority")
@example(cursor=_encode(["2026-01-01T00:00:00+00:00", True]), sort="-updated_at")
def test_any_cursor_gives_a_page_or_invalid_cursor(world, open_ticket, cursor, sort):
    try:
        page = ticket_queue(world.agent, TicketFilters(), sort=sort, cursor=cursor)
    except ApplicationError as refused:
        assert refused.code == "invalid_cursor"
    else:
        assert isinstance(page.items, list)


@pytest.mark.parametrize(
    "filters",
    [
        TicketFilters(team=2**64),
        TicketFilters(merchant_id=-1),
        TicketFilters(terminal_id=2**63),
        TicketFilters(assignee="99999999999999999999"),
        TicketFilters(assignee="١٢"),
        TicketFilters(assignee="nobody"),
    ],
)
def test_ids_that_cannot_exist_are_an_unknown_filter_value(world, filters):
    with pytest.raises(ApplicationError) as refused:
        ticket_queue(world.agent, filters)
    assert refused.value.code == "invalid_filter"


def test_a_search_with_a_nul_character_still_searches(world, open_ticket):
    ticket = open_ticket()
    page = ticket_queue(world.agent, TicketFilters(q=f"{ticket.number}\x00"))
    assert [t.pk for t in page.items] == [ticket.pk]


@pytest.mark.django_db
def test_the_page_is_chosen_from_the_tickets_table_alone_then_read_with_its_context(world, open_ticket):
    """The ids of a page come from a statement on the tickets table alone — the district given
    as a value, not a join — so the database picks the filter's own index in created_at order;
    the rows and what they show (merchant, terminal, assignee, team, district) come in a second."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    opened = [open_ticket(text=f"故障 {i}", terminal=world.terminal) for i in range(3)]
    filters = TicketFilters(district=world.merchant.district.code, status=["new"], priority=["P3"])
    with CaptureQueriesContext(connection) as read:
        page = ticket_queue(world.agent, filters, limit=2, with_count=False)
    assert [t.pk for t in page.items] == [opened[2].pk, opened[1].pk]
    assert page.items[0].merchant.mid == world.merchant.mid  # read with the rows, no query per row
    chosen, rows = [q["sql"] for q in read.captured_queries]
    assert "JOIN" not in chosen and '"merchants_district"' in chosen  # the district's id as a value
    assert "JOIN" in rows
    second = ticket_queue(world.agent, filters, cursor=page.next_cursor, limit=2, with_count=False)
    assert [t.pk for t in second.items] == [opened[0].pk] and second.next_cursor is None
