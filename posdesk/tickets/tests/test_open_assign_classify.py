"""Opening tickets, assigning them (with the vendor rules) and correcting their classification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from posdesk.accounts.models import Role
from posdesk.audit.models import AuditEntry
from posdesk.core.errors import PermissionDenied, ValidationFailed
from posdesk.core.taxonomy import Category, Priority, Status
from posdesk.merchants.models import Merchant
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.services import (
    MAX_TEXT,
    ticket_assign,
    ticket_classify,
    ticket_open,
    ticket_transition,
    tickets_bulk_assign,
)
from tests import factories as f


def _counts():
    return Ticket.objects.count(), TicketEvent.objects.count(), AuditEntry.objects.count()


# --- open ---------------------------------------------------------------------------------


def test_a_report_opens_a_new_ticket_with_a_readable_number_and_a_created_event(world, time_machine):
    # 23:30 UTC is already the next day in Shanghai
    time_machine.move_to(datetime(2026, 3, 1, 23, 30, tzinfo=UTC), tick=False)
    ticket = ticket_open(
        actor=world.merchant_user,
        merchant=world.merchant,
        terminal=world.terminal,
        channel="portal",
        text="  刷卡没反应，屏幕显示A0\n昨天开始的  ",
    )
    second = ticket_open(actor=world.agent, merchant=world.merchant, channel="phone", text="打印机不出纸")
    assert ticket.number == "T2603020001"
    assert second.number == "T2603020002"
    assert (ticket.status, ticket.category, ticket.priority) == (
        Status.NEW,
        Category.CONSULTATION,
        Priority.P3,
    )
    assert ticket.subject == "刷卡没反应，屏幕显示A0"
    assert ticket.description == "刷卡没反应，屏幕显示A0\n昨天开始的"
    assert ticket.district == world.merchant.district
    event = ticket.events.get()
    assert (event.kind, event.actor, event.to_status, event.data) == (
        TicketEvent.Kind.CREATED,
        world.merchant_user,
        Status.NEW,
        {"channel": "portal"},
    )


def test_a_long_first_line_makes_a_shortened_subject(world, open_ticket):
    ticket = open_ticket(text="好" * 80)
    assert ticket.subject == "好" * 60 + "…"


def test_the_desk_may_classify_at_once_but_a_merchant_may_not(world, open_ticket):
    by_desk = open_ticket(category="hardware", priority="P1")
    by_merchant = open_ticket(actor=world.merchant_user, category="hardware", priority="P1")
    assert (by_desk.category, by_desk.priority) == ("hardware", "P1")
    assert (by_merchant.category, by_merchant.priority) == (Category.CONSULTATION, Priority.P3)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"text": "   "}, "text_required"),
        ({"text": "长" * (MAX_TEXT + 1)}, "text_too_long"),
        ({"channel": "fax"}, "invalid_channel"),
        ({"category": "printer"}, "invalid_category"),
        ({"priority": "P0"}, "invalid_priority"),
    ],
)
def test_bad_reports_are_refused_and_change_nothing(world, kwargs, code):
    before = _counts()
    with pytest.raises(ValidationFailed) as refused:
        ticket_open(
            **{"actor": world.agent, "merchant": world.merchant, "channel": "api", "text": "坏了", **kwargs}
        )
    assert refused.value.code == code
    assert _counts() == before


def test_a_terminal_of_another_merchant_is_refused(world):
    before = _counts()
    with pytest.raises(ValidationFailed) as refused:
        ticket_open(
            actor=world.agent,
            merchant=world.merchant,
            terminal=world.other_terminal,
            channel="api",
            text="坏了",
        )
    assert refused.value.code == "terminal_not_of_merchant"
    assert _counts() == before


def test_a_suspended_merchant_cannot_report(world):
    world.merchant.status = Merchant.Status.SUSPENDED
    world.merchant.save(update_fields=["status"])
    with pytest.raises(ValidationFailed) as refused:
        ticket_open(actor=world.agent, merchant=world.merchant, channel="api", text="坏了")
    assert refused.value.code == "merchant_inactive"


# --- assign -------------------------------------------------------------------------------


def test_desk_assigns_a_team_and_a_person_and_it_is_recorded(world, open_ticket):
    ticket = open_ticket()
    event = ticket_assign(ticket=ticket, actor=world.supervisor, team=world.team, assignee=world.agent2)
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (world.team, world.agent2)
    assert event.kind == TicketEvent.Kind.ASSIGNED and not event.is_public
    assert event.data["changes"] == {"assignee": [None, world.agent2.pk], "team": [None, world.team.pk]}
    assert event.data["assignee"] == "李坐席"
    assert AuditEntry.objects.filter(
        object_id=str(ticket.pk), actor=world.supervisor, changes__assignee=[None, world.agent2.pk]
    ).exists()


def test_assigning_what_is_already_so_records_nothing(world, open_ticket):
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent)
    before = _counts()
    assert ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent) is None
    assert _counts() == before


def test_none_clears_and_left_out_stays(world, open_ticket):
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent, team=world.team)
    ticket_assign(ticket=ticket, actor=world.agent, assignee=None)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.team) == (None, world.team)


@pytest.mark.parametrize("who", ["merchant", "inactive_agent"])
def test_only_active_staff_can_be_given_a_ticket(world, open_ticket, who):
    person = world.merchant_user
    if who == "inactive_agent":
        person = f.UserFactory(username="left-the-company", role=Role.AGENT, is_active=False)
    ticket = open_ticket()
    with pytest.raises(ValidationFailed) as refused:
        ticket_assign(ticket=ticket, actor=world.agent, assignee=person)
    assert refused.value.code == "invalid_assignee"


def test_the_desk_gives_field_work_to_a_vendor_and_its_technician(world, open_ticket):
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, vendor=world.vendor_org, assignee=world.vendor_tech)
    ticket.refresh_from_db()
    assert (ticket.vendor, ticket.assignee) == (world.vendor_org, world.vendor_tech)


def test_a_vendors_technician_cannot_work_a_ticket_not_given_to_the_vendor(world, open_ticket):
    ticket = open_ticket()
    with pytest.raises(ValidationFailed) as refused:
        ticket_assign(ticket=ticket, actor=world.agent, assignee=world.vendor_tech)
    assert refused.value.code == "invalid_assignee"
    ticket_assign(ticket=ticket, actor=world.agent, vendor=world.other_vendor_org)
    with pytest.raises(ValidationFailed):
        ticket_assign(ticket=ticket, actor=world.agent, assignee=world.vendor_tech)


def test_only_a_vendor_organisation_can_be_the_vendor(world, open_ticket):
    with pytest.raises(ValidationFailed) as refused:
        ticket_assign(ticket=open_ticket(), actor=world.agent, vendor=world.org)
    assert refused.value.code == "invalid_vendor"


def test_a_vendor_dispatches_within_its_own_organisation_only(world, open_ticket):
    # given a ticket the desk gave to the vendor
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, vendor=world.vendor_org)

    # the vendor's dispatcher may give it to their own technician
    ticket_assign(ticket=ticket, actor=world.vendor, assignee=world.vendor_tech)
    ticket.refresh_from_db()
    assert ticket.assignee == world.vendor_tech

    # but not to the service company's staff, nor hand it to another vendor
    with pytest.raises(ValidationFailed):
        ticket_assign(ticket=ticket, actor=world.vendor, assignee=world.agent)
    with pytest.raises(PermissionDenied) as refused:
        ticket_assign(ticket=ticket, actor=world.vendor, vendor=world.other_vendor_org)
    assert refused.value.code == "assign_not_allowed"


def test_a_vendor_cannot_assign_a_ticket_of_another_vendor(world, open_ticket):
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, vendor=world.other_vendor_org)
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, actor=world.vendor, assignee=world.vendor_tech)


@pytest.mark.parametrize("role", ["merchant", "technician"])
def test_merchants_and_technicians_do_not_assign(world, open_ticket, role):
    with pytest.raises(PermissionDenied) as refused:
        ticket_assign(ticket=open_ticket(), actor=world.users[role], assignee=world.agent)
    assert refused.value.code == "assign_not_allowed"


def test_a_finished_ticket_is_not_assigned(world, open_ticket):
    ticket = open_ticket()
    ticket_transition(ticket=ticket, actor=world.agent, to_status=Status.CANCELLED, reason="重复")
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, actor=world.agent, assignee=world.agent)


def test_bulk_assign_is_all_or_nothing(world, open_ticket):
    first, second = open_ticket(), open_ticket()
    ticket_transition(ticket=second, actor=world.agent, to_status=Status.CANCELLED, reason="重复")
    with pytest.raises(PermissionDenied):
        tickets_bulk_assign(tickets=[first, second], actor=world.agent, assignee=world.agent2)
    first.refresh_from_db()
    assert first.assignee is None

    third = open_ticket()
    assert tickets_bulk_assign(tickets=[first, third], actor=world.agent, team=world.team) == 2


# --- classify -----------------------------------------------------------------------------


def test_desk_corrects_category_and_priority_and_it_is_recorded(world, open_ticket):
    ticket = open_ticket()
    event = ticket_classify(ticket=ticket, actor=world.agent, category="hardware", priority="P1")
    ticket.refresh_from_db()
    assert (ticket.category, ticket.priority) == ("hardware", "P1")
    assert event.kind == TicketEvent.Kind.FIELDS_CHANGED and not event.is_public
    assert event.data == {"changes": {"category": ["consultation", "hardware"], "priority": ["P3", "P1"]}}
    assert ticket_classify(ticket=ticket, actor=world.agent, category="hardware") is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [({"category": "printer"}, "invalid_category"), ({"priority": "P9"}, "invalid_priority")],
)
def test_unknown_codes_are_refused(world, open_ticket, kwargs, code):
    ticket = open_ticket()
    with pytest.raises(ValidationFailed) as refused:
        ticket_classify(ticket=ticket, actor=world.agent, **kwargs)
    assert refused.value.code == code


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
def test_only_the_desk_classifies(world, open_ticket, role):
    with pytest.raises(PermissionDenied):
        ticket_classify(ticket=open_ticket(), actor=world.users[role], priority="P1")


@pytest.mark.parametrize("role", ["technician", "vendor"])
def test_field_staff_do_not_open_tickets(world, role):
    before = _counts()
    with pytest.raises(PermissionDenied) as refused:
        ticket_open(
            actor=world.users[role], merchant=world.merchant, channel="api", text="现场发现另一台也坏了"
        )
    assert refused.value.code == "open_not_allowed"
    assert _counts() == before


def test_a_vendor_cannot_move_a_ticket_to_another_team(world, open_ticket):
    ticket = open_ticket()
    ticket_assign(ticket=ticket, actor=world.agent, vendor=world.vendor_org)
    with pytest.raises(PermissionDenied) as refused:
        ticket_assign(ticket=ticket, actor=world.vendor, team=world.team)
    assert refused.value.code == "assign_not_allowed"
    ticket.refresh_from_db()
    assert ticket.team is None
