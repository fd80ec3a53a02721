"""Reads of terminals; `terminal_scope_for_user` is the access gate."""

from __future__ import annotations

from django.db.models import QuerySet

from posdesk.accounts.models import Role, User
from posdesk.core.errors import NotFound
from posdesk.core.rows import PreparedModelRead
from posdesk.core.text import clean_line
from posdesk.merchants.selectors import merchant_ids_for_merchant_user
from posdesk.terminals.models import Terminal, TerminalModel


def terminal_scope_for_user(user: User) -> QuerySet[Terminal]:
    terminals = Terminal.objects.all()
    if not user.is_authenticated or not user.is_active:
        return terminals.none()
    if user.is_desk:
        return terminals
    if user.role == Role.MERCHANT:
        return terminals.filter(merchant_id__in=merchant_ids_for_merchant_user(user))
    if user.role == Role.TECHNICIAN:
        return terminals.filter(tickets__assignee=user).distinct()
    if user.role == Role.VENDOR and user.organisation_id:
        return terminals.filter(tickets__vendor_id=user.organisation_id).distinct()
    return terminals.none()


_WITH_CONTEXT = ("model", "merchant", "merchant__district")

# Every ticket a desk role opens through the API looks its terminal up by SN or TID: for a scope
# that filters nothing (the desk's) the read is compiled once (core/rows.py), not on every request.
_unscoped_by = {
    field: PreparedModelRead(
        lambda value, field=field: Terminal.objects.select_related(*_WITH_CONTEXT).filter(**{field: value})[:1]
    )
    for field in ("sn", "tid")
}


def terminal_get_for_user(
    user: User, *, terminal_id: int | None = None, sn: str | None = None, tid: str | None = None
) -> Terminal:
    scope = terminal_scope_for_user(user)
    lookup = {"pk": terminal_id} if terminal_id is not None else {"sn": sn} if sn else {"tid": tid}
    field, value = next(iter(lookup.items()))
    if value is None:
        found = []
    elif field in _unscoped_by and not scope.query.has_filters() and not scope.query.is_empty():
        found = _unscoped_by[field](value)
    else:
        found = list(scope.select_related(*_WITH_CONTEXT).filter(**lookup)[:1])
    terminal = found[0] if found else None  # unique lookups: no ORDER BY needed, unlike first()
    if terminal is None:
        raise NotFound(code="terminal_not_found")
    return terminal


def terminal_list_for_user(
    user: User, *, merchant_id: int | None = None, status: str = "", model: str = "", q: str = ""
) -> QuerySet[Terminal]:
    terminals = terminal_scope_for_user(user).select_related("model", "merchant")
    if merchant_id is not None:
        # an id beyond 64 bits matches nothing (and would overflow SQLite)
        terminals = terminals.filter(merchant_id=merchant_id) if 0 <= merchant_id < 2**63 else terminals.none()
    if status:
        terminals = terminals.filter(status=status)
    if model:
        terminals = terminals.filter(model__code=model)
    q = clean_line(q).upper()
    if q:
        terminals = terminals.filter(tid=q) if q.isdigit() and len(q) == 8 else terminals.filter(sn=q)
    return terminals.order_by("sn")


def terminal_model_list() -> QuerySet[TerminalModel]:
    return TerminalModel.objects.all()


def terminal_choices_for_reporter(user: User) -> QuerySet[Terminal]:
    """Terminals a user may report a fault on: within their scope, not retired, bound to an active
    merchant; grouped by merchant for the portal's report form."""
    from posdesk.merchants.models import Merchant  # a lower layer; kept local to this appended read

    return (
        terminal_scope_for_user(user)
        .filter(merchant__status=Merchant.Status.ACTIVE)
        .exclude(status=Terminal.Status.RETIRED)
        .select_related("model", "merchant")
        .order_by("merchant__name", "merchant_id", "model__name", "sn")
    )
