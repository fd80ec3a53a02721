"""Thin background jobs of the incidents app: each takes ids and calls one service."""

from celery import shared_task

from posdesk.incidents.services import detector_upkeep, incident_broadcast, incident_tickets_settle


@shared_task
def incident_broadcast_task(event_id: int) -> int:
    """Send one broadcast update (runs once per update, however often it is delivered)."""
    return incident_broadcast(event_id=event_id)


@shared_task
def incident_tickets_settle_task(incident_id: int) -> dict[str, int]:
    """Resolve, put to confirmation or release a resolved incident's tickets."""
    return incident_tickets_settle(incident_id=incident_id)


@shared_task
def detector_upkeep_task() -> dict[str, int]:
    """Hourly: roll up the detector's counts, keep its tables small, refresh the baselines."""
    return detector_upkeep()
