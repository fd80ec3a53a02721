from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from posdesk.accounts.models import ApiToken, Organisation, Team, User
from posdesk.audit.admin import AuditedModelAdmin


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    list_display = ("username", "display_name", "role", "organisation", "is_active")
    list_filter = ("role", "organisation", "is_active")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("posdesk", {"fields": ("role", "organisation", "display_name", "mobile")}))


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "kind", "is_active")


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "organisation", "supervisor")
    filter_horizontal = ("members",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "digest", "created_at", "last_used_at")
