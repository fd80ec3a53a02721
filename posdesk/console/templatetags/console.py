"""Small display helpers for the console templates."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from posdesk.core.masking import mask_text
from posdesk.core.taxonomy import Category, Channel, Priority, Status
from posdesk.merchants.models import District

register = template.Library()

_TAXONOMY = {"status": Status, "category": Category, "priority": Priority, "channel": Channel}


@register.filter
def taxonomy_label(code: str, kind: str) -> str:
    """The translated label of a fixed code: {{ event.to_status|taxonomy_label:"status" }}.
    Cached per language: the queue shows three labels on each of its rows."""
    return _taxonomy_label(kind, code or "", get_language() or "")


@lru_cache(maxsize=512)
def _taxonomy_label(kind: str, code: str, language: str) -> str:
    try:
        return str(_TAXONOMY[kind](code).label)
    except ValueError:
        return code


@register.filter
def age(moment: datetime | None) -> str:
    """How long ago, in the one largest unit: 12 min, 5 h, 3 d."""
    if moment is None:
        return ""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    if seconds < 3600:
        return _("%(n)d min") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)d h") % {"n": seconds // 3600}
    return _("%(n)d d") % {"n": seconds // 86400}


@register.filter
def district_name(district: District | None) -> str:
    if district is None:
        return ""
    return district.name_en if (get_language() or "").startswith("en") else district.name_zh


@register.filter
def mask_personal(text: str) -> str:
    """Mobile numbers inside free text, masked (for lists)."""
    return mask_text(text or "")


@register.filter
def is_image(content_type: str) -> bool:
    return (content_type or "").startswith("image/")


def _duration(seconds: int) -> str:
    if seconds < 3600:
        return _("%(n)d min") % {"n": max(seconds // 60, 1) if seconds > 0 else 0}
    if seconds < 86400:
        return _("%(h)d h %(m)d min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}
    return _("%(n)d d %(h)d h") % {"n": seconds // 86400, "h": seconds % 86400 // 3600}


@register.simple_tag
def sla_countdown(ticket: Any) -> str:
    """The ticket's nearest deadline as a coloured countdown (on track / at risk / breached /
    paused), from stored fields only; console.js keeps it ticking without a reload. Built with
    format_html, not a template: the queue renders it on every row."""
    from posdesk.tickets.sla import sla_state

    now = timezone.now()
    state = sla_state(ticket, now)
    due = ticket.sla_due_at
    if state == "none":
        return mark_safe('<span class="muted">—</span>')  # noqa: S308 - a constant
    if state == "paused" or due is None:
        return format_html('<span class="sla sla-{}">{}</span>', state, _("Paused"))
    seconds = int((due - now).total_seconds())
    text = (_("%(t)s left") % {"t": _duration(seconds)} if seconds > 0
            else _("%(t)s overdue") % {"t": _duration(-seconds)})
    risk = ticket.sla_risk_at
    local_due = timezone.localtime(due)
    return format_html(
        '<span class="sla sla-{}" data-due="{}"{} title="{} {}">{}</span>',
        state, due.isoformat(), format_html(' data-risk="{}"', risk.isoformat()) if risk else "",
        _("Due"), local_due.strftime("%Y-%m-%d %H:%M"), text,
    )


@register.inclusion_tag("console/partials/calendar_warning.html", takes_context=True)
def calendar_warning(context: dict[str, Any]) -> dict[str, Any]:
    """Supervisors and admins are told when a year within the next 90 days has no holiday
    schedule: deadlines there are counted Monday to Friday until an admin enters it."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or getattr(user, "role", "") not in ("supervisor", "admin"):
        return {"years": []}
    from posdesk.slas.selectors import unknown_calendar_years

    return {"years": unknown_calendar_years(), "is_admin": user.role == "admin"}


@register.simple_tag
def due_countdown(due: datetime | None, risk_minutes: int = 5) -> str:
    """A deadline that is not a ticket's (a callback's "call back by") as the same ticking
    countdown as `sla_countdown`: at risk in its last `risk_minutes`, overdue after it."""
    if due is None:
        return mark_safe('<span class="muted">—</span>')  # noqa: S308 - a constant
    now = timezone.now()
    risk = due - timedelta(minutes=risk_minutes)
    seconds = int((due - now).total_seconds())
    state = "breached" if seconds <= 0 else "at_risk" if now >= risk else "on_track"
    text = (_("%(t)s left") % {"t": _duration(seconds)} if seconds > 0
            else _("%(t)s overdue") % {"t": _duration(-seconds)})
    return format_html(
        '<span class="sla sla-{}" data-due="{}" data-risk="{}" title="{} {}">{}</span>',
        state, due.isoformat(), risk.isoformat(), _("Due"), timezone.localtime(due).strftime("%Y-%m-%d %H:%M"), text,
    )
