from django.db import models
from django.utils.translation import gettext_lazy as _


class TerminalModel(models.Model):
    class Kind(models.TextChoices):
        TRADITIONAL = "traditional", _("Traditional POS")
        SMART = "smart", _("Smart POS")
        MPOS = "mpos", _("mPOS")
        QR = "qr", _("QR code box")

    code = models.SlugField(max_length=40, unique=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=60)
    name = models.CharField(_("model"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    has_printer = models.BooleanField(default=True)
    supports_contactless = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("terminal model")
        verbose_name_plural = _("terminal models")
        ordering = ["manufacturer", "name"]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.name}"


class Terminal(models.Model):
    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        ACTIVE = "active", _("In service")
        FAULTY = "faulty", _("Faulty")
        IN_REPAIR = "in_repair", _("In repair")
        RETIRED = "retired", _("Retired")

    sn = models.CharField(_("serial number (SN)"), max_length=32, unique=True)
    tid = models.CharField(_("terminal number (TID)"), max_length=8, null=True, blank=True, unique=True)
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="terminals",
    )
    model = models.ForeignKey(TerminalModel, verbose_name=_("model"), on_delete=models.PROTECT,
                              related_name="terminals")
    firmware = models.CharField(_("firmware"), max_length=40, blank=True)
    sim_iccid = models.CharField(_("SIM ICCID"), max_length=22, blank=True)
    sim_carrier = models.CharField(_("SIM carrier"), max_length=20, blank=True)
    install_date = models.DateField(_("install date"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self) -> str:
        return self.sn

    def in_warranty(self, on_date) -> bool:
        return bool(self.warranty_end and on_date <= self.warranty_end)
