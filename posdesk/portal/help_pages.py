"""The portal's help pages (C5): merchant-facing articles (search, read), the report form's live
suggestions while the merchant types, and "this solved my problem" (a deflection: no ticket)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from posdesk.core.errors import NotFound
from posdesk.core.text import clean_line
from posdesk.knowledge.models import Deflection
from posdesk.knowledge.rendering import render_markdown
from posdesk.knowledge.selectors import (
    article_get_for_user,
    article_list,
    article_scope_for_user,
    article_suggest,
)
from posdesk.knowledge.services import deflection_record
from posdesk.merchants.selectors import merchant_list_for_user
from posdesk.portal.access import merchant_required
from posdesk.terminals.selectors import terminal_scope_for_user

SUGGEST_MIN_CHARS = 2  # one character says nothing yet
SUGGEST_MAX_CHARS = 500


def article_context(article) -> dict:  # noqa: ANN001 - an Article
    return {
        "article": article, "symptoms": article.symptom_list, "codes": article.code_list,
        "steps_html": render_markdown(article.steps), "body_html": render_markdown(article.body),
    }


@merchant_required
@require_GET
def help_index(request: HttpRequest) -> HttpResponse:
    q = clean_line(request.GET.get("q", ""))[:100]
    articles = article_list(scope=article_scope_for_user(request.user), q=q, limit=30 if q else 100)
    return render(request, "portal/help.html", {"q": q, "articles": articles})


@merchant_required
@require_GET
def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        article = article_get_for_user(request.user, slug=slug)
    except NotFound:
        return render(request, "portal/not_found.html", status=404)
    return render(request, "portal/help_article.html", {**article_context(article), "solved": False})


@merchant_required
@require_GET
def report_suggest(request: HttpRequest) -> HttpResponse:
    """The htmx partial under the report form: up to three articles for what the merchant has typed
    so far (their terminal's model raises its articles)."""
    text = (request.GET.get("text") or "").strip()[:SUGGEST_MAX_CHARS]
    suggestions = []
    if len(text) >= SUGGEST_MIN_CHARS:
        model_id = None
        terminal_id = request.GET.get("terminal", "")
        if terminal_id.isdigit():
            model_id = terminal_scope_for_user(request.user).filter(pk=int(terminal_id)).values_list(
                "model_id", flat=True
            ).first()
        suggestions = article_suggest(text=text, terminal_model_id=model_id, audience="merchant", limit=3)
    return render(request, "portal/_report_suggestions.html", {"suggestions": suggestions})


@merchant_required
@require_POST
def help_solved(request: HttpRequest, slug: str) -> HttpResponse:
    """"This solved my problem": counted as a deflection; no ticket is opened."""
    try:
        article = article_get_for_user(request.user, slug=slug)
    except NotFound:
        return render(request, "portal/not_found.html", status=404)
    merchant_id = merchant_list_for_user(request.user).values_list("pk", flat=True).first()
    deflection_record(kind=Deflection.Kind.PORTAL_ARTICLE, article_id=article.pk, merchant_id=merchant_id)
    messages.success(request, _("Glad it is solved. No ticket was opened; report a fault any time if it comes back."))
    return redirect("portal:home")
