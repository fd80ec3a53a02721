"""Small display helpers for the console templates."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

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
