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
