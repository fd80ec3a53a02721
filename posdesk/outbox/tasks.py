from celery import shared_task

from posdesk.outbox import services


@shared_task
def outbox_deliver(message_id: int) -> str:
    return services.outbox_deliver_one(message_id=message_id)


@shared_task
def outbox_sweep() -> int:
    ids = services.outbox_due_ids()
    for message_id in ids:
        services.outbox_deliver_one(message_id=message_id)
    return len(ids)
