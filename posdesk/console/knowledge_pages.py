"""Console pages of the knowledge base (C5): search and read articles (agents see internal ones
too; a response code typed into the box shows its reference card), an article's history and
review for editors, and the deflection report with overdue reviews for supervisors and admins.
Articles are written in the admin (knowledge/admin.py), whose preview renders what merchants see."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from posdesk.console.access import forbidden, staff_required
from posdesk.core.errors import ApplicationError
from posdesk.core.taxonomy import Category
from posdesk.core.text import clean_line
from posdesk.knowledge.models import ArticleVersion
from posdesk.knowledge.rendering import render_markdown
from posdesk.knowledge.selectors import (
    article_get_for_user,
    article_list,
    article_scope_for_user,
    articles_due_for_review,
    deflection_counts,
    response_code_lookup,
)
from posdesk.knowledge.services import article_review_mark

EDITORS = ("supervisor", "admin")
CODE_QUERY = re.compile(r"^(?:应答码|返回码|错误码)?\s*([0-9A-Za-z]{2})$")


@staff_required
@require_GET
def kb_index(request: HttpRequest) -> HttpResponse:
    q = clean_line(request.GET.get("q", ""))[:100]
    category = request.GET.get("category", "")
    if category not in Category.values:
        category = ""
    code_info = None
    match = CODE_QUERY.match(q)
    if match:
        code_info = response_code_lookup(match.group(1))
    articles = article_list(scope=article_scope_for_user(request.user), q=q, category=category, limit=50 if q else 200)
    return render(request, "console/kb_index.html", {
        "q": q, "category": category, "categories": Category.choices, "articles": articles, "code_info": code_info,
        "is_editor": request.user.role in EDITORS,
    })


@staff_required
@require_GET
def kb_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_get_for_user(request.user, slug=slug)
    is_editor = request.user.role in EDITORS
    versions = list(ArticleVersion.objects.filter(article=article).select_related("edited_by")[:20]) if is_editor else []
    return render(request, "console/kb_article.html", {
        "article": article, "symptoms": article.symptom_list, "codes": article.code_list,
        "steps_html": render_markdown(article.steps), "body_html": render_markdown(article.body),
        "versions": versions, "is_editor": is_editor, "models": list(article.terminal_models.all()),
    })


@staff_required
@require_POST
def kb_reviewed(request: HttpRequest, slug: str) -> HttpResponse:
    if request.user.role not in EDITORS:
        return forbidden(request, _("Only supervisors and admins edit articles."))
    article = article_get_for_user(request.user, slug=slug)
    try:
        article_review_mark(actor=request.user, article_id=article.pk)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Marked as reviewed."))
    return redirect("console:kb_article", slug=article.slug)


@staff_required
@require_GET
def kb_report(request: HttpRequest) -> HttpResponse:
    if request.user.role not in EDITORS:
        return forbidden(request, _("Knowledge reports are for supervisors and admins."))
    days = 30
    totals, rows = deflection_counts(since=timezone.now() - timedelta(days=days))
    overdue = list(articles_due_for_review()[:100])
    return render(request, "console/kb_report.html", {
        "days": days, "totals": totals, "rows": rows, "overdue": overdue,
        "total": sum(totals.values()),
    })
