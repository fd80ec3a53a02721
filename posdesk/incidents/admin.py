from django.contrib import admin

from posdesk.incidents.models import DetectorBaseline, Incident, IncidentEvent


class EventInline(admin.TabularInline):
    model = IncidentEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor", "is_public", "to_status", "body", "broadcast_sent")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-only here: incidents are worked in the console (supervisors), through the services."""

    list_display = ("number", "title", "status", "scope_kind", "detected_at", "resolved_at")
    list_filter = ("status", "scope_kind")
    search_fields = ("number", "title")
    inlines = [EventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DetectorBaseline)
class DetectorBaselineAdmin(admin.ModelAdmin):
    """What the detector takes as usual, per key and hour of the week (refreshed hourly)."""

    list_display = ("key", "hour_of_week", "per_hour", "refreshed_at")
    search_fields = ("key",)
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
