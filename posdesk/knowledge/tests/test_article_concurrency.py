"""Two people editing one article: the editor sends the version it started from, and a save over a
newer version is refused with a clear error and changes nothing — never a silently lost edit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from posdesk.core.errors import Conflict
from posdesk.knowledge.models import Article, ArticleVersion
from posdesk.knowledge.services import ArticleData, article_create, article_update


def _data(**overrides: Any) -> ArticleData:
    values: dict[str, Any] = {
        "title": "签到失败",
        "category": "hardware",
        "symptoms": "签到失败",
        "steps": "1. 重新签到",
        "status": "published",
    }
    values.update(overrides)
    return ArticleData(**values)


def _form(article: Article, **overrides: str) -> dict[str, str]:
    form = {
        "title": article.title, "slug": article.slug, "summary": "", "category": "hardware",
        "audience": "merchant", "status": "published", "symptoms": article.symptoms, "steps": article.steps,
        "body": "", "response_codes": "", "self_service_answer": "", "review_due_on": "",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
    }  # fmt: skip
    form.update(overrides)
    return form


def _admin(world: Any, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(world.admin)
    return client


def test_a_save_based_on_an_older_version_is_refused_and_changes_nothing(world: Any) -> None:
    # given an article two editors opened at version 1, and the first one saved
    article = article_create(actor=world.admin, data=_data())
    article_update(
        actor=world.admin,
        article_id=article.pk,
        based_on_version=1,
        data=_data(steps="1. 重新签到\n2. 重启", slug=article.slug),
    )

    # when the second one saves what they started from version 1
    with pytest.raises(Conflict) as refused:
        article_update(
            actor=world.supervisor,
            article_id=article.pk,
            based_on_version=1,
            data=_data(title="签到失败怎么办", slug=article.slug),
        )

    # then they are told, and the first editor's text stands
    assert refused.value.code == "article_changed"
    assert refused.value.detail["version"] == 2
    article.refresh_from_db()
    assert (article.version, article.title, article.steps) == (2, "签到失败", "1. 重新签到\n2. 重启")
    assert ArticleVersion.objects.filter(article=article).count() == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("zh-hans", "您编辑期间，其他人保存了这篇文章"),
        ("en", "Someone else saved this article while you were editing it"),
    ],
)
def test_the_editor_shows_a_stale_save_as_a_form_error(world: Any, language: str, message: str) -> None:
    # given two administrators who opened the same article's editor
    article = article_create(actor=world.admin, data=_data())
    url = reverse("admin:knowledge_article_change", args=[article.pk])
    first, second = _admin(world, language), _admin(world, language)
    for client in (first, second):
        page = client.get(url).content.decode()
        assert re.search(r'name="based_on_version" value="1"', page)

    # when the first saves, then the second saves over it
    assert first.post(url, _form(article, steps="1. 重启", based_on_version="1")).status_code == 302
    response = second.post(url, _form(article, title="签到失败怎么办", based_on_version="1"))

    # then the second sees why in their language, and only the first edit was saved
    assert response.status_code == 200
    assert message in response.content.decode()
    article.refresh_from_db()
    assert (article.version, article.title, article.steps) == (2, "签到失败", "1. 重启")


def test_an_editor_post_without_its_version_saves_nothing(world: Any) -> None:
    article = article_create(actor=world.admin, data=_data())
    url = reverse("admin:knowledge_article_change", args=[article.pk])

    response = _admin(world, "en").post(url, _form(article, title="签到失败怎么办"))

    assert response.status_code == 200
    article.refresh_from_db()
    assert (article.version, article.title) == (1, "签到失败")
