"""Reads of the knowledge base: articles a user may see (merchants: published merchant-facing
only; staff: internal ones too), suggestions for a text (triage, the portal's report form, the
console), the response-code reference, reviews due and deflection counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from posdesk.accounts.models import Role
from posdesk.core.errors import NotFound
from posdesk.knowledge import search
from posdesk.knowledge.models import Article, ArticleStatus, Audience, Deflection, ResponseCode

# ranking adjustments over the text score (why: the merchant's terminal and triage's category are
# strong evidence the text alone does not carry)
CATEGORY_BOOST = 1.3
MODEL_BOOST = 1.2
OTHER_MODEL_PENALTY = 0.6
BY_CODE = 1e9  # an article of the text's response code comes before any text match


@dataclass(frozen=True)
class ArticleSuggestion:
    article_id: int
    slug: str
    title: str
    summary: str
    score: float  # 0–1: the share of the query's words the article holds (1.0: by its response code)
    answer: str  # the short self-service answer; only for published merchant-facing known fixes


@dataclass(frozen=True)
class ResponseCodeInfo:
    code: str
    meaning: str
    kind: str
    remedy: str
    terminal_fault: bool
    article_id: int | None


def article_visibility(audience: str) -> Q:
    """Which articles an audience may read — the one rule, used by the access gate, the suggestions
    and the self-service answer: merchants, published merchant-facing articles; staff ("internal"),
    every published article."""
    published = Q(status=ArticleStatus.PUBLISHED)
    return published & Q(audience=Audience.MERCHANT) if audience == Audience.MERCHANT else published


def article_scope_for_user(user) -> QuerySet[Article]:  # noqa: ANN001
    """The access gate of articles. Anonymous: none; merchants: published merchant-facing;
    staff: every published article; supervisors and admins (the editors): drafts and archived too."""
    articles = Article.objects.all()
    if not user.is_authenticated or not user.is_active:
        return articles.none()
    if user.role == Role.MERCHANT:
        return articles.filter(article_visibility(Audience.MERCHANT))
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return articles
    if user.is_staff_role:
        return articles.filter(article_visibility(Audience.INTERNAL))
    return articles.none()


def article_get_for_user(user, *, slug: str) -> Article:  # noqa: ANN001
    article = article_scope_for_user(user).prefetch_related("terminal_models").filter(slug=slug).first()
    if article is None:
        raise NotFound(_("No such article, or it is not for you."), code="article_not_found")
    return article


def _coverage(
    query_words: Sequence[str],
    query_sounds: Sequence[str],
    head: tuple[frozenset[str], frozenset[str]],
) -> float:
    """The share of the query's words in the article's head (title, symptoms, codes, summary), as
    the index holds it; a word found only in the body is weak evidence of a fix."""
    if not query_words and not query_sounds:
        return 0.0
    strong, sounds = head
    got = sum(1.0 for w in query_words if w in strong)
    if query_sounds:
        # a typo leaves the word unmatched; its pinyin pairs still count for half
        share = sum(1 for s in query_sounds if s in sounds) / len(query_sounds)
        missing = len(query_words) - got
        got += min(missing, share * max(len(query_words), 1)) * 0.5
    return round(min(1.0, got / max(len(query_words), 1)), 3)


def _model_factor(model_ids: set[int], terminal_model_id: int | None) -> float:
    """The merchant's terminal model raises an article written for it, lowers one for other models."""
    if terminal_model_id is None:
        return 1.0
    if terminal_model_id in model_ids:
        return MODEL_BOOST
    return OTHER_MODEL_PENALTY if model_ids else 1.0


def article_search(
    *,
    text: str,
    scope: QuerySet[Article],
    category: str | None = None,
    terminal_model_id: int | None = None,
    limit: int = 20,
) -> list[Article]:
    """Articles of `scope` matching `text`, best first. The scope and category are applied inside
    the search, so a narrow scope gets its matches however far down the whole corpus' ranking."""
    within = scope.filter(category=category) if category else scope
    hits = search.article_hits(text, within=within, limit=max(search.CANDIDATES, limit * 3))
    if not hits:
        return []
    rank = {hit.article_id: hit.score for hit in hits}
    articles = Article.objects.filter(pk__in=rank).prefetch_related("terminal_models")
    scored = [
        (
            rank[article.pk]
            * _model_factor({m.pk for m in article.terminal_models.all()}, terminal_model_id),
            article,
        )
        for article in articles
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1].pk))
    return [article for _, article in scored[:limit]]


SUGGEST_TEXT_MAX = 500


