"""The state machine table and its role rules, read as plain data (no database)."""

from __future__ import annotations

import pytest

from posdesk.accounts.models import Role
from posdesk.core.taxonomy import FINAL_STATUSES, OPEN_STATUSES, Status
from posdesk.tickets import lifecycle

S = Status

# The rules of the brief, written out independently of lifecycle.py so a change there shows up.
MERCHANT_MOVES = {
    (S.NEW, S.CANCELLED),
    (S.TRIAGED, S.CANCELLED),
    (S.IN_PROGRESS, S.CANCELLED),
    (S.WAITING_MERCHANT, S.CANCELLED),
    (S.ONSITE_SCHEDULED, S.CANCELLED),
    (S.PENDING_ACCEPTANCE, S.RESOLVED),  # confirm the repair
    (S.PENDING_ACCEPTANCE, S.IN_PROGRESS),  # reject the repair
    (S.RESOLVED, S.IN_PROGRESS),
    (S.CLOSED, S.IN_PROGRESS),  # reopen
}
FIELD_MOVES = {
    (S.IN_PROGRESS, S.ONSITE_SCHEDULED),
    (S.IN_PROGRESS, S.WAITING_MERCHANT),
    (S.IN_PROGRESS, S.PENDING_ACCEPTANCE),
    (S.WAITING_MERCHANT, S.IN_PROGRESS),
    (S.ONSITE_SCHEDULED, S.ONSITE_IN_PROGRESS),
    (S.ONSITE_SCHEDULED, S.WAITING_MERCHANT),
    (S.ONSITE_IN_PROGRESS, S.PENDING_ACCEPTANCE),
    (S.ONSITE_IN_PROGRESS, S.IN_PROGRESS),
    (S.ONSITE_IN_PROGRESS, S.ONSITE_SCHEDULED),
}
REASON_MOVES = {
    *((s, S.CANCELLED) for s in (S.NEW, S.TRIAGED, S.IN_PROGRESS, S.WAITING_MERCHANT, S.ONSITE_SCHEDULED)),
    (S.RESOLVED, S.IN_PROGRESS),
    (S.CLOSED, S.IN_PROGRESS),
    (S.PENDING_ACCEPTANCE, S.IN_PROGRESS),
}
LEGAL = {(f, t) for f, targets in lifecycle.TRANSITIONS.items() for t in targets}


def test_every_status_of_the_spec_has_a_row_in_the_table():
    assert set(lifecycle.TRANSITIONS) == set(Status)


def test_cancelled_is_terminal_and_closed_only_reopens():
    assert lifecycle.TRANSITIONS[S.CANCELLED] == frozenset()
    assert lifecycle.TRANSITIONS[S.CLOSED] == frozenset({S.IN_PROGRESS})


def test_no_status_moves_to_itself():
    assert all((s, s) not in LEGAL for s in Status)


def test_every_open_status_can_end_up_resolved_or_cancelled():
    for start in OPEN_STATUSES:
        seen, frontier = {start}, [start]
        while frontier:
            for target in lifecycle.TRANSITIONS[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert S.RESOLVED in seen or S.CANCELLED in seen, start
        assert seen & FINAL_STATUSES, start


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.ADMIN])
def test_desk_roles_may_make_every_legal_move(role):
    assert all(lifecycle.role_may_move(role, f, t) for f, t in LEGAL)


def test_merchant_moves_are_cancel_confirm_reject_and_reopen_only():
    allowed = {(f, t) for f, t in LEGAL if lifecycle.role_may_move(Role.MERCHANT, f, t)}
    assert allowed == MERCHANT_MOVES


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.VENDOR])
def test_field_roles_make_only_the_field_moves(role):
    allowed = {(f, t) for f, t in LEGAL if lifecycle.role_may_move(role, f, t)}
    assert allowed == FIELD_MOVES


def test_an_unknown_role_may_move_nothing():
    assert not any(lifecycle.role_may_move("visitor", f, t) for f, t in LEGAL)


def test_cancel_reopen_and_rejecting_a_repair_need_a_reason():
    assert lifecycle.REASON_REQUIRED == REASON_MOVES


def test_reopen_is_back_to_in_progress_from_resolved_or_closed():
    assert lifecycle.is_reopen(S.RESOLVED, S.IN_PROGRESS)
    assert lifecycle.is_reopen(S.CLOSED, S.IN_PROGRESS)
    assert not lifecycle.is_reopen(S.WAITING_MERCHANT, S.IN_PROGRESS)
    assert not lifecycle.is_reopen(S.RESOLVED, S.CLOSED)


def test_next_statuses_follow_the_process_order_and_the_role():
    assert lifecycle.next_statuses_for(Role.AGENT, S.NEW) == [
        S.TRIAGED,
        S.IN_PROGRESS,
        S.WAITING_MERCHANT,
        S.ONSITE_SCHEDULED,
        S.RESOLVED,
        S.CANCELLED,
    ]
    assert lifecycle.next_statuses_for(Role.MERCHANT, S.PENDING_ACCEPTANCE) == [S.IN_PROGRESS, S.RESOLVED]
    assert lifecycle.next_statuses_for(Role.TECHNICIAN, S.NEW) == []
    assert lifecycle.next_statuses_for(Role.MERCHANT, S.CANCELLED) == []
