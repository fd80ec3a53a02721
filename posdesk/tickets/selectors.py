"""Reads of tickets. `ticket_scope_for_user` is the access gate: every page and API operation
reaches tickets only through it (or `ticket_get_for_user`, which uses it)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import Role, User
from posdesk.core.errors import NotFound, field_error
from posdesk.core.identifiers import MID_RE, MOBILE_RE, TID_RE, normalise_mobile
from posdesk.core.taxonomy import OPEN_STATUSES, Category, Channel, Priority, Status
from posdesk.core.text import clean_line
from posdesk.merchants.models import District, Merchant, MerchantContact
from posdesk.merchants.selectors import merchant_ids_for_merchant_user
from posdesk.terminals.models import Terminal
from posdesk.tickets import policies
from posdesk.tickets.models import Ticket, TicketEvent

TICKET_NUMBER_RE = re.compile(r"^T\d{10,}$", re.IGNORECASE)
REPEAT_FAULT_WINDOW = timedelta(days=30)


def ticket_scope_for_user(user: User) -> QuerySet[Ticket]:
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if user.is_desk:
        return tickets
    if user.role == Role.MERCHANT:
        return tickets.filter(merchant_id__in=merchant_ids_for_merchant_user(user))
    if user.role == Role.TECHNICIAN:
        return tickets.filter(assignee=user)
    if user.role == Role.VENDOR and user.organisation_id:
        return tickets.filter(vendor_id=user.organisation_id)
    return tickets.none()


def ticket_get_for_user(user: User, *, ticket_id: int | None = None, number: str | None = None) -> Ticket:
    """The ticket if `user` may see it, else NotFound (not Forbidden: existence is not told)."""
    scope = ticket_scope_for_user(user).select_related(
        "merchant", "merchant__district", "terminal", "terminal__model", "team", "assignee", "vendor", "sla_policy"
    )
    found: list[Ticket] = []
    if ticket_id is not None:
        found = list(scope.filter(pk=ticket_id)[:1])  # unique: no ORDER BY needed, unlike first()
    elif number:
        found = list(scope.filter(number=number.strip().upper())[:1])
    ticket = found[0] if found else None
    if ticket is None:
        raise NotFound(_("No such ticket, or it is not yours to see."), code="ticket_not_found")
    return ticket


# --- the queue ----------------------------------------------------------------------------

SORTS: dict[str, list[tuple[str, bool]]] = {
    # name: [(field, descending)], always ending in a unique column for stable keyset pages
    "-created_at": [("created_at", True), ("id", True)],
    "created_at": [("created_at", False), ("id", False)],
    "-updated_at": [("updated_at", True), ("id", True)],
    "priority": [("priority", False), ("created_at", True), ("id", True)],
    # most urgent first: tickets whose clock runs, nearest deadline first (ticket_due_idx)
    "sla_due_at": [("sla_due_at", False), ("id", False)],
}
TEXT_SEARCH_LIMIT = 200  # the newest matches of a word search: a person refines rather than pages on
COUNT_CAP = 1_000  # "1000+" is as useful to a person as an exact count, and far cheaper


@dataclass
class TicketFilters:
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    team: int | None = None
    assignee: str = ""  # "me", "none" or a user id
    district: str = ""
    merchant_id: int | None = None
    terminal_id: int | None = None
    open_only: bool = False
    q: str = ""


@dataclass
class TicketPage:
    items: list[Ticket]
    next_cursor: str | None
    count: int
    count_capped: bool


def _check_choices(name: str, values: list[str], allowed: list[str]) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise field_error(name, _("Unknown value: %(values)s") % {"values": ", ".join(bad)}, code="invalid_filter")


def _by_ids(tickets: QuerySet[Ticket], field: str, ids: list[int]) -> QuerySet[Ticket]:
    # Resolved to ids first: `merchant_id = 7` pages through the (merchant, created_at) index, where
    # `merchant_id IN (subquery)` makes both databases sort every matching row.
    if len(ids) == 1:
        return tickets.filter(**{field: ids[0]})
    return tickets.filter(**{f"{field}__in": ids})


def _search(tickets: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    """Exact search by ticket number, MID, TID, SN or mobile (these win); otherwise by merchant name
    and by the words of the subject and description (full text)."""
    q = clean_line(q)
    if not q:
        return tickets
    if TICKET_NUMBER_RE.match(q):
        return tickets.filter(number=q.upper())
    digits = normalise_mobile(q)
    if MOBILE_RE.match(digits):
        merchant_ids = list(MerchantContact.objects.filter(mobile=digits).values_list("merchant_id", flat=True)[:200])
        return _by_ids(tickets, "merchant_id", sorted(set(merchant_ids)))
    if MID_RE.match(q):
        return _by_ids(tickets, "merchant_id", list(Merchant.objects.filter(mid=q).values_list("pk", flat=True)))
    if TID_RE.match(q):
        return _by_ids(tickets, "terminal_id", list(Terminal.objects.filter(tid=q).values_list("pk", flat=True)))
    terminal_ids = list(Terminal.objects.filter(sn=q.upper()).values_list("pk", flat=True)[:1])
    if terminal_ids:
        return _by_ids(tickets, "terminal_id", terminal_ids)
    merchant_ids = list(Merchant.objects.filter(name__icontains=q).values_list("pk", flat=True)[:200])
    text_ids = _text_search(q, within=tickets)
    if text_ids and merchant_ids:
        return tickets.filter(Q(merchant_id__in=merchant_ids) | Q(pk__in=text_ids))
    if text_ids:
        return tickets.filter(pk__in=text_ids)
    return _by_ids(tickets, "merchant_id", merchant_ids)


def _text_search(q: str, *, within: QuerySet[Ticket]) -> list[int]:
    """The newest tickets of `within` (the user's scope and filters, applied inside the search, so
    a merchant's or a filtered list's matches are found however many newer ones others have) whose
    words match `q`, through the settings-named full-text search (TICKET_TEXT_SEARCH, the knowledge
    app's: tickets may not import it); empty: none configured."""
    path = getattr(settings, "TICKET_TEXT_SEARCH", "")
    if not path:
        return []
    return list(import_string(path)(q, limit=TEXT_SEARCH_LIMIT, within=within))


MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number would not reach the database (SQLite overflows)


def _check_id(name: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_ID:
        raise field_error(name, _("Unknown value: %(values)s") % {"values": value}, code="invalid_filter")


def ticket_filter(user: User, filters: TicketFilters) -> QuerySet[Ticket]:
    _check_id("team", filters.team)
    _check_id("merchant_id", filters.merchant_id)
    _check_id("terminal_id", filters.terminal_id)
    _check_choices("status", filters.status, Status.values)
    _check_choices("priority", filters.priority, Priority.values)
    _check_choices("category", filters.category, Category.values)
    _check_choices("channel", filters.channel, Channel.values)
    tickets = ticket_scope_for_user(user)
    if filters.status:
        tickets = tickets.filter(status__in=filters.status)
    elif filters.open_only:
        tickets = tickets.filter(status__in=sorted(OPEN_STATUSES))
    if filters.priority:
        tickets = tickets.filter(priority__in=filters.priority)
    if filters.category:
        tickets = tickets.filter(category__in=filters.category)
    if filters.channel:
        tickets = tickets.filter(channel__in=filters.channel)
    if filters.team:
        tickets = tickets.filter(team_id=filters.team)
    if filters.assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee:
        if not filters.assignee.isdigit() or not filters.assignee.isascii() or int(filters.assignee) > MAX_ID:
            raise field_error("assignee", _("Unknown value: %(values)s") % {"values": filters.assignee},
                              code="invalid_filter")
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.district:
        # the district's id as a value (PostgreSQL: an InitPlan), not a join: joined, the tickets
        # are the inner side of a nested loop and cannot be read in their index's created_at order,
        # so PostgreSQL read all 12,000 new P1 tickets of a district to show 25 (45 ms, not 0.2)
        tickets = tickets.filter(district_id=Subquery(District.objects.filter(code=filters.district).values("pk")[:1]))
    if filters.merchant_id:
        tickets = tickets.filter(merchant_id=filters.merchant_id)
    if filters.terminal_id:
        tickets = tickets.filter(terminal_id=filters.terminal_id)
    return _search(tickets, filters.q)


def _encode_cursor(ticket: Ticket, sort: str) -> str:
    values = []
    for name, _desc in SORTS[sort]:
        value = getattr(ticket, name)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(SORTS[sort]):
            raise ValueError
        decoded = []
        for (name, _desc), value in zip(SORTS[sort], values, strict=True):
            if name.endswith("_at"):
                value = parse_datetime(value)
                if value is None or value.tzinfo is None:
                    raise ValueError
                value = value.astimezone(UTC)  # OverflowError at the ends of the calendar
            elif name == "id":
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
                    raise ValueError
            elif name == "priority" and value not in Priority.values:
                raise ValueError
            decoded.append(value)
        return decoded
    except (ValueError, TypeError, OverflowError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise field_error("cursor", _("The page cursor is not valid."), code="invalid_cursor") from exc


def _after_cursor(values: list[Any], sort: str) -> Q:
    """Rows strictly after the cursor in sort order (keyset pagination: no OFFSET scans)."""
    keys = SORTS[sort]
    condition = Q()
    for i in range(len(keys) - 1, -1, -1):
        name, desc = keys[i]
        beyond = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
        condition = beyond if i == len(keys) - 1 else beyond | (Q(**{name: values[i]}) & condition)
    return condition


def _count_order(filters: TicketFilters) -> list[str]:
    """How the capped count reads its rows. Filtered by a team, person, place, merchant or terminal,
    it counts from that filter's (x, status, created_at) index in any order. Otherwise it counts
    newest first: open tickets are mostly recent, so the first 1,001 matches come soonest — left to
    itself PostgreSQL read 34,000 entries of an unrelated index to count open P1 tickets (14 ms,
    against 1 ms newest first at 1,000,000 tickets; bench/RESULTS.md)."""
    if filters.team or filters.assignee or filters.district or filters.merchant_id or filters.terminal_id \
            or filters.q:
        return []
    return ["-created_at", "-id"]


def ticket_queue(
    user: User, filters: TicketFilters, *, sort: str = "-created_at", cursor: str | None = None, limit: int = 25,
    with_count: bool = True,
) -> TicketPage:
    if sort not in SORTS:
        raise field_error("sort", _("Unknown sort order."), code="invalid_sort")
    if not 1 <= limit <= 100:
        raise field_error("limit", _("The page size must be between 1 and 100."), code="invalid_limit")
    tickets = ticket_filter(user, filters)
    if sort == "sla_due_at":
        tickets = tickets.filter(sla_due_at__isnull=False)
    count = capped = 0
    if with_count:
        count = tickets.order_by(*_count_order(filters))[: COUNT_CAP + 1].count()
        capped = count > COUNT_CAP
        count = min(count, COUNT_CAP)
    page = tickets
    if cursor:
        page = page.filter(_after_cursor(_decode_cursor(cursor, sort), sort))
    ordering = [f"-{name}" if desc else name for name, desc in SORTS[sort]]
    # The page's ids first, from the tickets table alone, then their rows with what they show.
    # Asked in one statement, PostgreSQL costs the joins into the choice of index: it read the
    # newest 93,000 tickets looking for one agent's (its statistics spread them evenly over time),
    # where the id-only query reads the agent's own index (16 ms against 0.1; bench/RESULTS.md).
    # The rows are read through the access gate too, not only the ids.
    ids = list(page.order_by(*ordering).values_list("pk", flat=True)[: limit + 1])
    found = ticket_scope_for_user(user).select_related(
        "merchant", "terminal", "assignee", "team", "district").in_bulk(ids)
    rows = [found[pk] for pk in ids if pk in found]
    next_cursor = _encode_cursor(rows[limit - 1], sort) if len(rows) > limit else None
    return TicketPage(items=rows[:limit], next_cursor=next_cursor, count=count, count_capped=capped)


# --- one ticket ---------------------------------------------------------------------------

def ticket_timeline(ticket: Ticket, user: User) -> list[TicketEvent]:
    events = ticket.events.select_related("actor").prefetch_related("attachments").order_by("created_at", "id")
    if not policies.can_see_internal(user):
        events = events.filter(is_public=True).exclude(kind=TicketEvent.Kind.ASSIGNED)
    return list(events)


@dataclass
class TerminalHistory:
    earlier: list[Ticket]
    repeat_faults: int  # earlier tickets of the same category within REPEAT_FAULT_WINDOW


def terminal_history(ticket: Ticket, user: User, *, limit: int = 10) -> TerminalHistory:
    if ticket.terminal_id is None:
        return TerminalHistory(earlier=[], repeat_faults=0)
    earlier = ticket_scope_for_user(user).filter(terminal_id=ticket.terminal_id).exclude(pk=ticket.pk)
    repeat = earlier.filter(
        category=ticket.category,
        created_at__gte=ticket.created_at - REPEAT_FAULT_WINDOW,
        created_at__lt=ticket.created_at,
    ).count()
    return TerminalHistory(earlier=list(earlier.order_by("-created_at")[:limit]), repeat_faults=repeat)


# --- merchant portal (appended for posdesk.portal) -----------------------------------------

@dataclass
class MerchantTicketOverview:
    open: list[Ticket]
    recent_closed: list[Ticket]


def ticket_overview_for_merchant_user(
    user: User, *, open_limit: int = 100, recent_limit: int = 20
) -> MerchantTicketOverview:
    """The portal home: the open tickets of every merchant the user reports for, most recently
    updated first, then the most recently updated finished (resolved, closed, cancelled) ones."""
    tickets = ticket_scope_for_user(user).select_related("merchant", "terminal", "terminal__model")
    open_statuses = list(OPEN_STATUSES)
    return MerchantTicketOverview(
        open=list(tickets.filter(status__in=open_statuses).order_by("-updated_at", "-id")[:open_limit]),
        recent_closed=list(
            tickets.exclude(status__in=open_statuses).order_by("-updated_at", "-id")[:recent_limit]
        ),
    )


# --- staff console (appended for posdesk.console) ------------------------------------------

def terminal_recent_ticket_count(user: User, *, terminal_id: int, window: timedelta = REPEAT_FAULT_WINDOW) -> int:
    """Tickets on one terminal within `window` (the terminal page's repeat-fault figure)."""
    return ticket_scope_for_user(user).filter(
        terminal_id=terminal_id, created_at__gte=timezone.now() - window
    ).count()


@dataclass(frozen=True)
class QueueWait:
    """What a merchant reaching out now can expect (SPEC C3 reachability)."""

    minutes: int | None  # None: too little recent work to estimate
    waiting: int  # tickets not answered yet
    answered_last_hour: int


WAIT_WINDOW = timedelta(hours=1)


def queue_wait_estimate(*, now: datetime | None = None) -> QueueWait:
    """The wait for a first answer, from the recent pace: the tickets still waiting for one,
    divided by the first answers given in the last hour (Little's law); when nobody answered in
    that hour, the median time to a first answer over the last day. Cached for a minute: every
    portal page and WeChat acknowledgement asks."""
    now = now or timezone.now()
    key = f"queue-wait:{int(now.timestamp()) // 60}"
    cached = cache.get(key)
    if cached is not None:
        return QueueWait(*cached)
    unanswered = Ticket.objects.filter(status__in=(Status.NEW, Status.TRIAGED), first_response_at__isnull=True,
                                       created_at__gte=now - timedelta(days=7))
    waiting = unanswered.count()
    answered = Ticket.objects.filter(first_response_at__gt=now - WAIT_WINDOW, first_response_at__lte=now).count()
    if waiting == 0:
        minutes: int | None = 0
    elif answered:
        minutes = math.ceil(waiting / (answered / (WAIT_WINDOW / timedelta(minutes=1))))
    else:
        spans = sorted(
            (first - created).total_seconds() for created, first in Ticket.objects.filter(
                first_response_at__gt=now - timedelta(days=1), first_response_at__lte=now,
            ).values_list("created_at", "first_response_at")[:500]
        )
        minutes = math.ceil(spans[len(spans) // 2] / 60) if spans else None
    estimate = QueueWait(minutes, waiting, answered)
    cache.set(key, (estimate.minutes, estimate.waiting, estimate.answered_last_hour), timeout=90)
    return estimate
