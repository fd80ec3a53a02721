import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


def new_idempotency_key() -> str:
    """A key no other message has, in this database or any earlier one: an id-based key
    (`outbox-42`) comes back after a database is recreated, and a provider that still remembers
    it would answer the new message with the old one's result instead of sending it."""
    return f"posdesk-{uuid.uuid4().hex}"


class OutboxMessage(models.Model):
    """An outbound message, written in the same transaction as the change that caused it and
    delivered by a worker afterwards (transactional outbox, SPEC C3)."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")
        WECHAT = "wechat", _("WeChat")

    class Purpose(models.TextChoices):
        LOGIN_CODE = "login_code", _("Sign-in code")
        SERVICE_REPLY = "service_reply", _("Service reply")
        SERVICE_FOLLOW_UP = "service_follow_up", _("Service follow-up")
        INCIDENT_NOTICE = "incident_notice", _("Incident notice")
        SURVEY = "survey", _("Satisfaction survey")
        MARKETING = "marketing", _("Marketing")
        STAFF_ALERT = "staff_alert", _("Alert to staff")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DEAD = "dead", _("Dead letter")
        WITHHELD = "withheld", _("Withheld by the contact rules")

    channel = models.CharField(max_length=12, choices=Channel.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    recipient = models.CharField(max_length=200)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # extra headers of an e-mail (Message-ID, In-Reply-To, References: the merchant's thread)
    headers = models.JSONField(default=dict, blank=True)
    ticket_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # the merchant a governed contact goes to (C4); referenced by name: outbox sits below merchants
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # deferred by the contact gate: asked again when its time comes, before it is sent
    gate_recheck = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # handed to the provider on every attempt: one that honours it sends a retried message once
    # even when the worker died after the provider accepted it (channels/sms/providers.py)
    idempotency_key = models.CharField(
        max_length=64, unique=True, default=new_idempotency_key, editable=False
    )
    # which provider accepted it ("local", "aliyun" …), then its id for the message and the receipt
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbox")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose} #{self.pk} ({self.status})"
