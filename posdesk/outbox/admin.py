from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from posdesk.core.masking import mask_mobile
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_retry_dead


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "purpose", "masked_recipient", "status", "attempts", "ticket_id")
    list_filter = ("status", "channel", "purpose")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj: OutboxMessage) -> str:
        return mask_mobile(obj.recipient) if obj.channel == "sms" else obj.recipient

    # the admin reads zh-Hans: the action and its answer are translated, and the answer says how
    # many were queued (selected messages that were not dead letters are left as they are)
    @admin.action(description=_("Retry dead letters"))
    def retry(self, request, queryset):
        dead = list(queryset.filter(status=OutboxMessage.Status.DEAD))
        for message in dead:
            outbox_retry_dead(message=message)
        self.message_user(request, ngettext("%(count)d dead letter queued to be sent again.",
                                            "%(count)d dead letters queued to be sent again.",
                                            len(dead)) % {"count": len(dead)}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False
