"""The channels in the admin: the refused inbound calls, read-only and for administrators only —
who knocked on which webhook, why they were refused and what they were answered."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from posdesk.accounts.models import Role
from posdesk.channels.models import RejectedInbound


@admin.register(RejectedInbound)
class RejectedInboundAdmin(admin.ModelAdmin):
    list_display = ("received_at", "channel", "reason", "code", "status", "remote_addr", "body_bytes")
    list_filter = ("channel", "reason")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-pk")
    readonly_fields = [field.name for field in RejectedInbound._meta.fields]
    show_full_result_count = False  # a flood leaves many rows: no COUNT(*) of them all on every page

    @staticmethod
    def _administrator(request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "role", None) == Role.ADMIN)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: RejectedInbound | None = None) -> bool:
        return self._administrator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:  # written only by the webhooks
        return False

    def has_change_permission(self, request: HttpRequest, obj: RejectedInbound | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RejectedInbound | None = None) -> bool:
        return False  # the retention purge forgets them
