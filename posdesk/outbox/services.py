"""Outbound messages: enqueue in the caller's transaction, deliver with retries afterwards."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from posdesk.core.bulk import rows_insert_many
from posdesk.core.jobs import CoalescedJob
from posdesk.core.rows import row_insert
from posdesk.outbox.models import OutboxMessage

logger = logging.getLogger("posdesk.outbox")
MAX_ATTEMPTS = 6


def outbox_enqueue(
    *, channel: str, purpose: str, recipient: str, body: str, subject: str = "", ticket_id: int | None = None,
    merchant_id: int | None = None, not_before: datetime | None = None, gate_recheck: bool = False,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Write a message to send after the commit. `not_before` holds it until then (a deferral by
    the contact gate, with `gate_recheck` so the gate is asked again before it goes)."""
    message = row_insert(OutboxMessage(
        channel=channel, purpose=purpose, recipient=recipient, body=body, subject=subject, ticket_id=ticket_id,
        merchant_id=merchant_id, next_attempt_at=not_before, gate_recheck=gate_recheck, headers=headers or {},
    ))
    if not_before is None:
        transaction.on_commit(delivery_kick)
    return message


# sends what the commits left in the outbox: one drain per window (core/jobs.py)
delivery_kick = CoalescedJob("posdesk.outbox.tasks.outbox_drain")


def outbox_enqueue_many(messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """Write many unsaved messages at once (a broadcast), as `outbox_enqueue` writes one: in the
    caller's transaction, one delivery kick after the commit if any is not held. Their primary
    keys are set."""
    rows_insert_many(messages, returning=True)
    if any(message.next_attempt_at is None for message in messages):
        transaction.on_commit(delivery_kick)
    return messages


def outbox_drain_fresh(*, batch: int = 200, limit: int = 5000) -> int:
    """Send the messages never tried yet, oldest first, until none is left (or `limit`, after
    which the caller schedules another drain). Each is claimed atomically, so drains running on
    several workers at once send every message once."""
    done = 0
    while done < limit:
        ids = list(
            OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__isnull=True)
            .order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        for message_id in ids:
            outbox_deliver_one(message_id=message_id)
        done += len(ids)
    return done


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def outbox_deliver_one(*, message_id: int) -> str:
    """Claim and send one message. The claim is an atomic status update, so a message is sent by
    one worker even when the on-commit task and the sweep race. The channel's backend gets the
    whole row, with its `idempotency_key`, the same on every attempt: a worker killed after the
    provider accepted the message leaves it claimed, the sweep hands it out again, and a provider
    that honours the key answers with its first result instead of sending it twice."""
    now = timezone.now()
    claimed = OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.PENDING).update(
        status=OutboxMessage.Status.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    message = OutboxMessage.objects.get(pk=message_id)
    if message.gate_recheck:
        held = _ask_the_gate_again(message, now)
        if held:
            return held
    message.attempts += 1
    try:
        _backend(message.channel)(message)
    except Exception as exc:  # noqa: BLE001 - any provider failure is retried, then dead-lettered
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        # a provider that says trying again cannot help (a wrong number, a refused template): a
        # person looks at it in the dead letters now, not after six attempts
        if message.attempts >= MAX_ATTEMPTS or getattr(exc, "retryable", True) is False:
            message.status = OutboxMessage.Status.DEAD
        else:
            message.status = OutboxMessage.Status.PENDING
            message.next_attempt_at = now + _backoff(message.attempts)
        message.save(update_fields=["status", "attempts", "last_error", "next_attempt_at"])
        logger.warning("outbox delivery failed", extra={"outbox_id": message.pk, "error": message.last_error})
        return message.status
    message.status = OutboxMessage.Status.SENT
    message.sent_at = now
    message.save(update_fields=["status", "attempts", "sent_at"])
    return message.status


def _ask_the_gate_again(message: OutboxMessage, now: datetime) -> str:
    """A deferred contact is decided again when its time comes (the merchant may have turned on
    do-not-disturb meanwhile, or a cap filled). Answers the new status, or "" to send now."""
    outcome, until, reason = _delivery_gate()(message, now)
    if outcome == "allow":
        message.gate_recheck = False
        message.save(update_fields=["gate_recheck"])
        return ""
    if outcome == "defer":
        message.status, message.next_attempt_at = OutboxMessage.Status.PENDING, until
        message.save(update_fields=["status", "next_attempt_at"])
    else:
        message.status, message.last_error = OutboxMessage.Status.WITHHELD, reason
        message.save(update_fields=["status", "last_error"])
    return message.status


def _backend(channel: str) -> Callable[[OutboxMessage], None]:
    # each channel's sender lives with its channel (posdesk/channels), above this layer
    return import_string(settings.OUTBOX_BACKENDS[channel])


def _delivery_gate() -> Callable[[OutboxMessage, datetime], tuple[str, datetime | None, str]]:
    # the contact gate lives above this layer: it is named in settings, not imported
    return import_string(settings.OUTBOX_DELIVERY_GATE)


def outbox_due_ids(*, limit: int = 500) -> list[int]:
    """Pending messages whose time has come (never-tried ones older than a minute, so the sweep
    does not race the on-commit task), and messages claimed longer ago than
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS, whose worker died mid-send."""
    now = timezone.now()
    _requeue_abandoned_claims(now)
    fresh = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.PENDING, next_attempt_at__isnull=True,
        created_at__lt=now - timedelta(minutes=1),
    )
    retries = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
    ids = list(fresh.values_list("pk", flat=True)[:limit]) + list(retries.values_list("pk", flat=True)[:limit])
    return ids


def _requeue_abandoned_claims(now: datetime) -> None:
    """A worker killed mid-send leaves its claim behind. Once the claim is older than any send
    can take (the setting must exceed the slowest provider's timeout, or a live worker's message
    is handed out twice), the message is pending again, due at once. The lost attempt counts, so a
    message that kills every worker it reaches ends as a dead letter instead of looping."""
    timeout = settings.OUTBOX_CLAIM_TIMEOUT_SECONDS
    abandoned = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.SENDING, claimed_at__lt=now - timedelta(seconds=timeout)
    )
    note = f"the worker sending it stopped before it finished (claimed over {timeout} s before)"
    abandoned.filter(attempts__gte=MAX_ATTEMPTS - 1).update(
        status=OutboxMessage.Status.DEAD, attempts=F("attempts") + 1, last_error=note
    )
    abandoned.update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=now, attempts=F("attempts") + 1, last_error=note
    )


def outbox_retry_dead(*, message: OutboxMessage) -> None:
    message.status = OutboxMessage.Status.PENDING
    message.attempts = 0
    message.next_attempt_at = None
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(delivery_kick)
