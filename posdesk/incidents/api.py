"""REST API v1 for incidents (C7). Thin: parse, gate, call one service, answer. The desk reads
incidents; supervisors and admins confirm, update, broadcast and resolve them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja import Status as Answer
from pydantic import BaseModel, Field

from posdesk.core.api import ERRORS, IDEMPOTENCY_HEADER_DOC, idempotency_key, principal
from posdesk.core.idempotency import idempotent_create
from posdesk.incidents import selectors, services
from posdesk.incidents.models import Incident, IncidentEvent

router = Router(tags=["incidents"])


class Out(BaseModel):
    pass


class IncidentRow(Out):
    id: int
    number: str
    title: str
    status: str = Field(description="`proposed`, `open`, `monitoring`, `resolved` or `dismissed`")
    scope_kind: str = Field(description="`response_code_district`, `response_code`, `firmware`, "
                                        "`category_district`, `terminal_model` or `category`")
    scope: dict[str, Any]
    eta: datetime | None
    opened_automatically: bool
    detected_at: datetime
    resolved_at: datetime | None
    ticket_count: int
    merchant_count: int


class EventOut(Out):
    id: int
    kind: str
    is_public: bool
    actor: str | None
    body: str
    from_status: str
    to_status: str
    broadcast: bool
    broadcast_merchants: int
    broadcast_sent: int
    created_at: datetime


class SummaryOut(Out):
    ticket_count: int
    merchant_count: int
    notified_count: int
    first_report_at: datetime | None
    last_report_at: datetime | None
    opened_at: datetime | None
    time_to_detect_seconds: int | None
    duration_seconds: int | None
    broadcasts: int
    broadcast_messages: int


class IncidentOut(IncidentRow):
    resolution: str
    spike_count: int
    spike_window_minutes: int
    spike_threshold: float
    baseline_per_hour: float
    summary: SummaryOut
    timeline: list[EventOut]


class UpdateIn(Schema):
    body: str
    public: bool = True
    broadcast: bool = False


class StatusIn(Schema):
    to_status: str
    note: str = ""


class EtaIn(Schema):
    eta: datetime | None
    broadcast: bool = False


class ResolveIn(Schema):
    resolution: str
    message: str = ""


def _row(incident: Incident, *, tickets: int, merchants: int) -> dict:
    return {
        "id": incident.pk, "number": incident.number, "title": incident.title, "status": incident.status,
        "scope_kind": incident.scope_kind, "scope": incident.scope, "eta": incident.eta,
        "opened_automatically": incident.opened_automatically, "detected_at": incident.detected_at,
        "resolved_at": incident.resolved_at, "ticket_count": tickets, "merchant_count": merchants,
    }


def _event(event: IncidentEvent) -> dict:
    return {
        "id": event.pk, "kind": event.kind, "is_public": event.is_public,
        "actor": str(event.actor) if event.actor_id else None, "body": event.body,
        "from_status": event.from_status, "to_status": event.to_status, "broadcast": event.broadcast,
        "broadcast_merchants": event.broadcast_merchants, "broadcast_sent": event.broadcast_sent,
        "created_at": event.created_at,
    }


def _seconds(value: Any) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def _detail(incident: Incident) -> dict:
    summary = selectors.incident_summary(incident)
    data = _row(incident, tickets=summary.ticket_count, merchants=summary.merchant_count)
    data.update(
        resolution=incident.resolution, spike_count=incident.spike_count,
        spike_window_minutes=incident.spike_window_minutes, spike_threshold=incident.spike_threshold,
        baseline_per_hour=incident.baseline_per_hour,
        summary={
            "ticket_count": summary.ticket_count, "merchant_count": summary.merchant_count,
            "notified_count": summary.notified_count, "first_report_at": summary.first_report_at,
            "last_report_at": summary.last_report_at, "opened_at": summary.opened_at,
            "time_to_detect_seconds": _seconds(summary.time_to_detect),
            "duration_seconds": _seconds(summary.duration), "broadcasts": summary.broadcasts,
            "broadcast_messages": summary.broadcast_messages,
        },
        timeline=[_event(e) for e in summary.timeline],
    )
    return IncidentOut.model_validate(data).model_dump(mode="json")


@router.get("/incidents", response={200: list[IncidentRow], **ERRORS}, summary="List incidents",
            description="Mass-outage incidents, newest first (at most `limit`, ≤ 200). Desk roles only; "
                        "`status` takes comma-separated codes (`open,monitoring`).")
def incident_list(request: HttpRequest, status: str = Query("", description="comma-separated status codes"),
                  limit: int = Query(50, description="rows, 1–200")) -> list[dict]:
    wanted = [s for s in (p.strip() for p in status.split(",")) if s]
    return [_row(i, tickets=i.ticket_count, merchants=i.merchant_count)  # type: ignore[attr-defined]
            for i in selectors.incident_list_for_user(request.auth, status=wanted, limit=limit)]


@router.get("/incidents/{incident_id}", response={200: IncidentOut, **ERRORS}, summary="Get an incident",
            description="The incident with its post-incident summary (tickets, merchants, first and last "
                        "report, time to detect, duration, broadcasts) and its timeline, notes included.")
def incident_get(request: HttpRequest, incident_id: int) -> dict:
    return _detail(selectors.incident_get_for_user(request.auth, incident_id=incident_id))


@router.post("/incidents/{incident_id}/updates", response={201: EventOut, **ERRORS},
             summary="Post an update (and broadcast it)",
             description="Supervisors and admins. A public update is told to every new reporter; with "
                         "`broadcast` it is also sent at once to every affected merchant, one message each, "
                         "through the contact gate (purpose `incident_notice`). `public: false` is an internal "
                         "note. " + IDEMPOTENCY_HEADER_DOC)
def incident_update(request: HttpRequest, incident_id: int, payload: UpdateIn) -> Answer:
    incident = selectors.incident_get_for_user(request.auth, incident_id=incident_id)

    def produce() -> tuple[int, dict]:
        event = services.incident_update_post(incident=incident, actor=request.auth, body=payload.body,
                                              public=payload.public, broadcast=payload.broadcast)
        return 201, EventOut.model_validate(_event(event)).model_dump(mode="json")

    answer, _replayed = idempotent_create(
        principal=principal(request), scope=f"incident.update:{incident.pk}", key=idempotency_key(request),
        payload=payload.model_dump(mode="json"), produce=produce)
    return Answer(*answer)


@router.post("/incidents/{incident_id}/status", response={200: IncidentOut, **ERRORS},
             summary="Confirm, dismiss or monitor",
             description="Supervisors and admins. `to_status`: `open` (confirm a proposal: its reporters so far "
                         "are told), `dismissed` (a proposal that is no outage), `monitoring` or back to `open`.")
def incident_status(request: HttpRequest, incident_id: int, payload: StatusIn) -> dict:
    incident = selectors.incident_get_for_user(request.auth, incident_id=incident_id)
    services.incident_set_status(incident=incident, actor=request.auth, to_status=payload.to_status,
                                 note=payload.note)
    incident.refresh_from_db()
    return _detail(incident)


@router.post("/incidents/{incident_id}/eta", response={200: IncidentOut, **ERRORS}, summary="Set the ETA",
             description="Supervisors and admins: the expected recovery (null clears it), told to new reporters; "
                         "`broadcast` also tells every affected merchant.")
def incident_eta(request: HttpRequest, incident_id: int, payload: EtaIn) -> dict:
    incident = selectors.incident_get_for_user(request.auth, incident_id=incident_id)
    services.incident_set_eta(incident=incident, actor=request.auth, eta=payload.eta, broadcast=payload.broadcast)
    incident.refresh_from_db()
    return _detail(incident)


@router.post("/incidents/{incident_id}/resolve", response={200: IncidentOut, **ERRORS},
             summary="Resolve an incident",
             description="Supervisors and admins. `resolution`: `resolve` (its open tickets are resolved), "
                         "`confirm` (they wait for their merchants' confirmation) or `release` (they go back to "
                         "the queue). The tickets are settled in the background. `message`, if given, is "
                         "broadcast to every affected merchant.")
def incident_resolve(request: HttpRequest, incident_id: int, payload: ResolveIn) -> dict:
    incident = selectors.incident_get_for_user(request.auth, incident_id=incident_id)
    services.incident_resolve(incident=incident, actor=request.auth, resolution=payload.resolution,
                              message=payload.message)
    incident.refresh_from_db()
    return _detail(incident)
