from django.contrib import admin, messages

from posdesk.core.masking import mask_mobile
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_retry_dead


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "purpose", "masked_recipient", "status", "attempts", "ticket_id")
    list_filter = ("status", "channel", "purpose")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    @admin.display(description="recipient")
    def masked_recipient(self, obj: OutboxMessage) -> str:
        return mask_mobile(obj.recipient) if obj.channel == "sms" else obj.recipient

    @admin.action(description="Retry dead letters")
    def retry(self, request, queryset):
        for message in queryset.filter(status=OutboxMessage.Status.DEAD):
            outbox_retry_dead(message=message)
        self.message_user(request, "queued", messages.SUCCESS)

    def has_add_permission(self, request):
        return False
