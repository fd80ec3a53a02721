"""Exactly-once creates: `Idempotency-Key` (SPEC §8)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.core.errors import Conflict, ValidationFailed
from posdesk.core.models import IdempotencyRecord
from posdesk.core.rows import PreparedRead, row_insert, rows_together

Answer = tuple[int, Any]


def request_fingerprint(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _replay(recorded_fingerprint: str, status: int, body: Any, fingerprint: str) -> Answer:
    if recorded_fingerprint != fingerprint:
        raise Conflict(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
        )
    return status, body


# every create runs this read first: its SQL is compiled once (core/rows.py)
_record_row = PreparedRead(
    lambda principal, scope, key: IdempotencyRecord.objects.filter(principal=principal, scope=scope, key=key)
    .values_list("request_fingerprint", "response_status", "response_body")[:1]
)


def idempotent_create(
    *, principal: str, scope: str, key: str | None, payload: Any, produce: Callable[..., Answer],
    prepare: Callable[[], Any] | None = None, rows: tuple[type[Model], ...] = (),
) -> tuple[Answer, bool]:
    """Run `produce` once per (principal, scope, key). Returns the answer and whether it is a
    replay. The record is written in the same transaction as the resource, so a concurrent retry
    either sees the committed record or fails on the unique constraint and replays it.
    `prepare`, when given, runs once a replay is ruled out and before the write transaction opens,
    and `produce` gets what it returns: checks and reads that need not be inside the transaction
    (on SQLite it holds the database's one write lock, so the less it does the better).
    `rows`: the models whose rows `produce` inserts, written with the record as one statement
    where that saves round trips (`core.rows.rows_together`)."""
    if key is None:
        return (produce(prepare()) if prepare is not None else produce()), False
    key = key.strip()
    if not key or len(key) > 255:
        raise ValidationFailed(
            _("Idempotency-Key must be 1 to 255 characters."), code="invalid_idempotency_key"
        )
    fingerprint = request_fingerprint(payload)
    found = _record_row(principal, scope, key)
    if found:
        return _replay(*found[0], fingerprint), True
    prepared = (prepare(),) if prepare is not None else ()
    try:
        # with no rows of its own named, the record alone is one INSERT: nothing to put together
        with transaction.atomic(), (rows_together(*rows, IdempotencyRecord) if rows else nullcontext()):
            status, body = produce(*prepared)
            row_insert(IdempotencyRecord(
                principal=principal,
                scope=scope,
                key=key,
                request_fingerprint=fingerprint,
                response_status=status,
                response_body=body,
            ))
    except IntegrityError:
        found = _record_row(principal, scope, key)
        if not found:
            raise
        return _replay(*found[0], fingerprint), True
    return (status, body), False


def idempotency_prune(*, now: Any = None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
