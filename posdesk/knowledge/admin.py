"""The knowledge editor: Django admin for administrators. Saves go through the knowledge services
(versions, search index, response-code links, audit); "Preview" renders the unsaved text in the
portal's own article template, exactly as merchants will see it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from posdesk.accounts.models import Role
from posdesk.core.errors import ApplicationError
from posdesk.knowledge.models import Article, ArticleVersion, Deflection, ResponseCode
from posdesk.knowledge.rendering import render_markdown
from posdesk.knowledge.services import (
    VERSIONED_FIELDS,
    ArticleData,
    article_create,
    article_data_check,
    article_update,
    article_version_check,
)


def _administrator(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and getattr(user, "role", None) == Role.ADMIN)


class AdministratorsOnly:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _administrator(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _administrator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _administrator(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return _administrator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # archive instead: tickets and deflections point at articles


class ArticleForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = [
            "title",
            "slug",
            "summary",
            "category",
            "audience",
            "status",
            "terminal_models",
            "symptoms",
            "steps",
            "body",
            "response_codes",
            "known_fix",
            "self_service_answer",
            "review_due_on",
        ]
        widgets = {"self_service_answer": forms.Textarea(attrs={"rows": 3, "maxlength": 300})}

    # the version the editor opened: a save over someone else's newer one is refused, not merged silently
    based_on_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = _("Leave empty to make one from the title (pinyin).")
        if self.instance.pk:
            self.fields["based_on_version"].required = True
            self.fields["based_on_version"].initial = self.instance.version

    def article_data(self) -> ArticleData:
        data = self.cleaned_data
        return ArticleData(
            **{
                name: data.get(name) or ("" if name not in ("known_fix",) else False)
                for name in VERSIONED_FIELDS
            },
            slug=data.get("slug") or "",
            terminal_model_ids=[m.pk for m in data.get("terminal_models") or []],
            review_due_on=data.get("review_due_on"),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            try:
                if self.instance.pk:
                    # row-locked for the rest of the admin's request transaction: the save sees the same version
                    article_version_check(
                        article_id=self.instance.pk, based_on_version=cleaned["based_on_version"]
                    )
                article_data_check(self.article_data())
            except ApplicationError as exc:
                field = (exc.detail or {}).get("field") if isinstance(exc.detail, dict) else None
                self.add_error(field if field in self.fields else None, str(exc.message))
        return cleaned


class ArticleVersionInline(admin.TabularInline):
    model = ArticleVersion
    fields = ("version", "title", "status", "edited_by", "saved_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("history (earlier versions)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReviewDueFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("overdue", _("Review overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Article]) -> QuerySet[Article]:
        if self.value() == "overdue":
            return queryset.filter(review_due_on__lte=timezone.localdate()).exclude(status="archived")
        return queryset


@admin.register(Article)
class ArticleAdmin(AdministratorsOnly, admin.ModelAdmin):
    form = ArticleForm
    change_form_template = "knowledge/admin_change_form.html"
    list_display = ("title", "category", "audience", "status", "known_fix", "version", "review_due_on")
    list_filter = (ReviewDueFilter, "status", "audience", "category", "known_fix")
    search_fields = ("title", "slug", "symptoms")
    filter_horizontal = ("terminal_models",)
    readonly_fields = ("version", "reviewed_at", "updated_by", "updated_at")
    inlines = [ArticleVersionInline]

    def get_urls(self) -> list:
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", preview, name="knowledge_article_preview"), *super().get_urls()]

    def save_model(self, request: HttpRequest, obj: Article, form: ArticleForm, change: bool) -> None:
        data = form.article_data()
        saved = (
            article_update(
                actor=request.user,
                article_id=obj.pk,
                data=data,
                based_on_version=form.cleaned_data["based_on_version"],
            )
            if change
            else article_create(actor=request.user, data=data)
        )
        obj.pk, obj.slug = saved.pk, saved.slug  # the admin's redirect and messages use these

    def save_related(self, request: HttpRequest, form: ArticleForm, formsets: Any, change: bool) -> None:
        # terminal models were saved by the service (no form.save_m2m()); the history inline is
        # read-only, its (empty) formset is saved only so the admin can write its change message
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @staticmethod
    def preview_view(request: HttpRequest) -> HttpResponse:
        """The unsaved form rendered as the portal shows an article (POST from the change form)."""
        if not _administrator(request):
            raise DjangoPermissionDenied
        return _preview(request)


@require_POST
def _preview(request: HttpRequest) -> HttpResponse:
    post = request.POST
    article = Article(
        title=post.get("title", ""),
        summary=post.get("summary", ""),
        symptoms=post.get("symptoms", ""),
        steps=post.get("steps", ""),
        body=post.get("body", ""),
        response_codes=post.get("response_codes", ""),
        known_fix=post.get("known_fix") == "on",
        self_service_answer=post.get("self_service_answer", ""),
    )
    return render(
        request,
        "knowledge/admin_preview.html",
        {
            "article": article,
            "symptoms": article.symptom_list,
            "codes": article.code_list,
            "steps_html": render_markdown(article.steps),
            "body_html": render_markdown(article.body),
        },
    )


@admin.register(ResponseCode)
class ResponseCodeAdmin(AdministratorsOnly, admin.ModelAdmin):
    list_display = ("code", "meaning", "kind", "terminal_fault", "article")
    list_filter = ("kind", "terminal_fault")
    search_fields = ("code", "meaning")
    readonly_fields = ("code", "meaning", "kind", "remedy", "terminal_fault")
    autocomplete_fields = ("article",)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # the reference comes from the UnionPay table (data migration)


@admin.register(Deflection)
class DeflectionAdmin(AdministratorsOnly, admin.ModelAdmin):
    list_display = ("created_at", "kind", "article", "ticket", "merchant")
    list_filter = ("kind",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "kind", "article", "ticket", "merchant")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