def article_suggest(
    *,
    text: str,
    category: str | None = None,
    terminal_model_id: int | None = None,
    response_codes: Sequence[str] = (),
    audience: str = "merchant",
    limit: int = 3,
) -> list[ArticleSuggestion]:
    """The articles most likely to answer `text`: first those of its response codes, then by full
    text (triage's category and the merchant's terminal model raise an article). `audience`
    "merchant" keeps to published merchant-facing articles; "internal" adds staff-only ones."""
    text = text[:SUGGEST_TEXT_MAX]  # triage passes whole descriptions: the opening says what it is about
    visible = Article.objects.filter(article_visibility(audience))
    order: dict[int, float] = {}  # id → order key
    codes = [code.strip().upper() for code in response_codes if code and code.strip()]
    if codes:
        order.update(
            dict.fromkeys(
                visible.filter(response_code_entries__code__in=codes).values_list("pk", flat=True),
                BY_CODE,
            )
        )
    hits = [
        hit
        for hit in search.article_hits(text, within=visible, limit=search.CANDIDATES)
        if hit.article_id not in order
    ]
    if hits:
        # the boosts need only each candidate's category and terminal models: the rows are read
        # for the few that are shown
        categories = dict(
            Article.objects.filter(pk__in=[hit.article_id for hit in hits]).values_list("pk", "category")
        )
        models: dict[int, set[int]] = {}
        if terminal_model_id is not None:
            for article_id, model_id in Article.terminal_models.through.objects.filter(
                article_id__in=list(categories)
            ).values_list("article_id", "terminalmodel_id"):
                models.setdefault(article_id, set()).add(model_id)
        for hit in hits:
            if hit.article_id not in categories:
                continue
            key = hit.score * _model_factor(models.get(hit.article_id, set()), terminal_model_id)
            if category and categories[hit.article_id] == category:
                key *= CATEGORY_BOOST
            order[hit.article_id] = key
    ranked = sorted(order, key=lambda article_id: (-order[article_id], article_id))[:limit]
    # the answer goes out to merchants at once: only with articles merchants may read (the same rule)
    articles = (
        Article.objects.annotate(
            for_merchants=ExpressionWrapper(
                article_visibility(Audience.MERCHANT), output_field=BooleanField()
            ),
        )
        .only("pk", "slug", "title", "summary", "known_fix", "self_service_answer")
        .in_bulk(ranked)
    )
    words, sounds = search.article_query_terms(text)
    heads = search.article_head_terms([article_id for article_id in ranked if order[article_id] != BY_CODE])
    empty: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
    return [
        ArticleSuggestion(
            article_id=article.pk,
            slug=article.slug,
            title=article.title,
            summary=article.summary,
            score=1.0
            if order[article.pk] == BY_CODE
            else _coverage(words, sounds, heads.get(article.pk, empty)),
            answer=article.self_service_answer if article.known_fix and article.for_merchants else "",
        )
        for article in (articles[article_id] for article_id in ranked if article_id in articles)
    ]


def response_code_lookup(code: str) -> ResponseCodeInfo | None:
    entry = ResponseCode.objects.filter(code=(code or "").strip().upper()[:4]).first()
    if entry is None:
        return None
    return ResponseCodeInfo(
        code=entry.code,
        meaning=entry.meaning,
        kind=entry.kind,
        remedy=entry.remedy,
        terminal_fault=entry.terminal_fault,
        article_id=entry.article_id,
    )


def response_code_list() -> QuerySet[ResponseCode]:
    return ResponseCode.objects.select_related("article").order_by("code")


def article_list(
    *,
    scope: QuerySet[Article],
    q: str = "",
    category: str = "",
    model: str = "",
    limit: int = 50,
) -> list[Article]:
    """A page of articles: by relevance when `q` is given, else by category and title. `model` is a
    terminal model code: articles for that model and those for every model."""
    if model:
        scope = scope.filter(Q(terminal_models__code=model) | Q(terminal_models__isnull=True)).distinct()
    if q.strip():
        return article_search(text=q, scope=scope, category=category or None, limit=limit)
    if category:
        scope = scope.filter(category=category)
    return list(scope.prefetch_related("terminal_models").order_by("category", "title")[:limit])


def articles_due_for_review(*, on: datetime | None = None) -> QuerySet[Article]:
    today = timezone.localdate(on) if on else timezone.localdate()
    return (
        Article.objects.exclude(status=ArticleStatus.ARCHIVED)
        .filter(review_due_on__lte=today)
        .order_by("review_due_on", "pk")
    )


@dataclass(frozen=True)
class DeflectionRow:
    article_id: int | None
    title: str
    portal_article: int
    self_service: int


def deflection_counts(*, since: datetime) -> tuple[dict[str, int], list[DeflectionRow]]:
    """Totals by kind since `since`, and per article (most deflections first)."""
    rows = Deflection.objects.filter(created_at__gte=since)
    totals = {kind: 0 for kind in Deflection.Kind.values}
    for row in rows.values("kind").annotate(n=Count("pk")):
        totals[row["kind"]] = row["n"]
    per_article = (
        rows.values("article_id", "article__title")
        .annotate(
            portal_article=Count("pk", filter=Q(kind=Deflection.Kind.PORTAL_ARTICLE)),
            self_service=Count("pk", filter=Q(kind=Deflection.Kind.SELF_SERVICE)),
            total=Count("pk"),
        )
        .order_by("-total", "article_id")[:50]
    )
    return totals, [
        DeflectionRow(
            article_id=row["article_id"],
            title=row["article__title"] or "—",
            portal_article=row["portal_article"],
            self_service=row["self_service"],
        )
        for row in per_article
    ]
