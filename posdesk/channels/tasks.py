"""Thin jobs of the channels: each calls one service of its channel."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="posdesk.channels.tasks.mail_fetch_task")
def mail_fetch_task() -> int:
    from posdesk.channels.mail.inbox import mail_fetch

    return mail_fetch()


@shared_task(name="posdesk.channels.tasks.wechat_process_task")
def wechat_process_task(inbound_id: int) -> None:
    from posdesk.channels.wechat.intake import wechat_process

    wechat_process(inbound_id=inbound_id)


@shared_task(name="posdesk.channels.tasks.sms_process_task")
def sms_process_task(inbound_id: int) -> None:
    from posdesk.channels.sms.intake import sms_process

    sms_process(inbound_id=inbound_id)


@shared_task(name="posdesk.channels.tasks.inbound_sweep_task")
def inbound_sweep_task() -> int:
    """Process the WeChat and SMS messages whose job never ran (each processing is idempotent)."""
    from posdesk.channels.services import callbacks_cancel_refused, inbound_waiting
    from posdesk.channels.sms.intake import sms_process
    from posdesk.channels.wechat.intake import wechat_process

    callbacks_cancel_refused()  # held callbacks the gate refused at their re-check
    process = {"wechat": wechat_process, "sms": sms_process}
    waiting = inbound_waiting()
    for inbound_id, channel in waiting:
        process[channel](inbound_id=inbound_id)
    return len(waiting)


@shared_task(name="posdesk.channels.tasks.rejected_inbound_purge_task")
def rejected_inbound_purge_task() -> int:
    """Forget refused inbound calls older than POSDESK_REJECTED_INBOUND_RETENTION_DAYS."""
    from posdesk.channels.services import inbound_rejection_purge

    return inbound_rejection_purge()
