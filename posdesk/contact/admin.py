from django.contrib import admin

from posdesk.audit.admin import AuditedModelAdmin
from posdesk.contact.models import (
    ContactCap,
    ContactDecision,
    ContactOptOut,
    ContactRuleSet,
    MarketingConsent,
)
from posdesk.contact.selectors import contact_rules_changed


class RulesAdmin(AuditedModelAdmin):
    """Edits take effect at once in this process and within CONTACT_RULES_TTL_SECONDS in the others."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        contact_rules_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        contact_rules_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        contact_rules_changed()


@admin.register(ContactRuleSet)
class ContactRuleSetAdmin(RulesAdmin):
    list_display = ("quiet_start", "quiet_end", "reply_window_minutes", "updated_at")

    def has_add_permission(self, request):  # one set of rules
        return not ContactRuleSet.objects.exists()


@admin.register(ContactCap)
class ContactCapAdmin(RulesAdmin):
    list_display = ("purpose", "channel", "count", "window_hours", "per_ticket", "is_active")
    list_filter = ("purpose", "is_active")


@admin.register(ContactOptOut)
class ContactOptOutAdmin(AuditedModelAdmin):
    list_display = ("merchant", "channel", "purpose", "source", "created_at")
    list_filter = ("channel", "purpose", "source")
    raw_id_fields = ("merchant", "created_by")


@admin.register(MarketingConsent)
class MarketingConsentAdmin(AuditedModelAdmin):
    list_display = ("merchant", "channel", "given_at", "how", "evidence", "withdrawn_at")
    list_filter = ("channel", "how")
    raw_id_fields = ("merchant", "recorded_by")


@admin.register(ContactDecision)
class ContactDecisionAdmin(admin.ModelAdmin):
    """The log: read only."""

    list_display = ("decided_at", "merchant", "ticket_id", "channel", "purpose", "outcome", "reason", "contacted")
    list_filter = ("outcome", "reason", "channel", "purpose")
    date_hierarchy = "decided_at"
    raw_id_fields = ("merchant", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
