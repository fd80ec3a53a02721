"""Who may do what to a ticket they can already see (the access gate decides what they see)."""

from __future__ import annotations

from posdesk.accounts.models import STAFF_ROLES, Role, User
from posdesk.core.taxonomy import FINAL_STATUSES
from posdesk.tickets.models import Ticket


def can_reply(user: User, ticket: Ticket) -> bool:
    return ticket.status not in FINAL_STATUSES and (user.role == Role.MERCHANT or user.role in STAFF_ROLES)


def can_note(user: User, ticket: Ticket) -> bool:
    return user.role in STAFF_ROLES


def can_assign(user: User, ticket: Ticket) -> bool:
    if ticket.status in FINAL_STATUSES:
        return False
    return user.is_desk or (user.role == Role.VENDOR and ticket.vendor_id == user.organisation_id)


def can_merge(user: User) -> bool:
    return user.is_desk


def can_see_internal(user: User) -> bool:
    return user.role in STAFF_ROLES


def can_change_fields(user: User) -> bool:
    """Category and priority are the desk's call."""
    return user.is_desk
