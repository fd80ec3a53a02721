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
