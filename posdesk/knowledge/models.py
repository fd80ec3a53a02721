"""Knowledge articles (C5): Markdown, versioned, per category and terminal model, merchant-facing or
internal; the response-code reference (应答码); deflections (a merchant helped without an agent).

The search index is not a model: its tables differ per database (an FTS5 virtual table on SQLite,
a tsvector with a GIN index on PostgreSQL) and are reached only through `knowledge/search.py`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from posdesk.core.taxonomy import Category

ANSWER_MAX_LENGTH = 300  # one SMS of ~4 segments, one WeChat text bubble


class Audience(models.TextChoices):
    MERCHANT = "merchant", _("Merchant-facing")
    INTERNAL = "internal", _("Internal (staff only)")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Article(models.Model):
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    terminal_models = models.ManyToManyField(
        "terminals.TerminalModel", verbose_name=_("terminal models"), blank=True, related_name="articles",
        help_text=_("Leave empty when the article applies to every model."),
    )
    symptoms = models.TextField(
        _("symptoms"), blank=True, help_text=_("What the merchant sees or says, one per line (searched first)."),
    )
    steps = models.TextField(_("steps"), blank=True, help_text=_("What to do, in Markdown (a numbered list)."))
    body = models.TextField(_("details"), blank=True, help_text=_("Causes and background, in Markdown."))
    response_codes = models.CharField(
        _("response codes"), max_length=120, blank=True,
        help_text=_("Response codes this article explains, separated by spaces (e.g. A0 99)."),
    )
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices, default=Audience.MERCHANT)
    status = models.CharField(_("status"), max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    known_fix = models.BooleanField(
        _("known fix"), default=False,
        help_text=_("The merchant can solve this alone: the short answer is sent at once (SMS, WeChat, portal)."),
    )
    self_service_answer = models.CharField(
        _("self-service answer"), max_length=ANSWER_MAX_LENGTH, blank=True,
        help_text=_("Plain text, at most 300 characters, fit for an SMS."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    review_due_on = models.DateField(_("review due on"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("last reviewed at"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("updated by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["category", "title"]
        indexes = [
            models.Index(fields=["status", "audience", "category"], name="article_visible_idx"),
            models.Index(fields=["review_due_on"], name="article_review_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(known_fix=True, self_service_answer=""), name="article_known_fix_has_answer",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def symptom_list(self) -> list[str]:
        return [line.strip() for line in self.symptoms.splitlines() if line.strip()]

    @property
    def code_list(self) -> list[str]:
        return self.response_codes.upper().split()


class ArticleVersion(models.Model):
    """The article as it was before an edit: every save keeps the previous text."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    symptoms = models.TextField(_("symptoms"), blank=True)
    steps = models.TextField(_("steps"), blank=True)
    body = models.TextField(_("details"), blank=True)
    response_codes = models.CharField(_("response codes"), max_length=120, blank=True)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    status = models.CharField(_("status"), max_length=10, choices=ArticleStatus.choices)
    known_fix = models.BooleanField(_("known fix"), default=False)
    self_service_answer = models.CharField(_("self-service answer"), max_length=ANSWER_MAX_LENGTH, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("edited by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    saved_at = models.DateTimeField(_("saved at"))

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-version"]
        constraints = [models.UniqueConstraint(fields=["article", "version"], name="article_version_unique")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class ResponseCode(models.Model):
    """ISO 8583 field 39 response codes as China UnionPay POS terminals show them."""

    class Kind(models.TextChoices):
        SUCCESS = "success", _("Success")
        ISSUER = "issuer", _("Card issuer")
        ACQUIRER = "acquirer", _("Acquirer")
        TERMINAL = "terminal", _("Terminal")
        NETWORK = "network", _("Network")
        OPERATION = "operation", _("Operation")

    code = models.CharField(_("code"), max_length=4, primary_key=True)
    meaning = models.CharField(_("meaning"), max_length=120)
    kind = models.CharField(_("who must act"), max_length=10, choices=Kind.choices)
    remedy = models.CharField(_("remedy for the merchant"), max_length=300)
    terminal_fault = models.BooleanField(_("points to a terminal fault"), default=False)
    article = models.ForeignKey(
        Article, verbose_name=_("article"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="response_code_entries",
    )

    class Meta:
        verbose_name = _("response code")
        verbose_name_plural = _("response codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.meaning}"


class Deflection(models.Model):
    """A merchant helped without an agent's work."""

    class Kind(models.TextChoices):
        PORTAL_ARTICLE = "portal_article", _("Answered by an article while reporting (no ticket)")
        SELF_SERVICE = "self_service", _("Ticket solved by a self-service answer")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", verbose_name=_("ticket"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    article = models.ForeignKey(
        Article, verbose_name=_("article"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deflections",
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", verbose_name=_("merchant"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("when"), db_index=True)

    class Meta:
        verbose_name = _("deflection")
        verbose_name_plural = _("deflections")
        ordering = ["-created_at"]
        constraints = [
            # one self-service deflection per ticket, however often "yes" is pressed
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(kind="self_service"), name="deflection_self_service_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d}"
