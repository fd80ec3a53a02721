"""Reads of incidents. Incidents are the desk's (agents read them, supervisors and admins manage
them); a merchant sees only the public face of the incidents that touch them (portal)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    Exists,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Replace, Substr, Trim
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
    return list(
        incidents.annotate(
            ticket_count=Count("links"), merchant_count=Count("links__merchant", distinct=True)
        ).order_by("-detected_at", "-id")[: max(1, min(limit, 200))]
    )


def incident_tickets(incident: Incident, *, limit: int = 100) -> list[Ticket]:
    """The incident's tickets, newest first, with what the list shows (one query)."""
    return list(
        Ticket.objects.filter(incident_link__incident=incident)
        .select_related("merchant", "district", "incident_link")
        .order_by("-created_at", "-id")[:limit]
    )


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
        tickets=Count("pk"),
        merchants=Count("merchant", distinct=True),
        notified=Count("pk", filter=Q(notified_at__isnull=False)),
        first=Min("ticket_created_at"),
        last=Max("ticket_created_at"),
    )
    broadcasts = incident.events.filter(broadcast_done_at__isnull=False).aggregate(
        count=Count("pk"), sent=Sum("broadcast_sent")
    )
    first = links["first"]
    end = incident.resolved_at or incident.dismissed_at or now or timezone.now()
    return IncidentSummary(
        ticket_count=links["tickets"],
        merchant_count=links["merchants"],
        notified_count=links["notified"],
        first_report_at=first,
        last_report_at=links["last"],
        detected_at=incident.detected_at,
        opened_at=incident.opened_at,
        resolved_at=incident.resolved_at,
        time_to_detect=incident.detected_at - first if first else None,
        duration=end - first if first else None,
        broadcasts=broadcasts["count"],
        broadcast_messages=broadcasts["sent"] or 0,
        timeline=incident_timeline(incident),
    )


def incident_link_for_ticket(ticket_id: int) -> IncidentTicket | None:
    """The incident a ticket belongs to (the console's badge)."""
    return IncidentTicket.objects.select_related("incident").filter(ticket_id=ticket_id).first()


NOTICE_LIMIT = 20


def incidents_affecting_merchants(
    merchant_ids: Sequence[int], *, limit: int = NOTICE_LIMIT
) -> list[Incident]:
    """The confirmed, unresolved incidents a merchant is told about in the portal: those their
    tickets are linked to, and those whose scope covers them (their district, or one of their
    terminals' model and firmware; a response-code or category scope with no place covers all).
    Chosen by the merchant's scope in the database, so an old incident that still lasts is shown
    however many newer ones there are elsewhere; newest first, each with `latest_update` (its
    newest public update, or ""). One query."""
    if not merchant_ids:
        return []
    from posdesk.merchants.models import Merchant

    ids = sorted(set(merchant_ids))
    confirmed = sorted(CONFIRMED_STATUSES)
    linked = Exists(
        IncidentTicket.objects.filter(
            incident_id=OuterRef("pk"), merchant_id__in=ids, released_at__isnull=True
        )
    )
    districts = Merchant.objects.filter(pk__in=ids, district__isnull=False).values("district_id")
    fleet = Terminal.objects.filter(merchant_id__in=ids)
    firmware_of_scope = Exists(
        fleet.alias(firmware_key=_firmware_key("firmware")).filter(
            model_id=OuterRef("scope_model_id"), firmware_key=OuterRef("scope_firmware")
        )
    )
    # the scope's own words decide, as the detector wrote them: a place (district), a model, a
    # model and firmware; what a scope does not name it does not limit
    in_place = Q(scope_district_id__isnull=True) | Q(scope_district_id__in=districts)
    on_fleet = (
        Q(scope_model_id__isnull=True, scope_firmware__isnull=True)
        | Q(scope_firmware__isnull=True, scope_model_id__in=fleet.values("model_id"))
        | Q(firmware_of_scope)
    )
    covered = in_place & on_fleet
    latest_update = (
        IncidentEvent.objects.filter(
            incident_id=OuterRef("pk"), kind=IncidentEvent.Kind.UPDATE, is_public=True
        )
        .order_by("-created_at", "-id")
        .values("body")[:1]
    )
    return list(
        Incident.objects.filter(status__in=confirmed)
        .alias(
            scope_district_id=Cast(KT("scope__district_id"), IntegerField()),
            scope_model_id=Cast(KT("scope__terminal_model_id"), IntegerField()),
            scope_firmware=KT("scope__firmware"),
        )
        .filter(linked | covered)
        .annotate(latest_update=Coalesce(Subquery(latest_update), Value(""), output_field=TextField()))
        .order_by("-detected_at", "-id")[:limit]
    )


def _firmware_key(field: str) -> Func:
    """A terminal's firmware as the detector writes it in a key (detector._clean): trimmed, `;`
    and `=` replaced, at most 40 characters."""
    return Substr(Replace(Replace(Trim(field), Value(";"), Value(",")), Value("="), Value("-")), 1, 40)
