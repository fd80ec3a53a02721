"""Writes of the service-standard configuration. Each is audited and makes this process forget
its configuration snapshot at once (others within `SLA_CONFIG_TTL_SECONDS`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.errors import ValidationFailed
from posdesk.slas.models import HolidayEntry
from posdesk.slas.selectors import sla_config_changed

WORKDAY_WORDS = {"workday": True, "work": True, "班": True, "上班": True, "调休": True, "1": True,
                 "holiday": False, "off": False, "休": False, "假": False, "放假": False, "0": False}


@dataclass(frozen=True)
class HolidayRow:
    day: date
    is_workday: bool
    name: str


def holiday_rows_parse(text: str) -> list[HolidayRow]:
    """Lines `2027-01-01,holiday,元旦` or `2027-02-07,workday,春节调休` (also 休 / 班), as the State
    Council's notice lists them; blank lines and lines starting with # are skipped. Every bad line
    is reported with its number, and nothing is imported unless all are good."""
    rows: list[HolidayRow] = []
    problems: list[dict[str, Any]] = []
    seen: set[date] = set()
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not "".join(fields).strip() or fields[0].strip().startswith("#"):
            continue
        try:
            day = date.fromisoformat(fields[0].strip())
            kind = fields[1].strip().lower() if len(fields) > 1 else ""
            if kind not in WORKDAY_WORDS:
                raise ValueError(kind)
        except ValueError:
            problems.append({"line": number, "text": ",".join(fields)[:80]})
            continue
        if day in seen:
            problems.append({"line": number, "text": ",".join(fields)[:80], "duplicate": True})
            continue
        seen.add(day)
        rows.append(HolidayRow(day, WORKDAY_WORDS[kind], (fields[2].strip() if len(fields) > 2 else "")[:60]))
    if problems:
        raise ValidationFailed(
            _("Some lines are not “date,holiday|workday,name” (e.g. 2027-01-01,holiday,元旦)."),
            code="invalid_holiday_lines", detail={"lines": problems},
        )
    if not rows:
        raise ValidationFailed(_("There is no calendar entry to import."), code="holiday_lines_empty")
    return rows


@transaction.atomic
def holiday_entries_import(*, rows: list[HolidayRow], actor: Any, replace_years: bool = True) -> dict[str, int]:
    """Write a year's schedule. With `replace_years`, earlier entries of the years imported are
    removed first, so importing the State Council's corrected notice again leaves exactly it."""
    years = sorted({row.day.year for row in rows})
    removed = 0
    if replace_years:
        removed, _ = HolidayEntry.objects.filter(day__year__in=years).exclude(
            day__in=[row.day for row in rows]).delete()
    created = updated = 0
    entries = []
    for row in rows:
        entry, was_created = HolidayEntry.objects.update_or_create(
            day=row.day, defaults={"is_workday": row.is_workday, "name": row.name,
                                   "created_by": actor if getattr(actor, "pk", None) else None})
        entries.append(entry)
        created += was_created
        updated += not was_created
    counts = {"created": created, "updated": updated, "removed": removed}
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=entries[0],
                 summary=f"holiday calendar {', '.join(map(str, years))} imported", changes=counts)
    sla_config_changed()
    transaction.on_commit(sla_config_changed)
    return counts
