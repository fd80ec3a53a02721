"""One queue row as HTML, built in Python: the queue shows 50 rows of eleven cells, and rendering
them through the template engine was two thirds of the page's time (bench/RESULTS.md)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from posdesk.console.templatetags.console import (
    age,
    district_name,
    mask_personal,
    sla_countdown,
    taxonomy_label,
)

register = template.Library()


@register.simple_tag
def queue_row(ticket: Any, may_bulk_assign: bool) -> SafeString:
    url = reverse("console:ticket", args=[ticket.pk])
    check = format_html(
        '<td class="col-check"><input type="checkbox" name="ticket" value="{}" aria-label="{}"></td>',
        ticket.pk, ticket.number) if may_bulk_assign else ""
    merchant = Truncator(ticket.merchant.name).chars(16) if ticket.merchant_id else ""
    if ticket.assignee_id:
        assignee = format_html("{}", str(ticket.assignee))
    else:
        assignee = format_html('<span class="muted">{}</span>', _("Unassigned"))
    team = format_html('<span class="small muted"> · {}</span>', ticket.team.name) if ticket.team_id else ""
    return format_html(
        '<tr class="ticket-row priority-{priority}" data-number="{number}">{check}'
        '<td class="nowrap"><a class="ticket-number" href="{url}">{number}</a></td>'
        '<td><span class="badge badge-{priority}" title="{priority_label}">{priority}</span></td>'
        '<td><span class="badge status-{status}">{status_label}</span></td>'
        '<td class="nowrap">{category_label}</td>'
        '<td class="col-subject"><a href="{url}">{subject}</a></td>'
        '<td class="nowrap">{merchant}</td>'
        '<td class="nowrap">{district}</td>'
        '<td class="nowrap">{assignee}{team}</td>'
        '<td class="nowrap">{due}</td>'
        '<td class="nowrap" title="{created}">{age}</td></tr>',
        priority=ticket.priority, number=ticket.number, check=check, url=url,
        priority_label=taxonomy_label(ticket.priority, "priority"), status=ticket.status,
        status_label=taxonomy_label(ticket.status, "status"),
        category_label=taxonomy_label(ticket.category, "category"), subject=mask_personal(ticket.subject),
        merchant=merchant, district=district_name(ticket.district), assignee=assignee, team=team,
        due=sla_countdown(ticket), created=timezone.localtime(ticket.created_at).strftime("%Y-%m-%d %H:%M"),
        age=age(ticket.created_at),
    )
