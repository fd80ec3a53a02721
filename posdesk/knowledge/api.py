"""Knowledge API: articles (merchants see published merchant-facing ones only) and the response-code
reference. Read-only: articles are written in the admin editor."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from posdesk.core.api import ERRORS
from posdesk.core.errors import NotFound, field_error
from posdesk.core.taxonomy import Category
from posdesk.knowledge import selectors
from posdesk.knowledge.models import Article
from posdesk.knowledge.rendering import render_markdown

router = Router(tags=["knowledge"])


class ArticleListItemOut(Schema):
    slug: str
    title: str
    summary: str
    category: str
    audience: str
    known_fix: bool
    terminal_models: list[str]
    response_codes: list[str]


class ArticleOut(ArticleListItemOut):
    symptoms: list[str]
    steps_html: str = Field(description="The steps, rendered from Markdown and sanitised (an allow-list).")
    body_html: str = Field(description="The details, rendered from Markdown and sanitised.")
    self_service_answer: str = Field(description="Plain text, ≤ 300 characters; only for known fixes.")
    version: int
    updated_at: datetime


class ResponseCodeOut(Schema):
    code: str
    meaning: str
    kind: str = Field(description="Who must act: issuer, acquirer, terminal, network, operation or success.")
    remedy: str
    terminal_fault: bool
    article_slug: str | None


def _item(article: Article) -> dict:
    return {
        "slug": article.slug, "title": article.title, "summary": article.summary, "category": article.category,
        "audience": article.audience, "known_fix": article.known_fix,
        "terminal_models": [m.code for m in article.terminal_models.all()], "response_codes": article.code_list,
    }


@router.get(
    "/articles", response={200: list[ArticleListItemOut], **ERRORS}, summary="Search knowledge articles",
    description=(
        "Articles the caller may read, best match first when `q` is given (Chinese words, pinyin-typo "
        "tolerant; English and model names too), else by category and title. `category` is a SPEC §4 code; "
        "`model` a terminal model code (articles for that model and those for every model). Merchants see "
        "published merchant-facing articles only; staff also internal ones."
    ),
)
def article_list(
    request: HttpRequest, q: str = Query("", max_length=200), category: str = "", model: str = Query("", max_length=40),
    limit: int = Query(20, ge=1, le=50),
) -> list[dict]:
    if category and category not in Category.values:
        raise field_error("category", _("Unknown category."), code="invalid_category")
    scope = selectors.article_scope_for_user(request.auth)
    return [_item(a) for a in selectors.article_list(scope=scope, q=q, category=category, model=model, limit=limit)]


@router.get(
    "/articles/{slug}", response={200: ArticleOut, **ERRORS}, summary="Read one knowledge article",
    description="The article with its steps and details as sanitised HTML. 404 when it does not exist or is "
                "not for the caller (an internal article for a merchant).",
)
def article_detail(request: HttpRequest, slug: str) -> dict:
    article = selectors.article_get_for_user(request.auth, slug=slug)
    return {
        **_item(article), "symptoms": article.symptom_list, "steps_html": render_markdown(article.steps),
        "body_html": render_markdown(article.body), "self_service_answer": article.self_service_answer,
        "version": article.version, "updated_at": article.updated_at,
    }


@router.get(
    "/response-codes/{code}", response={200: ResponseCodeOut, **ERRORS}, summary="Look up a response code (应答码)",
    description="The meaning of an ISO 8583 field 39 response code as China UnionPay POS terminals show it, who "
                "must act, the merchant's remedy, and the article that explains it (when the caller may read it).",
)
def response_code_detail(request: HttpRequest, code: str) -> dict:
    info = selectors.response_code_lookup(code)
    if info is None:
        raise NotFound(_("No such response code."), code="response_code_not_found")
    slug = None
    if info.article_id is not None:
        slug = selectors.article_scope_for_user(request.auth).filter(pk=info.article_id).values_list(
            "slug", flat=True
        ).first()
    return {
        "code": info.code, "meaning": info.meaning, "kind": info.kind, "remedy": info.remedy,
        "terminal_fault": info.terminal_fault, "article_slug": slug,
    }
