"""Merging a duplicate report into its original."""

from __future__ import annotations

import pytest

from posdesk.audit.models import AuditEntry
from posdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from posdesk.core.taxonomy import Status
from posdesk.tickets.models import TicketEvent
from posdesk.tickets.services import ticket_merge, ticket_transition
from posdesk.tickets.tests.builders import drive_to


@pytest.fixture
def original(open_ticket):
    return open_ticket(text="刷卡没反应，屏幕显示A0")


@pytest.fixture
def duplicate(open_ticket):
    return open_ticket(text="机器刷卡还是没反应，第二次报修")


def _state(*tickets):
    for t in tickets:
        t.refresh_from_db()
    return [(t.status, t.merged_into_id, t.events.count()) for t in tickets]


def test_duplicate_is_closed_into_the_original_with_events_on_both(world, original, duplicate):
    # when an agent merges the second report into the first
    result = ticket_merge(duplicate=duplicate, original=original, actor=world.agent, reason="同一故障")

    # then the duplicate is closed and points at the original
    duplicate.refresh_from_db()
    assert result.pk == original.pk
    assert duplicate.status == Status.CLOSED
    assert duplicate.merged_into_id == original.pk
    assert duplicate.closed_at is not None
    kinds = list(duplicate.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [TicketEvent.Kind.CREATED, TicketEvent.Kind.MERGED, TicketEvent.Kind.STATUS_CHANGED]
    merged_out = duplicate.events.get(kind=TicketEvent.Kind.MERGED)
    assert merged_out.data == {"into": original.number, "into_id": original.pk}
    assert merged_out.reason == "同一故障"
    closed = duplicate.events.get(kind=TicketEvent.Kind.STATUS_CHANGED)
    assert (closed.from_status, closed.to_status, closed.actor) == (Status.NEW, Status.CLOSED, world.agent)

    # and the original carries the duplicate's report on its timeline and stays open
    original.refresh_from_db()
    assert original.status == Status.NEW
    merged_in = original.events.get(kind=TicketEvent.Kind.MERGED)
    assert merged_in.body == "机器刷卡还是没反应，第二次报修"
    assert merged_in.data == {"from": duplicate.number, "from_id": duplicate.pk}
    assert AuditEntry.objects.filter(object_id=str(duplicate.pk), changes__status=["new", "closed"]).exists()


def test_merge_without_a_reason_names_the_original(world, original, duplicate):
    ticket_merge(duplicate=duplicate, original=original, actor=world.agent)
    assert duplicate.events.get(kind=TicketEvent.Kind.MERGED).reason == f"duplicate of {original.number}"


def test_tickets_of_another_merchant_are_not_merged(world, original, open_ticket):
    other = open_ticket(merchant=world.other_merchant)
    before = _state(original, other)
    with pytest.raises(Conflict) as refused:
        ticket_merge(duplicate=other, original=original, actor=world.agent)
    assert refused.value.code == "merge_other_merchant"
    assert _state(original, other) == before


def test_a_ticket_is_not_merged_into_itself(world, original):
    before = _state(original)
    with pytest.raises(ValidationFailed) as refused:
        ticket_merge(duplicate=original, original=original, actor=world.agent)
    assert refused.value.code == "merge_into_self"
    assert _state(original) == before


@pytest.mark.parametrize("closed_one", ["duplicate", "original"])
@pytest.mark.parametrize("final", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
def test_only_open_tickets_are_merged(world, original, duplicate, closed_one, final):
    drive_to(original if closed_one == "original" else duplicate, final, actor=world.agent)
    before = _state(original, duplicate)
    with pytest.raises(Conflict) as refused:
        ticket_merge(duplicate=duplicate, original=original, actor=world.agent)
    assert refused.value.code == "merge_not_open"
    assert _state(original, duplicate) == before


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
def test_only_the_desk_merges(world, original, duplicate, role):
    before = _state(original, duplicate)
    with pytest.raises(PermissionDenied):
        ticket_merge(duplicate=duplicate, original=original, actor=world.users[role])
    assert _state(original, duplicate) == before


def test_a_merged_ticket_cannot_be_reopened(world, original, duplicate):
    ticket_merge(duplicate=duplicate, original=original, actor=world.agent)
    before = _state(duplicate)
    for actor in (world.merchant_user, world.admin):
        with pytest.raises(Conflict) as refused:
            ticket_transition(ticket=duplicate, actor=actor, to_status=Status.IN_PROGRESS, reason="又坏了")
        assert refused.value.code == "ticket_merged"
    assert _state(duplicate) == before


def test_a_merged_duplicate_cannot_be_merged_again(world, original, duplicate, open_ticket):
    third = open_ticket()
    ticket_merge(duplicate=duplicate, original=original, actor=world.agent)
    with pytest.raises(Conflict) as refused:
        ticket_merge(duplicate=duplicate, original=third, actor=world.agent)
    assert refused.value.code == "merge_not_open"
