"""The incident notice on the merchant's portal home (one include line in home.html)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from posdesk.incidents.selectors import incidents_affecting_merchants

register = template.Library()


@register.inclusion_tag("portal/_incident_notice.html")
def incident_notice(merchants: Iterable) -> dict:
    incidents = incidents_affecting_merchants([m.pk for m in merchants])
    return {"incidents": incidents}
