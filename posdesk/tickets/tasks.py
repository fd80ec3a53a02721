from celery import shared_task

from posdesk.tickets.services import tickets_close_resolved


@shared_task
def tickets_close_resolved_task() -> int:
    return tickets_close_resolved()
