"""Reads of the channels for the service desk: the callback queue, the call log of a merchant or a
ticket, and what the contact gate would say before an agent picks up the phone. The callback queue
and the call log are desk work: `ensure_desk` is their one access gate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.channels.models import CallbackTask, CallRecord
from posdesk.contact.decision import Decision, Purpose
from posdesk.contact.models import ContactChannel
from posdesk.contact.selectors import ContactSummary, contact_summary
from posdesk.contact.services import REASON_TEXT, contact_decide
from posdesk.core.errors import NotFound, PermissionDenied, field_error
from posdesk.merchants.selectors import merchant_scope_for_user

CALLBACK_QUEUE_LIMIT = 200


def ensure_desk(user: User) -> None:
    """Agents, supervisors and admins work calls and callbacks; nobody else sees them."""
    if not (user.is_authenticated and user.is_active and user.is_desk):
        raise PermissionDenied(_("Calls and callbacks are for the service desk."), code="desk_only")


def callback_queue_for_user(user: User, *, limit: int = CALLBACK_QUEUE_LIMIT) -> list[CallbackTask]:
    """Open callbacks, the most urgent (earliest due) first, with what each row shows."""
    ensure_desk(user)
    return list(
        CallbackTask.objects.filter(status=CallbackTask.Status.OPEN)
        .select_related("merchant", "assignee", "call__ticket")
        .order_by("due_at", "pk")[:limit]
    )


def callback_get_for_user(user: User, *, task_id: int) -> CallbackTask:
    ensure_desk(user)
    found = list(CallbackTask.objects.select_related("merchant", "assignee", "call__ticket").filter(pk=task_id)[:1])
    if not found:
        raise NotFound(_("No such callback."), code="callback_not_found")
    return found[0]


def _call_scope_for_user(user: User) -> QuerySet[CallRecord]:
    """The access gate of the call log: desk roles only, and only calls of merchants the user may
    see through the merchant gate — plus calls from numbers no merchant registered, which the desk
    needs to identify and return."""
    ensure_desk(user)
    return CallRecord.objects.filter(Q(merchant__isnull=True) | Q(merchant__in=merchant_scope_for_user(user)))


@dataclass(frozen=True)
class CallFilters:
    merchant_id: int | None = None
    ticket_id: int | None = None
    direction: str = ""
    outcome: str = ""
    started_from: datetime | None = None  # inclusive
    started_before: datetime | None = None  # exclusive


def call_list_for_user(user: User, filters: CallFilters) -> QuerySet[CallRecord]:
    """The call log the user may see, newest first, narrowed by `filters`."""
    calls = _call_scope_for_user(user)
    if filters.direction:
        if filters.direction not in CallRecord.Direction.values:
            raise field_error("direction", _("Unknown call direction."), code="invalid_direction")
        calls = calls.filter(direction=filters.direction)
    if filters.outcome:
        if filters.outcome not in CallRecord.Outcome.values:
            raise field_error("outcome", _("Choose how the call went."), code="invalid_outcome")
        calls = calls.filter(outcome=filters.outcome)
    if filters.started_from and filters.started_before and filters.started_before <= filters.started_from:
        raise field_error("started_before", _("The end of the period is before its start."), code="invalid_period")
    if filters.merchant_id is not None:
        calls = calls.filter(merchant_id=filters.merchant_id)
    if filters.ticket_id is not None:
        calls = calls.filter(ticket_id=filters.ticket_id)
    if filters.started_from is not None:
        calls = calls.filter(started_at__gte=filters.started_from)
    if filters.started_before is not None:
        calls = calls.filter(started_at__lt=filters.started_before)
    return calls.select_related("agent").order_by("-started_at", "-pk")


def call_get_for_user(user: User, *, call_pk: int) -> CallRecord:
    found = list(_call_scope_for_user(user).select_related("agent", "merchant", "ticket", "callback")
                 .filter(pk=call_pk)[:1])
    if not found:
        raise NotFound(_("No such call."), code="call_not_found")
    return found[0]


def calls_for_merchant(*, merchant_id: int, limit: int = 20) -> list[CallRecord]:
    """The merchant's calls, newest first (both directions)."""
    return list(CallRecord.objects.filter(merchant_id=merchant_id).select_related("agent", "ticket")
                .order_by("-started_at", "-pk")[:limit])


def calls_for_ticket(*, ticket_id: int, limit: int = 20) -> list[CallRecord]:
    return list(CallRecord.objects.filter(ticket_id=ticket_id).select_related("agent")
                .order_by("-started_at", "-pk")[:limit])


@dataclass(frozen=True)
class ContactOverview:
    """What an agent reads before calling: the merchant's recent contact and the gate's answer for a
    follow-up call at this moment (a preview: nothing is logged)."""

    summary: ContactSummary
    decision: Decision

    @property
    def reason_text(self) -> str:
        return str(REASON_TEXT[self.decision.reason])


def contact_overview_for_call(*, merchant_id: int, ticket_id: int | None = None,
                              now: datetime | None = None) -> ContactOverview:
    now = now or timezone.now()
    decision = contact_decide(merchant_id=merchant_id, channel=ContactChannel.PHONE,
                              purpose=Purpose.SERVICE_FOLLOW_UP, at=now, ticket_id=ticket_id)
    return ContactOverview(contact_summary(merchant_id=merchant_id, now=now), decision)
