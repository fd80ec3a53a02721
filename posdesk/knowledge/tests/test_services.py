"""Article writes: versions, validation, review dates, response-code links; deflections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from posdesk.core.errors import ApplicationError, PermissionDenied
from posdesk.knowledge.models import Article, ArticleVersion, Deflection, ResponseCode
from posdesk.knowledge.selectors import (
    article_suggest,
    articles_due_for_review,
    deflection_counts,
    response_code_lookup,
)
from posdesk.knowledge.services import (
    ArticleData,
    article_create,
    article_review_mark,
    article_update,
    deflection_record,
)

pytestmark = pytest.mark.django_db


def _data(**overrides) -> ArticleData:
    values = dict(
        title="签到失败",
        category="software",
        symptoms="签到失败\n开机签不上",
        steps="1. 重新签到",
        status="published",
        response_codes="a0 99",
        known_fix=True,
        self_service_answer="请在主菜单重新签到。",
    )
    values.update(overrides)
    return ArticleData(**values)


def test_response_code_reference_is_loaded_from_the_shared_csv(db) -> None:
    info = response_code_lookup("a0")
    assert info is not None and info.code == "A0" and "MAC" in info.meaning and info.terminal_fault is True
    assert ResponseCode.objects.count() == 39
    assert response_code_lookup("ZZ") is None


def test_a_chinese_title_gives_a_readable_pinyin_slug(world) -> None:
    assert article_create(actor=world.admin, data=_data()).slug == "qian-dao-shi-bai"
    assert article_create(actor=world.admin, data=_data(response_codes="")).slug == "qian-dao-shi-bai-2"


def test_a_published_article_links_its_response_codes(world) -> None:
    article = article_create(actor=world.admin, data=_data())
    assert response_code_lookup("A0").article_id == article.pk
    assert response_code_lookup("99").article_id == article.pk


def test_a_code_claimed_by_a_published_article_stays_with_it(world) -> None:
    first = article_create(actor=world.admin, data=_data())
    article_create(actor=world.admin, data=_data(title="另一篇", slug="other"))
    assert response_code_lookup("A0").article_id == first.pk


def test_archiving_an_article_releases_its_codes(world) -> None:
    article = article_create(actor=world.admin, data=_data())
    article_update(
        actor=world.admin,
        article_id=article.pk,
        data=_data(status="archived", slug=article.slug),
        based_on_version=1,
    )
    assert response_code_lookup("A0").article_id is None


def test_every_save_keeps_the_previous_version(world) -> None:
    # given an article at version 1
    article = article_create(actor=world.supervisor, data=_data())
    # when it is edited twice
    article_update(
        actor=world.admin,
        article_id=article.pk,
        data=_data(title="签到失败怎么办", slug=article.slug),
        based_on_version=1,
    )
    article = article_update(
        actor=world.admin,
        article_id=article.pk,
        based_on_version=2,
        data=_data(title="签到失败怎么办", steps="1. 重启\n2. 签到", slug=article.slug),
    )
    # then it is at version 3 and the history holds versions 1 and 2 as they were
    assert article.version == 3
    history = list(ArticleVersion.objects.filter(article=article).order_by("version"))
    assert [(v.version, v.title) for v in history] == [(1, "签到失败"), (2, "签到失败怎么办")]
    assert history[0].edited_by == world.supervisor and history[1].steps == "1. 重新签到"


def test_saving_without_a_change_writes_no_version(world) -> None:
    article = article_create(actor=world.admin, data=_data())
    article_update(
        actor=world.admin, article_id=article.pk, data=_data(slug=article.slug), based_on_version=1
    )
    assert Article.objects.get(pk=article.pk).version == 1 and not ArticleVersion.objects.exists()


def test_an_edit_is_found_by_its_new_words_and_not_its_old_ones(world) -> None:
    article = article_create(actor=world.admin, data=_data())
    article_update(
        actor=world.admin,
        article_id=article.pk,
        based_on_version=1,
        data=_data(
            title="押金退还",
            symptoms="押金怎么退",
            steps="1. 达标后自动退还",
            category="fees",
            response_codes="",
            slug=article.slug,
        ),
    )
    assert [s.slug for s in article_suggest(text="押金怎么退")] == [article.slug]
    assert article_suggest(text="签到失败") == []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"known_fix": True, "self_service_answer": ""}, "answer_required"),
        ({"self_service_answer": "长" * 301}, "answer_too_long"),
        ({"known_fix": True, "audience": "internal"}, "known_fix_internal"),
        ({"response_codes": "A0 XYZ"}, "invalid_response_code"),
        ({"category": "gossip"}, "invalid_category"),
        ({"title": "  "}, "title_required"),
        ({"slug": "report"}, "slug_taken"),  # the console's report page lives at kb/report/
    ],
)
def test_bad_article_input_is_refused_and_changes_nothing(world, overrides, code) -> None:
    with pytest.raises(ApplicationError) as error:
        article_create(actor=world.admin, data=_data(**overrides))
    assert error.value.code == code
    assert not Article.objects.exists()


@pytest.mark.parametrize("role", ["agent", "technician", "vendor", "merchant"])
def test_only_supervisors_and_admins_edit_articles(world, role) -> None:
    with pytest.raises(PermissionDenied):
        article_create(actor=world.users[role], data=_data())


def test_overdue_reviews_are_listed_until_the_article_is_reviewed(world) -> None:
    article = article_create(
        actor=world.admin, data=_data(review_due_on=timezone.localdate() - timedelta(days=1))
    )
    fresh = article_create(actor=world.admin, data=_data(title="新文章", slug="fresh", response_codes=""))
    assert list(articles_due_for_review()) == [article]
    article_review_mark(actor=world.supervisor, article_id=article.pk)
    assert list(articles_due_for_review()) == []
    assert fresh.review_due_on > timezone.localdate()


def test_the_self_service_answer_comes_only_with_published_merchant_known_fixes(world) -> None:
    fix = article_create(actor=world.admin, data=_data())
    article_create(
        actor=world.admin,
        data=_data(
            title="签到失败原因分析", slug="why", known_fix=False, self_service_answer="", response_codes=""
        ),
    )
    suggestions = {s.slug: s for s in article_suggest(text="签到失败")}
    assert suggestions[fix.slug].answer == "请在主菜单重新签到。"
    assert suggestions["why"].answer == ""
    assert all(0 <= s.score <= 1 for s in suggestions.values())


def test_response_codes_bring_their_article_first(world) -> None:
    fix = article_create(actor=world.admin, data=_data())
    article_create(
        actor=world.admin,
        data=_data(
            title="交易失败怎么办", slug="generic", response_codes="", known_fix=False, self_service_answer=""
        ),
    )
    top = article_suggest(text="交易失败", response_codes=["a0"])
    assert top[0].article_id == fix.pk and top[0].score == 1.0


def test_drafts_are_never_suggested(world) -> None:
    article_create(actor=world.admin, data=_data(status="draft"))
    assert article_suggest(text="签到失败", audience="internal") == []


def test_deflections_are_counted_and_a_ticket_is_self_served_once(world, open_ticket) -> None:
    ticket = open_ticket(text="签到失败")
    article = article_create(actor=world.admin, data=_data())
    deflection_record(kind="portal_article", article_id=article.pk, merchant_id=world.merchant.pk)
    deflection_record(kind="self_service", ticket_id=ticket.pk, article_id=article.pk)
    deflection_record(kind="self_service", ticket_id=ticket.pk, article_id=article.pk)  # "yes" pressed twice
    totals, rows = deflection_counts(since=timezone.now() - timedelta(days=1))
    assert totals == {"portal_article": 1, "self_service": 1}
    assert rows[0].article_id == article.pk and rows[0].portal_article == 1 and rows[0].self_service == 1
    assert Deflection.objects.count() == 2


def test_unknown_deflection_kinds_are_refused(db) -> None:
    with pytest.raises(ApplicationError):
        deflection_record(kind="magic")
    with pytest.raises(ApplicationError):
        deflection_record(kind="self_service")
