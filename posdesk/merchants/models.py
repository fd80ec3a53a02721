from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.core.masking import mask_email, mask_mobile


class District(models.Model):
    """An urban district (区) with its approximate centre, for routing and regional reports."""

    code = models.SlugField(max_length=40, unique=True)
    city = models.CharField(max_length=40, default="杭州市")
    name_zh = models.CharField(max_length=40)
    name_en = models.CharField(max_length=40)
    center_lat = models.DecimalField(max_digits=9, decimal_places=6)
    center_lng = models.DecimalField(max_digits=9, decimal_places=6)

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name_zh


class Merchant(models.Model):
    class Tier(models.TextChoices):
        KEY = "key", _("Key account")
        STANDARD = "standard", _("Standard")
        SMALL = "small", _("Micro and small")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    mid = models.CharField(_("merchant number (MID)"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=120)
    tier = models.CharField(_("tier"), max_length=12, choices=Tier.choices, default=Tier.STANDARD)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    district = models.ForeignKey(
        District, verbose_name=_("district"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="merchants",
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        indexes = [models.Index(fields=["district", "name"], name="merchant_district_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.mid})"


class MerchantContact(models.Model):
    """A person who may report faults for the merchant. `user` is set when they first sign in to
    the portal; the portal shows a merchant user the merchants of all their contacts."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=60)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    wechat_openid = models.CharField(_("WeChat openid"), max_length=64, blank=True, db_index=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="merchant_contacts",
    )

    class Meta:
        verbose_name = _("merchant contact")
        verbose_name_plural = _("merchant contacts")
        indexes = [models.Index(fields=["user", "merchant"], name="contact_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} {self.masked_mobile}"

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)

    @property
    def masked_email(self) -> str:
        return mask_email(self.email)
