"""What the channels bring in: every inbound message stored before it is acknowledged, the WeChat
followers bound to merchants, the call log and the callback tasks of missed calls."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.contact.models import ContactChannel
from posdesk.core.masking import mask_mobile


class InboundMessage(models.Model):
    """One message as the channel delivered it, kept before we answer the channel, so nothing
    accepted is lost. `provider_id` (Message-ID, MsgId, SMS sequence id, call id) is unique per
    channel: a redelivery finds the stored message instead of opening a second ticket."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Added to a ticket")
        IGNORED = "ignored", _("Ignored (auto-reply, bounce, event)")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    provider_id = models.CharField(_("provider's id"), max_length=255)
    sender = models.CharField(_("sender"), max_length=255, blank=True)  # address, openid or mobile
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"), blank=True)
    payload = models.BinaryField(_("raw message"))
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="inbound_messages")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    note = models.CharField(_("note"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"))
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints = [models.UniqueConstraint(fields=["channel", "provider_id"], name="inbound_once_per_provider_id")]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_id[:40]} ({self.status})"


class CallRecord(models.Model):
    """One call, as the call centre reports its events, or as an agent logs an outbound call."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    class State(models.TextChoices):
        RINGING = "ringing", _("Ringing")
        ANSWERED = "answered", _("Answered")
        ENDED = "ended", _("Ended")
        MISSED = "missed", _("Missed")
        ABANDONED = "abandoned", _("Abandoned in the queue")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        BUSY = "busy", _("Busy")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        VOICEMAIL = "voicemail", _("Left a message")

    call_id = models.CharField(_("call id"), max_length=100, unique=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    mobile = models.CharField(_("number"), max_length=20)
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="calls")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="calls")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    started_at = models.DateTimeField(_("started"))
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [models.Index(fields=["merchant", "-started_at"], name="call_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.direction} {mask_mobile(self.mobile)} ({self.state})"

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)

    @property
    def duration_seconds(self) -> int | None:
        if self.answered_at and self.ended_at:
            return int((self.ended_at - self.answered_at).total_seconds())
        return None


class CallbackTask(models.Model):
    """A missed or abandoned call to return, with its own service standard; agents work the
    callback queue like tickets. A callback is an outbound contact: it reaches the queue through
    the contact gate and the outbox (channels/phone/callbacks.py), and waits `held` while the
    gate defers it."""

    class Status(models.TextChoices):
        HELD = "held", _("Held by the contact rules")
        OPEN = "open", _("To call back")
        DONE = "done", _("Called back")
        CANCELLED = "cancelled", _("No longer needed")

    class Source(models.TextChoices):
        MISSED_CALL = "missed_call", _("Missed call")
        ABANDONED_CALL = "abandoned_call", _("Abandoned in the queue")
        REQUESTED = "requested", _("Requested by the merchant")

    # the call to return; none when the merchant asked for a callback (portal, WeChat)
    call = models.OneToOneField(CallRecord, null=True, blank=True, on_delete=models.CASCADE, related_name="callback")
    source = models.CharField(_("why"), max_length=16, choices=Source.choices, default=Source.MISSED_CALL)
    mobile = models.CharField(_("number"), max_length=20)
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField(_("call back by"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("created"))
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=CallRecord.Outcome.choices, blank=True)
    # the phone message in the outbox that puts the next call in the queue (its backend releases a
    # held callback); referenced by id: the outbox sits below the channels
    outbox_message_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        indexes = [models.Index(fields=["status", "due_at"], name="callback_queue_idx")]

    def __str__(self) -> str:
        return f"callback {mask_mobile(self.mobile)} by {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)


class WeChatBinding(models.Model):
    """A WeChat follower (openid) on the way to being, or already, a merchant's contact: they send
    their MID or mobile, we text a one-time code to the merchant's registered mobile, they send the
    code back in WeChat, and the contact's openid is set. A follower who runs several shops binds
    each the same way; `merchant` and `contact` are the binding in progress."""

    openid = models.CharField(max_length=64, unique=True)
    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    contact = models.ForeignKey("merchants.MerchantContact", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    code_digest = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    bound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    # where a report that names no MID, SN or TID goes when the follower has several merchants: the
    # one they bound, reported for or switched to (by sending its MID) last
    current_merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+", verbose_name=_("current merchant"))

    class Meta:
        verbose_name = _("WeChat binding")
        verbose_name_plural = _("WeChat bindings")

    def __str__(self) -> str:
        return f"wechat {self.openid[:6]}… → {self.merchant_id or '?'}"


class RejectedInbound(models.Model):
    """One inbound call a channel refused (forged or stale signature, malformed or oversized body,
    not our account), kept so an admin can see who knocks and why. Nothing else of the call is kept
    — no InboundMessage, no ticket — and nothing in clear that could be personal data: a digest of
    the body, its size and, for malformed bodies only, a short masked excerpt. Purged after
    POSDESK_REJECTED_INBOUND_RETENTION_DAYS."""

    class Reason(models.TextChoices):
        BAD_SIGNATURE = "bad_signature", _("Missing or forged signature")
        STALE_TIMESTAMP = "stale_timestamp", _("Stale timestamp (replay)")
        MALFORMED_BODY = "malformed_body", _("Malformed body (XML, JSON or MIME)")
        OVERSIZED = "oversized", _("Body too large")
        UNKNOWN_ACCOUNT = "unknown_account", _("Not addressed to our account")

    channel = models.CharField(_("channel"), max_length=10, choices=ContactChannel.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # the channel's own refusal code (bad_padding, not_a_list, missing_field …): ours, not the sender's
    code = models.CharField(_("refusal code"), max_length=40, blank=True)
    # none for e-mail, which is not answered
    status = models.PositiveSmallIntegerField(_("HTTP status answered"), null=True, blank=True)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"))
    body_bytes = models.PositiveIntegerField(_("body size (bytes)"), default=0)
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64, blank=True)  # empty: never read
    excerpt = models.CharField(_("masked excerpt"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("rejected inbound call")
        verbose_name_plural = _("rejected inbound calls")
        indexes = [models.Index(fields=["received_at"], name="rejected_inbound_received_idx")]

    def __str__(self) -> str:
        return f"{self.channel} {self.reason} {self.received_at:%Y-%m-%d %H:%M:%S}"
