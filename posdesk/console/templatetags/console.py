"""Small display helpers for the console templates."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from django import template
from django.utils import timezone
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


@register.inclusion_tag("console/partials/sla_countdown.html")
def sla_countdown(ticket: Any) -> dict[str, Any]:
    """The ticket's nearest deadline as a coloured countdown (on track / at risk / breached /
    paused), from stored fields only; console.js keeps it ticking without a reload."""
    from posdesk.tickets.sla import sla_state

    now = timezone.now()
    state = sla_state(ticket, now)
    due = ticket.sla_due_at
    text = ""
    if state == "paused":
        text = _("Paused")
    elif due is not None:
        seconds = int((due - now).total_seconds())
        text = (_("%(t)s left") % {"t": _duration(seconds)} if seconds > 0
                else _("%(t)s overdue") % {"t": _duration(-seconds)})
    return {"state": state, "due": due, "risk": ticket.sla_risk_at, "text": text}


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
