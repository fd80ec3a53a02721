"""The ticket state machine of SPEC §3: which transitions exist and which role may make them.
Pure: no database, so the table can be read, tested and drawn on its own."""

from __future__ import annotations

from posdesk.accounts.models import DESK_ROLES, Role
from posdesk.core.taxonomy import Status

S = Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.TRIAGED, S.IN_PROGRESS, S.WAITING_MERCHANT, S.ONSITE_SCHEDULED, S.RESOLVED, S.CANCELLED}),
    S.TRIAGED: frozenset({S.IN_PROGRESS, S.WAITING_MERCHANT, S.ONSITE_SCHEDULED, S.RESOLVED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset(
        {S.WAITING_MERCHANT, S.ONSITE_SCHEDULED, S.PENDING_ACCEPTANCE, S.RESOLVED, S.CANCELLED}
    ),
    S.WAITING_MERCHANT: frozenset({S.IN_PROGRESS, S.ONSITE_SCHEDULED, S.RESOLVED, S.CANCELLED}),
    S.ONSITE_SCHEDULED: frozenset({S.ONSITE_IN_PROGRESS, S.IN_PROGRESS, S.WAITING_MERCHANT, S.CANCELLED}),
    S.ONSITE_IN_PROGRESS: frozenset({S.PENDING_ACCEPTANCE, S.IN_PROGRESS, S.ONSITE_SCHEDULED}),
    S.PENDING_ACCEPTANCE: frozenset({S.RESOLVED, S.IN_PROGRESS}),
    # back to in_progress from resolved or closed is a reopen, allowed within the reopen window
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset({S.IN_PROGRESS}),
    S.CANCELLED: frozenset(),
}

REOPEN_FROM = frozenset({S.RESOLVED, S.CLOSED})
MERCHANT_CANCELLABLE = frozenset({S.NEW, S.TRIAGED, S.IN_PROGRESS, S.WAITING_MERCHANT, S.ONSITE_SCHEDULED})

# Field staff (own technicians and vendors) move the on-site part of the process.
_FIELD_MOVES: frozenset[tuple[Status, Status]] = frozenset(
    {
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
)
_MERCHANT_MOVES: frozenset[tuple[Status, Status]] = frozenset(
    {(s, S.CANCELLED) for s in MERCHANT_CANCELLABLE}
    | {(S.PENDING_ACCEPTANCE, S.RESOLVED), (S.PENDING_ACCEPTANCE, S.IN_PROGRESS)}
    | {(s, S.IN_PROGRESS) for s in REOPEN_FROM}
)

# Moves that must say why.
REASON_REQUIRED: frozenset[tuple[Status, Status]] = frozenset(
    {(s, S.CANCELLED) for s in TRANSITIONS if S.CANCELLED in TRANSITIONS[s]}
    | {(s, S.IN_PROGRESS) for s in REOPEN_FROM}
    | {(S.PENDING_ACCEPTANCE, S.IN_PROGRESS)}
)


def is_legal(from_status: str, to_status: str) -> bool:
    return Status(to_status) in TRANSITIONS.get(Status(from_status), frozenset())


def is_reopen(from_status: str, to_status: str) -> bool:
    return from_status in REOPEN_FROM and to_status == S.IN_PROGRESS


def role_may_move(role: str, from_status: str, to_status: str) -> bool:
    if role in DESK_ROLES:
        return True
    move = (Status(from_status), Status(to_status))
    if role in (Role.TECHNICIAN, Role.VENDOR):
        return move in _FIELD_MOVES
    if role == Role.MERCHANT:
        return move in _MERCHANT_MOVES
    return False


def next_statuses_for(role: str, from_status: str) -> list[Status]:
    """The moves a person in `role` may offer from `from_status`, in process order."""
    order = list(Status)
    allowed = [to for to in TRANSITIONS[Status(from_status)] if role_may_move(role, from_status, to)]
    return sorted(allowed, key=order.index)
