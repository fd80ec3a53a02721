from django.contrib import admin

from posdesk.tickets.models import Ticket, TicketEvent


class EventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "is_public", "from_status", "to_status", "body")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only here: every change goes through the services (console, API)."""

    list_display = ("number", "merchant", "category", "priority", "status", "assignee", "created_at")
    list_filter = ("status", "priority", "category", "channel")
    search_fields = ("number",)
    raw_id_fields = ("merchant", "terminal", "assignee", "merged_into", "created_by")
    inlines = [EventInline]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
