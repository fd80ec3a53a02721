from django.contrib import admin

from posdesk.audit.admin import AuditedModelAdmin
from posdesk.merchants.models import District, Merchant, MerchantContact


class ContactInline(admin.TabularInline):
    model = MerchantContact
    extra = 0
    fields = ("name", "mobile", "email", "wechat_openid", "is_primary")


@admin.register(Merchant)
class MerchantAdmin(AuditedModelAdmin):
    list_display = ("mid", "name", "district", "tier", "status")
    list_filter = ("tier", "status", "district")
    search_fields = ("mid", "name")
    inlines = [ContactInline]


@admin.register(District)
class DistrictAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "name_en", "city")
