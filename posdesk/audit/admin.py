from django.contrib import admin

from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record


class AuditedModelAdmin(admin.ModelAdmin):
    """Admin edits are changes like any other: each save and delete writes an audit entry."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data
                   if name not in ("password", "password1", "password2")}
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.UPDATE if change else AuditEntry.Action.CREATE,
            target=obj,
            summary=f"admin: {obj}",
            changes=changed,
        )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action=AuditEntry.Action.DELETE, target=obj, summary=f"admin: {obj}")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(actor=request.user, action=AuditEntry.Action.DELETE, target=obj, summary=f"admin: {obj}")
        super().delete_queryset(request, queryset)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id", "summary")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "summary")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):  # append-only: written by services
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
