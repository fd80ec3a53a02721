from celery import shared_task

from posdesk.tickets.escalation import sla_sweep
from posdesk.tickets.services import tickets_close_resolved


@shared_task
def tickets_close_resolved_task() -> int:
    return tickets_close_resolved()


@shared_task
def tickets_sla_sweep_task() -> dict[str, int]:
    """Escalate tickets at risk or breached (every minute; safe on several workers at once)."""
    return sla_sweep()


@shared_task
def tickets_sla_recompute_task() -> int:
    """Fresh deadlines for open tickets after the calendar or the policies changed."""
    from django.utils import timezone

    from posdesk.tickets.sla import sla_recompute_open

    return sla_recompute_open(now=timezone.now())


@shared_task
def tickets_route_new_task() -> dict[str, int]:
    """Route new tickets once triage has classified them (after triage's commits, coalesced; and
    every minute as a safety net, which also places tickets triage left untouched for
    ROUTING_TRIAGE_GRACE_SECONDS, by their intake defaults)."""
    from posdesk.tickets.routing import tickets_route_new

    return tickets_route_new()


@shared_task
def tickets_assign_waiting_task() -> int:
    """Give waiting tickets of every team queue to agents who have room (every minute)."""
    from posdesk.tickets.routing import tickets_assign_waiting

    return tickets_assign_waiting()
