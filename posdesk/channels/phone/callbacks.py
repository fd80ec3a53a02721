"""A callback is an outbound contact (SPEC C3/C4): each call it asks of an agent passes the contact
gate and is written to the outbox as a `phone` message in the transaction that made the callback,
and the outbox's phone backend (`deliver_callback`, settings.OUTBOX_BACKENDS["phone"]) puts it in
the agents' callback queue.

- Allowed — as a callback of the merchant's own call nearly always is: it is a service reply
  within the reply window, on the channel they used, so neither do-not-disturb nor quiet hours hold
  it (contact/decision.py) — the callback is in the queue at once; the outbox message only
  confirms it.
- Deferred — a later try after "no answer" or "busy", once the reply window has passed, at night —
  the callback is `held`, out of the queue, until the outbox asks the gate again at the decision's
  moment and the backend releases it.
- Denied (the merchant refused phone replies and did not just call) — the callback is cancelled.

Calls from numbers no merchant registered have nobody the rules could be asked about; their
callback goes through the outbox ungated, as an answer to the caller.

The phone message is not itself a contact in the merchant's history: the call an agent makes is
(`contact_call_logged`), so a callback counts once."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from posdesk.channels.models import CallbackTask
from posdesk.contact.decision import Outcome, Purpose
from posdesk.contact.models import ContactChannel
from posdesk.contact.services import contact_request
from posdesk.core.masking import mask_mobile
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_enqueue

logger = logging.getLogger("posdesk.channels")


def _instruction(task: CallbackTask) -> str:
    # what the outbox and its dead letters show of the message: no one reads it but staff
    return f"callback #{task.pk} ({task.source}, try {task.attempts + 1})"


def callback_gate(*, task: CallbackTask, at: datetime | None = None) -> CallbackTask:
    """Ask the contact gate for the callback's next call and write its phone message to the
    outbox, in the caller's transaction: the callback is `open` (in the queue), `held` until the
    gate allows it, or `cancelled` when the gate refuses. Call it on a callback just created or
    left open after a try that did not reach the merchant."""
    at = at or timezone.now()
    body = _instruction(task)
    ticket_id = task.call.ticket_id if task.call_id else None
    if task.merchant_id is None:
        message: OutboxMessage | None = outbox_enqueue(
            channel=ContactChannel.PHONE, purpose=Purpose.SERVICE_REPLY, recipient=task.mobile, body=body,
            ticket_id=ticket_id)
        outcome = Outcome.ALLOW
    else:
        result = contact_request(merchant_id=task.merchant_id, channel=ContactChannel.PHONE,
                                 purpose=Purpose.SERVICE_REPLY, recipient=task.mobile, body=body,
                                 ticket_id=ticket_id, at=at)
        message, outcome = result.message, result.decision.outcome
    task.outbox_message_id = message.pk if message is not None else None
    task.status = {Outcome.ALLOW: CallbackTask.Status.OPEN, Outcome.DEFER: CallbackTask.Status.HELD,
                   Outcome.DENY: CallbackTask.Status.CANCELLED}[outcome]
    fields = ["outbox_message_id", "status"]
    if outcome == Outcome.DENY:
        task.done_at = at
        fields.append("done_at")
    task.save(update_fields=fields)
    if outcome != Outcome.ALLOW:
        logger.info("callback held by the contact gate" if outcome == Outcome.DEFER else "callback refused by the contact gate",
                    extra={"callback_id": task.pk, "caller": mask_mobile(task.mobile)})
    return task


def deliver_callback(message: OutboxMessage) -> None:
    """The outbox's phone backend: the gate allows the call now, so the callback it stands for
    joins the queue. Idempotent: a callback already in the queue, closed, or waiting on a newer
    message stays as it is."""
    released = CallbackTask.objects.filter(outbox_message_id=message.pk, status=CallbackTask.Status.HELD).update(
        status=CallbackTask.Status.OPEN)
    if released:
        logger.info("callback released to the queue", extra={"outbox_id": message.pk})
