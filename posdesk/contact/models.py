"""What the contact gate (C4) reads and writes: each merchant's wishes (do-not-disturb, opt-outs,
marketing consent with when and how it was given), the admin's rules, and the log of every
decision — which is also the merchant's contact history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.contact.decision import Outcome, Purpose, Reason


class ContactChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone")


class ContactPurpose(models.TextChoices):
    SERVICE_REPLY = Purpose.SERVICE_REPLY.value, _("Service reply")
    SERVICE_FOLLOW_UP = Purpose.SERVICE_FOLLOW_UP.value, _("Service follow-up")
    INCIDENT_NOTICE = Purpose.INCIDENT_NOTICE.value, _("Incident notice")
    SURVEY = Purpose.SURVEY.value, _("Satisfaction survey")
    MARKETING = Purpose.MARKETING.value, _("Marketing")


class ContactSource(models.TextChoices):
    """How a wish or a consent reached us."""

    PORTAL = "portal", _("Merchant portal")
    SMS_REPLY = "sms_reply", _("SMS reply (TD / 退订)")
    WECHAT = "wechat", _("WeChat")
    PHONE = "phone", _("Phone call (agent)")
    PAPER_FORM = "paper_form", _("Signed form")
    EMAIL = "email", _("E-mail")
    ADMIN = "admin", _("Administrator")


class ContactProfile(models.Model):
    """One row per merchant: do-not-disturb and when the merchant last wrote to us (a reply within
    the reply window is always allowed)."""

    merchant = models.OneToOneField("merchants.Merchant", on_delete=models.CASCADE, primary_key=True,
                                    related_name="contact_profile")
    do_not_disturb = models.BooleanField(_("do not disturb"), default=False)
    do_not_disturb_since = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_inbound_channel = models.CharField(max_length=12, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact profile")
        verbose_name_plural = _("contact profiles")

    def __str__(self) -> str:
        return f"contact profile of merchant {self.merchant_id}"


class ContactOptOut(models.Model):
    """The merchant refused a channel for a purpose; an empty purpose refuses every purpose but
    service replies and incident notices on that channel."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="contact_opt_outs")
    channel = models.CharField(_("channel"), max_length=12, choices=ContactChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=24, choices=ContactPurpose.choices, blank=True)
    source = models.CharField(_("how"), max_length=12, choices=ContactSource.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("since"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        constraints = [models.UniqueConstraint(fields=["merchant", "channel", "purpose"], name="contact_opt_out_once")]

    def __str__(self) -> str:
        return f"{self.merchant_id}: no {self.purpose or 'contact'} by {self.channel}"


class MarketingConsent(models.Model):
    """Recorded consent to marketing on a channel: when, how, and the evidence (MIIT Order 31)."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="marketing_consents")
    channel = models.CharField(_("channel"), max_length=12, choices=ContactChannel.choices)
    given_at = models.DateTimeField(_("given at"))
    how = models.CharField(_("how"), max_length=12, choices=ContactSource.choices)
    evidence = models.CharField(_("evidence"), max_length=300, blank=True,
                                help_text=_("Form number, call recording, message id …"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_how = models.CharField(max_length=12, choices=ContactSource.choices, blank=True)

    class Meta:
        verbose_name = _("marketing consent")
        verbose_name_plural = _("marketing consents")
        constraints = [
            models.UniqueConstraint(fields=["merchant", "channel"], condition=models.Q(withdrawn_at__isnull=True),
                                    name="marketing_consent_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id}: marketing by {self.channel} since {self.given_at:%Y-%m-%d}"


class ContactRuleSet(models.Model):
    """The admin's contact rules (one row). Caps are rows of their own."""

    quiet_start = models.TimeField(_("quiet hours start"), default="21:00")
    quiet_end = models.TimeField(_("quiet hours end"), default="08:00")
    reply_window_minutes = models.PositiveIntegerField(
        _("reply window (minutes)"), default=60,
        help_text=_("A service reply within this time after the merchant wrote to us goes at any hour (on another channel, unless they refused it)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contact rules")
        verbose_name_plural = _("contact rules")

    def __str__(self) -> str:
        return f"quiet {self.quiet_start:%H:%M}–{self.quiet_end:%H:%M}"


class ContactCap(models.Model):
    """At most `count` contacts of a purpose within `window_hours` (per channel, per ticket)."""

    purpose = models.CharField(_("purpose"), max_length=24, choices=ContactPurpose.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=ContactChannel.choices, blank=True,
                               help_text=_("Empty: every channel together."))
    count = models.PositiveSmallIntegerField(_("at most"))
    window_hours = models.PositiveIntegerField(_("within (hours)"))
    per_ticket = models.BooleanField(_("per ticket"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("contact cap")
        verbose_name_plural = _("contact caps")
        constraints = [
            models.CheckConstraint(condition=models.Q(count__gte=1, window_hours__gte=1), name="contact_cap_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} ≤ {self.count} / {self.window_hours} h"


class ContactDecision(models.Model):
    """Every decision the gate made, allowed or not. Allowed ones are the merchant's contact history."""

    merchant = models.ForeignKey("merchants.Merchant", null=True, blank=True, db_index=False,  # decision idx
                                 on_delete=models.SET_NULL, related_name="+")
    ticket_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=12, choices=ContactChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=24, choices=ContactPurpose.choices)
    outcome = models.CharField(_("decision"), max_length=8, choices=[(o.value, o.value) for o in Outcome])
    reason = models.CharField(_("reason"), max_length=24, choices=[(r.value, r.value) for r in Reason])
    until = models.DateTimeField(null=True, blank=True)
    outbox_message_id = models.BigIntegerField(null=True, blank=True)
    # the contact really went (a message handed to the outbox, a call made): what caps count
    contacted = models.BooleanField(default=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    decided_at = models.DateTimeField(_("decided at"))

    class Meta:
        verbose_name = _("contact decision")
        verbose_name_plural = _("contact decisions")
        indexes = [models.Index(fields=["merchant", "decided_at"], name="contact_decision_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {self.outcome} ({self.reason})"
