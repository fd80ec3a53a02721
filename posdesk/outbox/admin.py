from django.contrib import admin, messages
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from posdesk.core.masking import mask_email, mask_mobile, mask_text
from posdesk.outbox.models import OutboxMessage
from posdesk.outbox.services import outbox_retry_dead


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    # the last error is what an administrator reads before retrying a dead letter
    list_display = ("created_at", "channel", "purpose", "masked_recipient", "status", "attempts", "short_error",
                    "ticket_id")
    list_filter = ("status", "channel", "purpose")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj: OutboxMessage) -> str:
        if obj.channel == OutboxMessage.Channel.SMS:
            return mask_mobile(obj.recipient)
        if obj.channel == OutboxMessage.Channel.EMAIL:
            return mask_email(obj.recipient)
        return f"{obj.recipient[:3]}***" if obj.recipient else ""  # a WeChat openid is personal data too

    @admin.display(description=_("last error"))
    def short_error(self, obj: OutboxMessage) -> str:
        return Truncator(mask_text(obj.last_error)).chars(80)

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
