"""Writes of the knowledge base: articles (every save keeps the previous version, refreshes the
search index in the same transaction and links the article's response codes), reviews, and
deflections (a merchant helped without an agent)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from pypinyin import lazy_pinyin

from posdesk.audit.models import AuditEntry
from posdesk.audit.services import audit_record
from posdesk.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from posdesk.core.taxonomy import Category
from posdesk.knowledge import search
from posdesk.knowledge.models import (
    ANSWER_MAX_LENGTH,
    Article,
    ArticleStatus,
    ArticleVersion,
    Audience,
    Deflection,
    ResponseCode,
)
from posdesk.terminals.models import TerminalModel

CODE_RE = re.compile(r"^[0-9A-Z]{2}$")
VERSIONED_FIELDS = (
    "title",
    "summary",
    "category",
    "symptoms",
    "steps",
    "body",
    "response_codes",
    "audience",
    "status",
    "known_fix",
    "self_service_answer",
)
EDITOR_ROLES = {"supervisor", "admin"}
RESERVED_SLUGS = {"report"}  # console/kb/report/ is a page, not an article


@dataclass
class ArticleData:
    title: str
    category: str
    slug: str = ""
    summary: str = ""
    symptoms: str = ""
    steps: str = ""
    body: str = ""
    response_codes: str = ""
    audience: str = Audience.MERCHANT
    status: str = ArticleStatus.DRAFT
    known_fix: bool = False
    self_service_answer: str = ""
    terminal_model_ids: list[int] = field(default_factory=list)
    review_due_on: object = None  # a date, or None for "in KNOWLEDGE_REVIEW_DAYS"


def _review_due():
    return timezone.localdate() + timedelta(days=settings.KNOWLEDGE_REVIEW_DAYS)


def _clean(data: ArticleData) -> ArticleData:
    data.title = " ".join(data.title.split())
    if not data.title:
        raise field_error("title", _("This field is required."), code="title_required")
    if len(data.title) > 120:
        raise field_error("title", _("At most 120 characters."), code="title_too_long")
    if data.category not in Category.values:
        raise field_error("category", _("Unknown category."), code="invalid_category")
    if data.audience not in Audience.values:
        raise field_error(
            "audience", _("Unknown value: %(values)s") % {"values": data.audience}, code="invalid_audience"
        )
    if data.status not in ArticleStatus.values:
        raise field_error(
            "status", _("Unknown value: %(values)s") % {"values": data.status}, code="invalid_status"
        )
    codes = data.response_codes.upper().replace(",", " ").replace("，", " ").split()
    bad = [code for code in codes if not CODE_RE.match(code)]
    if bad:
        raise field_error(
            "response_codes",
            _("Not a response code: %(codes)s") % {"codes": ", ".join(bad)},
            code="invalid_response_code",
        )
    data.response_codes = " ".join(dict.fromkeys(codes))
    data.self_service_answer = " ".join(data.self_service_answer.split())
    if len(data.self_service_answer) > ANSWER_MAX_LENGTH:
        raise field_error("self_service_answer", _("At most 300 characters."), code="answer_too_long")
    if data.known_fix and not data.self_service_answer:
        raise field_error(
            "self_service_answer",
            _("A known fix needs its short self-service answer."),
            code="answer_required",
        )
    if data.known_fix and data.audience != Audience.MERCHANT:
        raise field_error(
            "known_fix",
            _("Only a merchant-facing article can be sent to merchants as a known fix."),
            code="known_fix_internal",
        )
    data.slug = slugify(data.slug or "", allow_unicode=False)[:80]
    if data.slug in RESERVED_SLUGS:
        raise field_error("slug", _("This slug is taken."), code="slug_taken")
    return data


def article_data_check(data: ArticleData) -> ArticleData:
    """Validate and normalise `data` as a save would (for forms that show errors beside fields)."""
    data = _clean(data)
    _models(data.terminal_model_ids)
    return data


def _check_editor(actor) -> None:  # noqa: ANN001
    if getattr(actor, "role", None) not in EDITOR_ROLES:
        raise PermissionDenied(
            _("Only supervisors and admins edit articles."), code="article_edit_not_allowed"
        )


def _slug_for(data: ArticleData) -> str:
    base = data.slug or slugify(" ".join(lazy_pinyin(data.title))) or f"{data.category}-article"
    slug, n = base[:72], 2
    while slug in RESERVED_SLUGS or Article.objects.filter(slug=slug).exists():
        slug = f"{base[:72]}-{n}"
        n += 1
    return slug


def _link_response_codes(article: Article) -> None:
    """Each listed code points to this article unless a published article already claims it; codes
    this article no longer lists are released."""
    listed = set(article.code_list)
    ResponseCode.objects.filter(article=article).exclude(code__in=listed).update(article=None)
    if article.status != ArticleStatus.PUBLISHED:
        ResponseCode.objects.filter(article=article).update(article=None)
        return
    for entry in ResponseCode.objects.filter(code__in=listed).select_related("article"):
        current = entry.article
        claimed = (
            current is not None
            and current.status == ArticleStatus.PUBLISHED
            and (entry.code in current.code_list)
        )
        if entry.article_id != article.pk and not claimed:
            entry.article = article
            entry.save(update_fields=["article"])


def _models(ids: list[int]) -> list[TerminalModel]:
    models = list(TerminalModel.objects.filter(pk__in=ids))
    if len(models) != len(set(ids)):
        raise field_error("terminal_models", _("Unknown terminal model."), code="invalid_terminal_model")
    return models


@transaction.atomic
def article_create(*, actor, data: ArticleData) -> Article:  # noqa: ANN001
    _check_editor(actor)
    data = _clean(data)
    models = _models(data.terminal_model_ids)
    values = {name: getattr(data, name) for name in VERSIONED_FIELDS}
    article = Article(
        slug=_slug_for(data), review_due_on=data.review_due_on or _review_due(), updated_by=actor, **values
    )
    try:
        with transaction.atomic():
            article.save()
    except IntegrityError as exc:
        raise field_error("slug", _("This slug is taken."), code="slug_taken") from exc
    article.terminal_models.set(models)
    _link_response_codes(article)
    search.article_index([article])
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, target=article, summary=article.title)
    return article


def _locked_at_version(article_id: int, based_on_version: int) -> Article:
    article = Article.objects.select_for_update().filter(pk=article_id).first()
    if article is None:
        raise NotFound(_("No such article."), code="article_not_found")
    if article.version != based_on_version:
        raise Conflict(
            _(
                "Someone else saved this article while you were editing it (it is now version %(version)d; "
                "you started from version %(based_on)d). Your changes were not saved: open the article again "
                "and redo them."
            )
            % {"version": article.version, "based_on": based_on_version},
            code="article_changed",
            detail={"field": "version", "version": article.version, "based_on_version": based_on_version},
        )
    return article


@transaction.atomic
def article_version_check(*, article_id: int, based_on_version: int) -> Article:
    """The article, row-locked until the caller's transaction ends, if it is still at the version an
    editor started from; Conflict if someone saved it since (for a form to show before saving)."""
    return _locked_at_version(article_id, based_on_version)


@transaction.atomic
def article_update(*, actor, article_id: int, data: ArticleData, based_on_version: int) -> Article:  # noqa: ANN001
    """Saves the article as it was into its history (one ArticleVersion per save), then the new text.
    Optimistic concurrency: `based_on_version` is the version the editor started from; if another
    save came in between, nothing is changed and Conflict says so — never a silent lost edit."""
    _check_editor(actor)
    data = _clean(data)
    article = _locked_at_version(article_id, based_on_version)
    models = _models(data.terminal_model_ids)
    before = {name: getattr(article, name) for name in VERSIONED_FIELDS}
    new_models = sorted(m.pk for m in models)
    old_models = sorted(article.terminal_models.values_list("pk", flat=True))
    if data.slug and data.slug != article.slug and Article.objects.filter(slug=data.slug).exists():
        raise field_error("slug", _("This slug is taken."), code="slug_taken")
    changed = [name for name in VERSIONED_FIELDS if before[name] != getattr(data, name)]
    if (
        not changed
        and new_models == old_models
        and (not data.slug or data.slug == article.slug)
        and (data.review_due_on in (None, article.review_due_on))
    ):
        return article  # nothing new: no empty version
    ArticleVersion.objects.create(
        article=article,
        version=article.version,
        edited_by=article.updated_by,
        saved_at=article.updated_at,
        **before,
    )
    for name in VERSIONED_FIELDS:
        setattr(article, name, getattr(data, name))
    if data.slug:
        article.slug = data.slug
    if data.review_due_on:
        article.review_due_on = data.review_due_on
    article.version += 1
    article.updated_by = actor
    try:
        with transaction.atomic():  # a concurrent save may take the slug after the check above
            article.save()
    except IntegrityError as exc:
        raise field_error("slug", _("This slug is taken."), code="slug_taken") from exc
    article.terminal_models.set(models)
    _link_response_codes(article)
    search.article_index([article])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        target=article,
        summary=f"v{article.version}",
        changes={name: [str(before[name])[:80], str(getattr(article, name))[:80]] for name in changed},
    )
    return article


@transaction.atomic
def article_review_mark(*, actor, article_id: int) -> Article:  # noqa: ANN001
    """The article was checked and is still right: the next review is due in KNOWLEDGE_REVIEW_DAYS."""
    _check_editor(actor)
    article = Article.objects.select_for_update().filter(pk=article_id).first()
    if article is None:
        raise NotFound(_("No such article."), code="article_not_found")
    article.reviewed_at = timezone.now()
    article.review_due_on = _review_due()
    article.save(update_fields=["reviewed_at", "review_due_on"])
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, target=article, summary="reviewed")
    return article


def article_data_from(article: Article) -> ArticleData:
    values = {name: getattr(article, name) for name in VERSIONED_FIELDS}
    return ArticleData(
        slug=article.slug,
        terminal_model_ids=list(article.terminal_models.values_list("pk", flat=True)),
        **values,
    )


def deflection_record(
    *,
    kind: str,
    ticket_id: int | None = None,
    article_id: int | None = None,
    merchant_id: int | None = None,
) -> None:
    """Count a merchant helped without an agent: `portal_article` (found the answer while typing a
    report and did not send it) or `self_service` (a self-service answer solved a ticket; counted
    once per ticket)."""
    if kind not in Deflection.Kind.values:
        raise ValidationFailed(_("Unknown deflection kind."), code="invalid_deflection_kind")
    if kind == Deflection.Kind.SELF_SERVICE and ticket_id is None:
        raise ValidationFailed(
            _("A self-service deflection names its ticket."), code="deflection_ticket_required"
        )
    row = Deflection(
        kind=kind,
        ticket_id=ticket_id,
        article_id=article_id,
        merchant_id=merchant_id,
        created_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        if kind != Deflection.Kind.SELF_SERVICE:
            raise  # only the once-per-ticket rule may refuse a row; anything else is a real error
