"""Reads of incidents. Incidents are the desk's (agents read them, supervisors and admins manage
them); a merchant sees only the public face of the incidents that touch them (portal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import User
from posdesk.core.errors import NotFound, PermissionDenied, field_error
from posdesk.incidents.models import CONFIRMED_STATUSES, Incident, IncidentEvent, IncidentTicket
from posdesk.terminals.models import Terminal
from posdesk.tickets.models import Ticket


def incident_scope_for_user(user: User) -> QuerySet[Incident]:
    """The access gate: desk roles see every incident; nobody else sees any (403)."""
    if not user.is_authenticated or not user.is_active or not user.is_desk:
        raise PermissionDenied(_("Incidents are for the service desk."), code="incidents_not_allowed")
    return Incident.objects.all()


MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number would not reach the database (SQLite overflows)


def incident_get_for_user(user: User, *, incident_id: int) -> Incident:
    incidents = incident_scope_for_user(user)
    incident = incidents.filter(pk=incident_id).first() if 0 <= incident_id <= MAX_ID else None
    if incident is None:
        raise NotFound()
    return incident


def incident_list_for_user(user: User, *, status: Sequence[str] = (), limit: int = 50) -> list[Incident]:
    """Newest first, each with `ticket_count` and `merchant_count` (one query)."""
    unknown = set(status) - set(Incident.Status.values)
    if unknown:
        raise field_error("status", _("Unknown status."), code="invalid_status")
    incidents = incident_scope_for_user(user)
    if status:
        incidents = incidents.filter(status__in=list(status))
    return list(incidents.annotate(ticket_count=Count("links"),
                                   merchant_count=Count("links__merchant", distinct=True))
                .order_by("-detected_at", "-id")[: max(1, min(limit, 200))])


def incident_tickets(incident: Incident, *, limit: int = 100) -> list[Ticket]:
    """The incident's tickets, newest first, with what the list shows (one query)."""
    return list(Ticket.objects.filter(incident_link__incident=incident)
                .select_related("merchant", "district", "incident_link")
                .order_by("-created_at", "-id")[:limit])


def incident_timeline(incident: Incident, *, public_only: bool = False) -> list[IncidentEvent]:
    events = incident.events.select_related("actor").order_by("created_at", "id")
    return list(events.filter(is_public=True) if public_only else events)


@dataclass(frozen=True)
class IncidentSummary:
    """The post-incident summary."""

    ticket_count: int
    merchant_count: int
    notified_count: int  # reporters told the incident's status when they reported
    first_report_at: datetime | None
    last_report_at: datetime | None
    detected_at: datetime
    opened_at: datetime | None
    resolved_at: datetime | None
    time_to_detect: timedelta | None  # first report → detection
    duration: timedelta | None  # first report → resolution (→ now while it lasts)
    broadcasts: int
    broadcast_messages: int
    timeline: list[IncidentEvent]


def incident_summary(incident: Incident, *, now: datetime | None = None) -> IncidentSummary:
    links = IncidentTicket.objects.filter(incident=incident).aggregate(
        tickets=Count("pk"), merchants=Count("merchant", distinct=True),
        notified=Count("pk", filter=Q(notified_at__isnull=False)),
        first=Min("ticket_created_at"), last=Max("ticket_created_at"))
    broadcasts = incident.events.filter(broadcast_done_at__isnull=False).aggregate(
        count=Count("pk"), sent=Sum("broadcast_sent"))
    first = links["first"]
    end = incident.resolved_at or incident.dismissed_at or now or timezone.now()
    return IncidentSummary(
        ticket_count=links["tickets"], merchant_count=links["merchants"], notified_count=links["notified"],
        first_report_at=first, last_report_at=links["last"], detected_at=incident.detected_at,
        opened_at=incident.opened_at, resolved_at=incident.resolved_at,
        time_to_detect=incident.detected_at - first if first else None,
        duration=end - first if first else None,
        broadcasts=broadcasts["count"], broadcast_messages=broadcasts["sent"] or 0,
        timeline=incident_timeline(incident),
    )


def incident_link_for_ticket(ticket_id: int) -> IncidentTicket | None:
    """The incident a ticket belongs to (the console's badge)."""
    return IncidentTicket.objects.select_related("incident").filter(ticket_id=ticket_id).first()


def incidents_affecting_merchants(merchant_ids: Sequence[int]) -> list[Incident]:
    """The confirmed, unresolved incidents a merchant is told about in the portal: those their
    tickets are linked to, and those whose scope covers them (their district, or one of their
    terminals' model and firmware; a response-code or category scope with no place covers all)."""
    if not merchant_ids:
        return []
    incidents = list(Incident.objects.filter(status__in=sorted(CONFIRMED_STATUSES)).order_by("-detected_at")[:20])
    if not incidents:
        return []
    linked = set(IncidentTicket.objects.filter(merchant_id__in=list(merchant_ids), incident__in=incidents,
                                               released_at__isnull=True).values_list("incident_id", flat=True))
    from posdesk.merchants.models import Merchant

    districts = set(Merchant.objects.filter(pk__in=list(merchant_ids)).values_list("district_id", flat=True))
    fleet = set(Terminal.objects.filter(merchant_id__in=list(merchant_ids)).values_list("model_id", "firmware"))
    models = {model for model, _firmware in fleet}

    def covers(scope: dict) -> bool:
        if "district_id" in scope and scope["district_id"] not in districts:
            return False
        if "firmware" in scope:
            return (scope.get("terminal_model_id"), scope["firmware"]) in fleet
        if "terminal_model_id" in scope:
            return scope["terminal_model_id"] in models
        return True

    return [i for i in incidents if i.pk in linked or covers(i.scope)]
