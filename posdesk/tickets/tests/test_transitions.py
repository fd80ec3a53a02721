"""`ticket_transition` and the services around it: every legal move works and is recorded, every
illegal one is refused and changes nothing, and the role, reason and reopen-window rules hold."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from posdesk.accounts.models import Role
from posdesk.audit.models import AuditEntry
from posdesk.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from posdesk.core.taxonomy import Status
from posdesk.outbox.models import OutboxMessage
from posdesk.tickets.lifecycle import TRANSITIONS
from posdesk.tickets.models import Ticket, TicketEvent
from posdesk.tickets.services import (
    ticket_confirm_repair,
    ticket_reply,
    ticket_transition,
    tickets_close_resolved,
)
from posdesk.tickets.tests.builders import drive_to
from posdesk.tickets.tests.test_lifecycle_rules import FIELD_MOVES, MERCHANT_MOVES, REASON_MOVES

S = Status
LEGAL = sorted((f, t) for f, targets in TRANSITIONS.items() for t in targets)
ILLEGAL = sorted((f, t) for f, t in itertools.product(Status, Status) if t not in TRANSITIONS[f])
NOON = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a Monday


def _ids(pairs):
    return [f"{f.value}->{t.value}" for f, t in pairs]


def _snapshot(ticket: Ticket) -> tuple:
    ticket.refresh_from_db()
    return (
        ticket.status,
        ticket.reopen_count,
        ticket.resolved_at,
        ticket.closed_at,
        ticket.updated_at,
        ticket.events.count(),
        AuditEntry.objects.filter(object_id=str(ticket.pk)).count(),
    )


@pytest.fixture
def ticket(world, open_ticket):
    return open_ticket(terminal=world.terminal)


# --- legal moves --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["agent", "supervisor", "admin"])
@pytest.mark.parametrize(("from_status", "to_status"), LEGAL, ids=_ids(LEGAL))
def test_desk_role_makes_every_legal_move_and_it_is_recorded(
    world, ticket, time_machine, role, from_status, to_status
):
    # given a ticket in `from_status`
    actor = world.users[role]
    drive_to(ticket, from_status, actor=world.agent)
    events_before = ticket.events.count()
    time_machine.move_to(NOON + timedelta(hours=1), tick=False)

    # when a desk user moves it
    event = ticket_transition(ticket=ticket, actor=actor, to_status=to_status, reason="客户来电确认")

    # then the ticket is in the new status, with one status_changed event and an audit entry
    ticket.refresh_from_db()
    assert ticket.status == to_status
    assert ticket.updated_at == NOON + timedelta(hours=1)
    assert ticket.events.count() == events_before + 1
    assert (event.kind, event.actor, event.from_status, event.to_status, event.reason) == (
        TicketEvent.Kind.STATUS_CHANGED,
        actor,
        from_status,
        to_status,
        "客户来电确认",
    )
    assert event.created_at == NOON + timedelta(hours=1)
    audit = AuditEntry.objects.filter(object_type="tickets.ticket", object_id=str(ticket.pk)).latest("id")
    assert audit.actor == actor
    assert audit.action == AuditEntry.Action.UPDATE
    assert audit.changes == {"status": [from_status, to_status], "reason": "客户来电确认"}


def test_resolving_stamps_resolved_at_and_closing_stamps_closed_at(world, ticket, time_machine):
    time_machine.move_to(NOON, tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=S.RESOLVED)
    time_machine.move_to(NOON + timedelta(days=1), tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=S.CLOSED)
    ticket.refresh_from_db()
    assert ticket.resolved_at == NOON
    assert ticket.closed_at == NOON + timedelta(days=1)


def test_merchant_is_told_when_a_repair_waits_for_confirmation_and_when_resolved(
    world, ticket, django_capture_on_commit_callbacks
):
    drive_to(ticket, S.IN_PROGRESS, actor=world.agent)
    OutboxMessage.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(ticket=ticket, actor=world.technician, to_status=S.PENDING_ACCEPTANCE)
        ticket_transition(ticket=ticket, actor=world.agent, to_status=S.RESOLVED)
    bodies = list(
        OutboxMessage.objects.filter(ticket_id=ticket.pk).order_by("pk").values_list("body", flat=True)
    )
    assert len(bodies) == 2
    assert "确认维修结果" in bodies[0]
    assert "已解决" in bodies[1]
    assert all(m.recipient == "13812345678" for m in OutboxMessage.objects.filter(ticket_id=ticket.pk))


# --- illegal moves ------------------------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL, ids=_ids(ILLEGAL))
def test_illegal_move_is_refused_and_changes_nothing(world, ticket, from_status, to_status):
    # given a ticket in `from_status`
    drive_to(ticket, from_status, actor=world.agent)
    before = _snapshot(ticket)

    # when even an admin tries a move the lifecycle does not have
    with pytest.raises(Conflict) as refused:
        ticket_transition(ticket=ticket, actor=world.admin, to_status=to_status, reason="试一下")

    # then it is refused with the allowed moves, and nothing changed
    assert refused.value.code == "illegal_transition"
    assert refused.value.status == 409
    assert refused.value.detail["from"] == from_status
    assert refused.value.detail["to"] == to_status
    assert set(refused.value.detail["allowed"]) == {s.value for s in TRANSITIONS[from_status]}
    assert _snapshot(ticket) == before


def test_an_unknown_status_is_a_field_error(world, ticket):
    before = _snapshot(ticket)
    with pytest.raises(ValidationFailed) as refused:
        ticket_transition(ticket=ticket, actor=world.agent, to_status="fixed")
    assert refused.value.code == "invalid_status"
    assert _snapshot(ticket) == before


# --- role rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["merchant", "technician", "vendor"])
@pytest.mark.parametrize(("from_status", "to_status"), LEGAL, ids=_ids(LEGAL))
def test_non_desk_roles_make_only_their_own_moves(world, ticket, role, from_status, to_status):
    # given a ticket in `from_status` and a merchant, technician or vendor user
    actor = world.users[role]
    allowed = MERCHANT_MOVES if role == Role.MERCHANT else FIELD_MOVES
    drive_to(ticket, from_status, actor=world.agent)
    before = _snapshot(ticket)

    if (from_status, to_status) in allowed:
        # when the move is theirs, it works
        event = ticket_transition(ticket=ticket, actor=actor, to_status=to_status, reason="商户要求")
        ticket.refresh_from_db()
        assert ticket.status == to_status
        assert event.actor == actor
    else:
        # otherwise it is refused and nothing changes
        with pytest.raises(PermissionDenied) as refused:
            ticket_transition(ticket=ticket, actor=actor, to_status=to_status, reason="商户要求")
        assert refused.value.code == "transition_not_allowed"
        assert _snapshot(ticket) == before


def test_merchant_confirms_a_repair(world, ticket, django_capture_on_commit_callbacks):
    drive_to(ticket, S.PENDING_ACCEPTANCE, actor=world.agent)
    OutboxMessage.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        event = ticket_confirm_repair(ticket=ticket, actor=world.merchant_user)
    ticket.refresh_from_db()
    assert ticket.status == S.RESOLVED
    assert ticket.resolved_at is not None
    assert (event.actor, event.reason) == (world.merchant_user, "merchant confirmed")
    # the merchant does not get an SMS about their own click
    assert not OutboxMessage.objects.filter(ticket_id=ticket.pk).exists()


@pytest.mark.parametrize(
    ("start", "code"),
    [(S.IN_PROGRESS, "transition_not_allowed"), (S.ONSITE_IN_PROGRESS, "illegal_transition")],
)
def test_merchant_cannot_confirm_a_ticket_that_is_not_waiting_for_confirmation(world, ticket, start, code):
    drive_to(ticket, start, actor=world.agent)
    before = _snapshot(ticket)
    with pytest.raises(ApplicationError) as refused:
        ticket_confirm_repair(ticket=ticket, actor=world.merchant_user)
    assert refused.value.code == code
    assert _snapshot(ticket) == before


# --- reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status"), sorted(REASON_MOVES), ids=_ids(sorted(REASON_MOVES)))
@pytest.mark.parametrize("reason", ["", "   "])
def test_moves_that_need_a_reason_are_refused_without_one(world, ticket, from_status, to_status, reason):
    drive_to(ticket, from_status, actor=world.agent)
    before = _snapshot(ticket)
    with pytest.raises(ValidationFailed) as refused:
        ticket_transition(ticket=ticket, actor=world.agent, to_status=to_status, reason=reason)
    assert refused.value.code == "reason_required"
    assert refused.value.detail == {"field": "reason"}
    assert _snapshot(ticket) == before


def test_moves_without_a_reason_rule_work_without_one(world, ticket):
    event = ticket_transition(ticket=ticket, actor=world.agent, to_status=S.TRIAGED)
    assert event.reason == ""


def test_a_long_reason_is_kept_to_500_characters(world, ticket):
    event = ticket_transition(ticket=ticket, actor=world.agent, to_status=S.CANCELLED, reason="重" * 900)
    assert event.reason == "重" * 500


# --- reopen -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["merchant", "agent"])
def test_reopen_within_the_window_works_and_counts(world, ticket, time_machine, settings, role):
    # given a ticket resolved at noon and a 7-day reopen window
    settings.TICKET_REOPEN_WINDOW_DAYS = 7
    time_machine.move_to(NOON, tick=False)
    drive_to(ticket, S.RESOLVED, actor=world.agent)

    # when the merchant (or the desk) reopens it a minute before the window ends
    time_machine.move_to(NOON + timedelta(days=7) - timedelta(minutes=1), tick=False)
    event = ticket_transition(
        ticket=ticket, actor=world.users[role], to_status=S.IN_PROGRESS, reason="打印机又不出纸了"
    )

    # then it is back in progress, counted as a reopen, no longer resolved
    ticket.refresh_from_db()
    assert ticket.status == S.IN_PROGRESS
    assert ticket.reopen_count == 1
    assert ticket.resolved_at is None
    assert ticket.closed_at is None
    assert (event.from_status, event.to_status) == (S.RESOLVED, S.IN_PROGRESS)


def test_reopen_after_the_window_is_refused(world, ticket, time_machine, settings):
    settings.TICKET_REOPEN_WINDOW_DAYS = 7
    time_machine.move_to(NOON, tick=False)
    drive_to(ticket, S.RESOLVED, actor=world.agent)
    time_machine.move_to(NOON + timedelta(days=7, minutes=1), tick=False)
    before = _snapshot(ticket)

    with pytest.raises(Conflict) as refused:
        ticket_transition(ticket=ticket, actor=world.merchant_user, to_status=S.IN_PROGRESS, reason="又坏了")

    assert refused.value.code == "reopen_window_passed"
    assert _snapshot(ticket) == before


def test_the_reopen_window_is_configurable(world, ticket, time_machine, settings):
    settings.TICKET_REOPEN_WINDOW_DAYS = 2
    time_machine.move_to(NOON, tick=False)
    drive_to(ticket, S.RESOLVED, actor=world.agent)
    time_machine.move_to(NOON + timedelta(days=3), tick=False)
    with pytest.raises(Conflict) as refused:
        ticket_transition(ticket=ticket, actor=world.agent, to_status=S.IN_PROGRESS, reason="又坏了")
    assert refused.value.code == "reopen_window_passed"
    assert "2" in str(refused.value.message)


def test_a_closed_ticket_reopens_within_the_window_counted_from_resolution(
    world, ticket, time_machine, settings
):
    settings.TICKET_REOPEN_WINDOW_DAYS = 7
    time_machine.move_to(NOON, tick=False)
    drive_to(ticket, S.RESOLVED, actor=world.agent)
    time_machine.move_to(NOON + timedelta(days=1), tick=False)
    ticket_transition(ticket=ticket, actor=world.agent, to_status=S.CLOSED)

    time_machine.move_to(NOON + timedelta(days=6), tick=False)
    ticket_transition(ticket=ticket, actor=world.merchant_user, to_status=S.IN_PROGRESS, reason="还是不行")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count, ticket.closed_at) == (S.IN_PROGRESS, 1, None)


def test_each_reopen_counts_again(world, ticket):
    for expected in (1, 2):
        ticket_transition(ticket=ticket, actor=world.agent, to_status=S.RESOLVED)
        ticket_transition(ticket=ticket, actor=world.merchant_user, to_status=S.IN_PROGRESS, reason="又坏了")
        ticket.refresh_from_db()
        assert ticket.reopen_count == expected


# --- cancel -------------------------------------------------------------------------------


def test_merchant_cancels_their_report_and_it_stays_cancelled(world, ticket):
    # given an open ticket
    drive_to(ticket, S.WAITING_MERCHANT, actor=world.agent)

    # when the merchant cancels it with a reason
    event = ticket_transition(
        ticket=ticket, actor=world.merchant_user, to_status=S.CANCELLED, reason="自己重启后好了"
    )

    # then it is cancelled and closed, and nobody can move it any more
    ticket.refresh_from_db()
    assert ticket.status == S.CANCELLED
    assert ticket.closed_at == event.created_at
    for target in Status:
        with pytest.raises(ApplicationError) as refused:
            ticket_transition(ticket=ticket, actor=world.admin, to_status=target, reason="试试")
        assert refused.value.code == "illegal_transition"


def test_a_cancelled_ticket_takes_no_more_replies(world, ticket):
    ticket_transition(ticket=ticket, actor=world.merchant_user, to_status=S.CANCELLED, reason="不需要了")
    with pytest.raises(PermissionDenied) as refused:
        ticket_reply(ticket=ticket, actor=world.merchant_user, body="还在吗")
    assert refused.value.code == "reply_not_allowed"


def test_merchant_cannot_cancel_once_the_technician_is_on_site(world, ticket):
    drive_to(ticket, S.ONSITE_IN_PROGRESS, actor=world.agent)
    with pytest.raises(Conflict):  # not a legal move for anybody
        ticket_transition(ticket=ticket, actor=world.merchant_user, to_status=S.CANCELLED, reason="不修了")


# --- the auto-close job -------------------------------------------------------------------


def test_auto_close_closes_only_tickets_resolved_before_the_window(
    world, open_ticket, time_machine, settings
):
    # given one ticket resolved 8 days ago, one resolved 6 days ago and one still open
    settings.TICKET_REOPEN_WINDOW_DAYS = 7
    time_machine.move_to(NOON, tick=False)
    old = open_ticket()
    ticket_transition(ticket=old, actor=world.agent, to_status=S.RESOLVED)
    time_machine.move_to(NOON + timedelta(days=2), tick=False)
    recent = open_ticket()
    ticket_transition(ticket=recent, actor=world.agent, to_status=S.RESOLVED)
    still_open = open_ticket()

    # when the job runs on day 8
    time_machine.move_to(NOON + timedelta(days=8), tick=False)
    closed = tickets_close_resolved()

    # then only the old one is closed, by nobody, with a reason and an automatic event
    assert closed == 1
    old.refresh_from_db(), recent.refresh_from_db(), still_open.refresh_from_db()
    assert (old.status, recent.status, still_open.status) == (S.CLOSED, S.RESOLVED, S.NEW)
    assert old.closed_at == NOON + timedelta(days=8)
    event = old.events.latest("id")
    assert (event.kind, event.actor, event.from_status, event.to_status, event.reason, event.data) == (
        TicketEvent.Kind.STATUS_CHANGED,
        None,
        S.RESOLVED,
        S.CLOSED,
        "auto-close",
        {"automatic": True},
    )
    assert AuditEntry.objects.filter(
        object_id=str(old.pk), actor=None, changes__status=["resolved", "closed"]
    ).exists()

    # and a second run finds nothing more to do
    assert tickets_close_resolved() == 0


def test_auto_close_runs_as_a_background_job(world, open_ticket, time_machine, settings):
    from posdesk.tickets.tasks import tickets_close_resolved_task

    settings.TICKET_REOPEN_WINDOW_DAYS = 7
    time_machine.move_to(NOON, tick=False)
    ticket = open_ticket()
    ticket_transition(ticket=ticket, actor=world.agent, to_status=S.RESOLVED)
    time_machine.move_to(NOON + timedelta(days=10), tick=False)

    assert tickets_close_resolved_task.delay().get() == 1
    ticket.refresh_from_db()
    assert ticket.status == S.CLOSED


def test_an_auto_closed_ticket_can_no_longer_be_reopened(world, open_ticket, time_machine, settings):
    settings.TICKET_REOPEN_WINDOW_DAYS = 7
    time_machine.move_to(NOON, tick=False)
    ticket = open_ticket()
    ticket_transition(ticket=ticket, actor=world.agent, to_status=S.RESOLVED)
    time_machine.move_to(NOON + timedelta(days=8), tick=False)
    tickets_close_resolved()
    with pytest.raises(Conflict) as refused:
        ticket_transition(ticket=ticket, actor=world.merchant_user, to_status=S.IN_PROGRESS, reason="又坏了")
    assert refused.value.code == "reopen_window_passed"


# --- replies move the ticket --------------------------------------------------------------


@pytest.mark.parametrize("start", [S.NEW, S.TRIAGED])
def test_staff_first_reply_is_the_first_response_and_starts_work(world, ticket, time_machine, start):
    # given a new (or triaged) ticket nobody has answered
    drive_to(ticket, start, actor=world.agent)
    time_machine.move_to(NOON, tick=False)

    # when an agent replies
    reply = ticket_reply(ticket=ticket, actor=world.agent, body="您好，请重启机具后再试一次。")

    # then that is the first response, and the ticket is in progress through an automatic event
    ticket.refresh_from_db()
    assert ticket.first_response_at == NOON
    assert ticket.status == S.IN_PROGRESS
    change = ticket.events.filter(kind=TicketEvent.Kind.STATUS_CHANGED).latest("id")
    assert (change.from_status, change.to_status, change.actor, change.data) == (
        start,
        S.IN_PROGRESS,
        world.agent,
        {"automatic": True},
    )
    assert reply.kind == TicketEvent.Kind.REPLY and reply.is_public


def test_a_later_reply_keeps_the_first_response_time(world, ticket, time_machine):
    time_machine.move_to(NOON, tick=False)
    ticket_reply(ticket=ticket, actor=world.agent, body="收到，正在处理")
    time_machine.move_to(NOON + timedelta(hours=2), tick=False)
    ticket_reply(ticket=ticket, actor=world.agent2, body="请提供小票照片")
    ticket.refresh_from_db()
    assert ticket.first_response_at == NOON


def test_merchant_reply_is_not_a_first_response_and_does_not_start_work(world, ticket):
    ticket_reply(ticket=ticket, actor=world.merchant_user, body="还有人吗？")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.status == S.NEW


def test_merchant_reply_to_a_ticket_waiting_on_them_puts_it_back_in_progress(world, ticket):
    drive_to(ticket, S.WAITING_MERCHANT, actor=world.agent)
    ticket_reply(ticket=ticket, actor=world.merchant_user, body="小票照片已上传")
    ticket.refresh_from_db()
    assert ticket.status == S.IN_PROGRESS
    change = ticket.events.filter(kind=TicketEvent.Kind.STATUS_CHANGED).latest("id")
    assert (change.from_status, change.actor) == (S.WAITING_MERCHANT, world.merchant_user)


def test_staff_reply_to_a_ticket_waiting_on_the_merchant_keeps_it_waiting(world, ticket):
    drive_to(ticket, S.WAITING_MERCHANT, actor=world.agent)
    ticket_reply(ticket=ticket, actor=world.agent, body="请尽快回复")
    ticket.refresh_from_db()
    assert ticket.status == S.WAITING_MERCHANT


def test_an_empty_reply_is_refused_and_stores_nothing(world, ticket):
    before = _snapshot(ticket)
    with pytest.raises(ValidationFailed) as refused:
        ticket_reply(ticket=ticket, actor=world.agent, body="   ")
    assert refused.value.code == "text_required"
    assert _snapshot(ticket) == before
