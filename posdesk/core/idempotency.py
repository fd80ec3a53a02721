"""Exactly-once creates: `Idempotency-Key` (SPEC §8)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.core.errors import Conflict, ValidationFailed
from posdesk.core.models import IdempotencyRecord

Answer = tuple[int, Any]


def request_fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Answer:
    if record.request_fingerprint != fingerprint:
        raise Conflict(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
        )
    return record.response_status, record.response_body


def idempotent_create(
    *, principal: str, scope: str, key: str | None, payload: Any, produce: Callable[[], Answer]
) -> tuple[Answer, bool]:
    """Run `produce` once per (principal, scope, key). Returns the answer and whether it is a
    replay. The record is written in the same transaction as the resource, so a concurrent retry
    either sees the committed record or fails on the unique constraint and replays it."""
    if key is None:
        return produce(), False
    key = key.strip()
    if not key or len(key) > 255:
        raise ValidationFailed(
            _("Idempotency-Key must be 1 to 255 characters."), code="invalid_idempotency_key"
        )
    fingerprint = request_fingerprint(payload)
    found = list(IdempotencyRecord.objects.filter(principal=principal, scope=scope, key=key)[:1])
    if found:
        return _replay(found[0], fingerprint), True
    try:
        with transaction.atomic():
            status, body = produce()
            IdempotencyRecord.objects.create(
                principal=principal,
                scope=scope,
                key=key,
                request_fingerprint=fingerprint,
                response_status=status,
                response_body=body,
            )
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(principal=principal, scope=scope, key=key).first()
        if record is None:
            raise
        return _replay(record, fingerprint), True
    return (status, body), False


def idempotency_prune(*, now: Any = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
