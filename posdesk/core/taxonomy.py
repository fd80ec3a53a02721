"""The fixed taxonomy of SPEC §3–4: codes never change, labels are translated."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_MERCHANT = "waiting_merchant", _("Waiting for merchant")
    ONSITE_SCHEDULED = "onsite_scheduled", _("On-site visit scheduled")
    ONSITE_IN_PROGRESS = "onsite_in_progress", _("On-site repair in progress")
    PENDING_ACCEPTANCE = "pending_acceptance", _("Waiting for merchant confirmation")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = frozenset(
    {
        Status.NEW, Status.TRIAGED, Status.IN_PROGRESS, Status.WAITING_MERCHANT,
        Status.ONSITE_SCHEDULED, Status.ONSITE_IN_PROGRESS, Status.PENDING_ACCEPTANCE,
    }
)
FINAL_STATUSES = frozenset({Status.CLOSED, Status.CANCELLED})


class Category(models.TextChoices):
    HARDWARE = "hardware", _("Hardware fault")
    SOFTWARE = "software", _("Software and system")
    NETWORK = "network", _("Network and communication")
    TRANSACTION = "transaction", _("Transaction problem")
    SETTLEMENT = "settlement", _("Settlement and funds")
    FEES = "fees", _("Rates and fees")
    ACCOUNT = "account", _("Merchant account")
    INSTALLATION = "installation", _("Install, move or remove")
    CONSULTATION = "consultation", _("Consultation")
    SERVICE_COMPLAINT = "service_complaint", _("Service complaint")


class Priority(models.TextChoices):
    P1 = "P1", _("P1 · cannot take payments / money at risk")
    P2 = "P2", _("P2 · degraded")
    P3 = "P3", _("P3 · request or question")
    P4 = "P4", _("P4 · suggestion or small question")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Merchant portal")
    API = "api", _("API")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    CONSOLE = "console", _("Agent console")
