from django.contrib import admin
from django.db import transaction

from posdesk.audit.admin import AuditedModelAdmin
from posdesk.core.jobs import CoalescedJob
from posdesk.slas.models import BusinessCalendar, EscalationRule, HolidayEntry, SlaPolicy, TeamCalendar
from posdesk.slas.selectors import sla_config_changed

# open tickets' deadlines follow a changed policy, calendar or hours (after the commit, coalesced)
recompute_open_tickets = CoalescedJob("posdesk.tickets.tasks.tickets_sla_recompute_task")


def _changed() -> None:
    sla_config_changed()
    transaction.on_commit(recompute_open_tickets)


class ConfigAdmin(AuditedModelAdmin):
    """Edits take effect at once in this process and within the snapshot TTL in the others; open
    tickets' deadlines are recomputed in the background."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        _changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        _changed()


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(ConfigAdmin):
    list_display = ("code", "name", "around_the_clock", "working_hours")


@admin.register(HolidayEntry)
class HolidayEntryAdmin(ConfigAdmin):
    list_display = ("day", "is_workday", "name", "created_by", "updated_at")
    list_filter = ("is_workday",)
    date_hierarchy = "day"
    exclude = ("created_by",)

    def save_model(self, request, obj, form, change):
        obj.created_by = obj.created_by or request.user
        super().save_model(request, obj, form, change)


@admin.register(TeamCalendar)
class TeamCalendarAdmin(ConfigAdmin):
    list_display = ("team", "calendar")


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ConfigAdmin):
    list_display = ("name", "is_active", "order", "priority", "merchant_tier", "category", "channel",
                    "first_response_minutes", "resolution_minutes", "onsite_minutes", "calendar")
    list_filter = ("is_active", "priority", "category")
    list_editable = ("is_active",)


@admin.register(EscalationRule)
class EscalationRuleAdmin(ConfigAdmin):
    list_display = ("name", "is_active", "order", "clock", "trigger", "priority", "action")
    list_filter = ("is_active", "clock", "trigger", "action")
    list_editable = ("is_active",)
