"""The audit log: every service that changes a record calls `audit_record` in its transaction."""

from __future__ import annotations

from typing import Any

from django.db import models

from posdesk.audit.models import AuditEntry
from posdesk.core.rows import row_insert


def _target(obj: models.Model) -> tuple[str, str]:
    return obj._meta.label_lower, str(obj.pk)


def audit_record(
    *, actor: Any, action: str, target: models.Model, summary: str = "", changes: dict | None = None
) -> AuditEntry:
    object_type, object_id = _target(target)
    return row_insert(AuditEntry(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:200],
        changes=changes or {},
    ))


def audit_personal_data_view(*, actor: Any, target: models.Model, fields: list[str]) -> AuditEntry:
    return audit_record(
        actor=actor,
        action=AuditEntry.Action.VIEW_PERSONAL_DATA,
        target=target,
        summary="unmasked: " + ", ".join(fields),
        changes={"fields": fields},
    )


def audit_changes(instance: models.Model, before: dict[str, Any], fields: list[str]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that changed; values as strings for JSON."""
    diff = {}
    for field in fields:
        old, new = before.get(field), getattr(instance, field)
        if old != new:
            diff[field] = [None if old is None else str(old), None if new is None else str(new)]
    return diff
