from celery import shared_task

from posdesk.outbox import services


@shared_task
def outbox_deliver(message_id: int) -> str:
    """One message (kept for jobs queued before deliveries were coalesced into drains)."""
    return services.outbox_deliver_one(message_id=message_id)


@shared_task
def outbox_drain() -> int:
    """Every message not tried yet; scheduled by `services.delivery_kick` after commits."""
    limit = 5000
    done = services.outbox_drain_fresh(limit=limit)
    if done >= limit:
        outbox_drain.delay()
    return done


@shared_task
def outbox_sweep() -> int:
    ids = services.outbox_due_ids()
    for message_id in ids:
        services.outbox_deliver_one(message_id=message_id)
    return len(ids)
