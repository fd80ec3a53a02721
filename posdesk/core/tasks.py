from celery import shared_task

from posdesk.core.idempotency import idempotency_prune as _prune


@shared_task
def idempotency_prune() -> int:
    return _prune()
