"""What triage decided about a ticket, what agents corrected, and the self-service answers given.

One `TriageRecord` per ticket: its existence is what makes the intake pipeline idempotent (a
ticket with a record is never triaged again); its `followups_done_at` says the steps after the
triage commit (search index, incident detector, self-service answer) ran — until then the minute
sweep runs them again. Corrections are kept row by row (who, when, from →
to) because they are the training data of the next model (`triage_corrections_for_training`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.core.taxonomy import Category, Priority


class TriageRecord(models.Model):
    ticket = models.OneToOneField(
        "tickets.Ticket", verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="triage_record"
    )
    # what the classifier suggested (the ticket's own fields may differ after an agent's correction)
    category = models.CharField(_("suggested category"), max_length=20, choices=Category.choices)
    priority = models.CharField(_("suggested priority"), max_length=2, choices=Priority.choices)
    category_confidence = models.FloatField(_("category confidence"), default=0.0)
    priority_confidence = models.FloatField(_("priority confidence"), default=0.0)
    confidence = models.FloatField(_("confidence"), default=0.0)
    # {"sn": [...], "tid": [...], "mid": [...], "response_code": [...], "phone": [...], "amount": [...]}
    entities = models.JSONField(_("entities"), default=dict, blank=True)
    suggested_article_ids = models.JSONField(_("suggested articles"), default=list, blank=True)
    possible_duplicate = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("possible duplicate of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    duplicate_score = models.FloatField(default=0.0)
    # what the pipeline changed on the ticket: {"category": [from, to], "merchant": id, "terminal": id}
    applied = models.JSONField(default=dict, blank=True)
    model_version = models.CharField(_("model version"), max_length=60, blank=True)
    triaged_at = models.DateTimeField(_("triaged"))
    # null: written, but the follow-ups after the commit have not all run yet (a worker died between)
    followups_done_at = models.DateTimeField(_("follow-ups done"), null=True, blank=True)

    class Meta:
        verbose_name = _("triage record")
        verbose_name_plural = _("triage records")
        indexes = [
            models.Index(fields=["-triaged_at"], name="triage_record_at_idx"),
            # the sweep's read of records whose follow-ups are owed: a few rows, never the table
            models.Index(
                fields=["triaged_at"],
                name="triage_followups_owed_idx",
                condition=models.Q(followups_done_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"triage of ticket {self.ticket_id}"


class TriageCorrection(models.Model):
    """An agent's correction of the category or the priority triage gave a ticket."""

    class Field(models.TextChoices):
        CATEGORY = "category", _("Category")
        PRIORITY = "priority", _("Priority")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="triage_corrections")
    field = models.CharField(max_length=10, choices=Field.choices)
    from_value = models.CharField(max_length=20)
    to_value = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("triage correction")
        verbose_name_plural = _("triage corrections")
        indexes = [
            models.Index(fields=["ticket", "field", "-created_at"], name="triage_correction_ticket_idx"),
            models.Index(fields=["-created_at"], name="triage_correction_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.from_value} → {self.to_value}"


class SelfServiceAnswer(models.Model):
    """An answer the system gave a merchant at once, and whether it solved their problem. One per
    ticket at most: the unique ticket is what makes the offer exactly-once under concurrent runs."""

    class Source(models.TextChoices):
        RESPONSE_CODE = "response_code", _("Response code")
        ARTICLE = "article", _("Knowledge article")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for the merchant")
        SOLVED = "solved", _("Solved")
        NOT_SOLVED = "not_solved", _("Not solved")

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="self_service_answer"
    )
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10)
    source = models.CharField(max_length=20, choices=Source.choices)
    response_code = models.CharField(max_length=4, blank=True)
    article_id = models.PositiveIntegerField(null=True, blank=True)
    answer = models.TextField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING)
    offered_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("self-service answer")
        verbose_name_plural = _("self-service answers")
        indexes = [models.Index(fields=["outcome", "-offered_at"], name="self_service_outcome_idx")]

    def __str__(self) -> str:
        return f"self-service answer on ticket {self.ticket_id}: {self.outcome}"
