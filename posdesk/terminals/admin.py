from django.contrib import admin

from posdesk.audit.admin import AuditedModelAdmin
from posdesk.terminals.models import Terminal, TerminalModel


@admin.register(TerminalModel)
class TerminalModelAdmin(AuditedModelAdmin):
    list_display = ("code", "manufacturer", "name", "kind")


@admin.register(Terminal)
class TerminalAdmin(AuditedModelAdmin):
    list_display = ("sn", "tid", "model", "merchant", "firmware", "status", "warranty_end")
    list_filter = ("status", "model")
    search_fields = ("sn", "tid", "merchant__mid")
    raw_id_fields = ("merchant",)
