"""The knowledge base end to end: API, portal help and live suggestions, console pages, the admin
editor's preview and save."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from posdesk.demo.articles import demo_articles_load
from posdesk.knowledge.models import Article, ArticleVersion, Deflection
from posdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(world) -> None:
    demo_articles_load(actor=world.admin)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- API ----------------------------------------------------------------------------------

def test_api_search_ranks_the_right_article_first_for_a_merchant(articles, world, api, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = api(world.merchant_user).get("/api/v1/articles", {"q": "押金怎么退"})
    assert response.status_code == 200
    assert response.json()[0]["slug"] == "deposit-refund"


def test_api_never_shows_internal_articles_to_merchants(articles, world, api):
    merchant, agent = api(world.merchant_user), api(world.agent)
    slugs = {a["slug"] for a in merchant.get("/api/v1/articles", {"limit": 50}).json()}
    assert "mass-outage-playbook" not in slugs and "printer-no-paper" in slugs
    assert "mass-outage-playbook" in {a["slug"] for a in agent.get("/api/v1/articles", {"limit": 50}).json()}
    response = merchant.get("/api/v1/articles/mass-outage-playbook")
    assert response.status_code == 404 and response.json()["code"] == "article_not_found"
    assert agent.get("/api/v1/articles/mass-outage-playbook").status_code == 200


def test_api_article_is_rendered_and_sanitised(world, api):
    from posdesk.knowledge.services import ArticleData, article_create

    article_create(actor=world.admin, data=ArticleData(
        title="测试", category="hardware", slug="t", status="published",
        steps="1. 第一步 <script>alert(1)</script>\n2. [链接](javascript:alert(2))",
    ))
    body = api(world.merchant_user).get("/api/v1/articles/t").json()
    assert "<ol>" in body["steps_html"] and "script" not in body["steps_html"]
    assert "javascript" not in body["steps_html"]


def test_api_filters_by_category_and_model_and_refuses_unknown_categories(articles, world, api):
    client = api(world.agent)
    rows = client.get("/api/v1/articles", {"category": "fees", "limit": 50}).json()
    assert rows and {r["category"] for r in rows} == {"fees"}
    bad = client.get("/api/v1/articles", {"category": "gossip"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_category"


def test_api_response_code_names_its_article(articles, world, api):
    body = api(world.merchant_user).get("/api/v1/response-codes/a0").json()
    assert body["code"] == "A0" and body["article_slug"] == "key-download" and body["terminal_fault"] is True
    missing = api(world.merchant_user).get("/api/v1/response-codes/ZZ")
    assert missing.status_code == 404 and missing.json()["code"] == "response_code_not_found"


# --- portal -------------------------------------------------------------------------------

def test_the_report_form_suggests_articles_while_the_merchant_types(articles, world, django_assert_max_num_queries):
    client = _client(world.merchant_user)
    page = client.get(reverse("portal:report")).content.decode()
    assert 'id="article-suggestions"' in page and reverse("portal:report_suggest") in page
    with django_assert_max_num_queries(10):
        response = client.get(reverse("portal:report_suggest"), {"text": "打不出小票了", "terminal": world.terminal.pk},
                              HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "suggestion-printer-no-paper" in html
    assert html.count('class="kb-suggestion"') <= 3
    # the partial lands inside the report form: its button re-targets that form, it is not a nested form
    assert "<form" not in html and f'formaction="{reverse("portal:help_solved", args=["printer-no-paper"])}"' in html
    assert client.get(reverse("portal:report_suggest"), {"text": "打"}).content.decode().strip() == ""


def test_this_solved_my_problem_counts_a_deflection_and_opens_no_ticket(articles, world):
    client = _client(world.merchant_user)
    tickets_before = Ticket.objects.count()
    # the report form as the browser posts it when the suggestion's button re-targets it
    response = client.post(reverse("portal:help_solved", args=["printer-no-paper"]),
                           {"form_token": "x", "terminal": world.terminal.pk, "text": "打不出小票"})
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    deflection = Deflection.objects.get()
    assert deflection.kind == "portal_article" and deflection.article.slug == "printer-no-paper"
    assert deflection.merchant_id == world.merchant.pk
    assert Ticket.objects.count() == tickets_before


def test_portal_help_search_and_article_page(articles, world, django_assert_max_num_queries):
    client = _client(world.merchant_user)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("portal:help"), {"q": "流量卡没网"}).content.decode()
    assert reverse("portal:help_article", args=["sim-card-no-network"]) in page
    with django_assert_max_num_queries(10):
        index = client.get(reverse("portal:help")).content.decode()
    assert "mass-outage-playbook" not in index
    article = client.get(reverse("portal:help_article", args=["printer-no-paper"])).content.decode()
    assert "热敏纸" in article and 'id="help-solved"' in article
    assert client.get(reverse("portal:help_article", args=["mass-outage-playbook"])).status_code == 404


# --- console ------------------------------------------------------------------------------

def test_console_search_shows_internal_articles_and_the_response_code_card(articles, world,
                                                                          django_assert_max_num_queries):
    client = _client(world.agent)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("console:kb"), {"q": "返回码A0"}).content.decode()
    assert 'id="kb-code"' in page and "MAC" in page and "kb-row-key-download" in page
    with django_assert_max_num_queries(12):
        index = client.get(reverse("console:kb")).content.decode()
    assert "kb-row-mass-outage-playbook" in index


def test_an_editor_sees_history_and_marks_a_review(articles, world):
    client = _client(world.supervisor)
    article = Article.objects.get(slug="printer-no-paper")
    response = client.post(reverse("console:kb_reviewed", args=[article.slug]))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.reviewed_at is not None
    page = client.get(reverse("console:kb_article", args=[article.slug])).content.decode()
    assert 'id="kb-history"' in page
    assert 'id="kb-history"' not in _client(world.agent).get(reverse("console:kb_article", args=[article.slug])).content.decode()


def test_the_deflection_report_counts_by_kind(articles, world, open_ticket):
    from posdesk.knowledge.services import deflection_record

    article = Article.objects.get(slug="printer-no-paper")
    deflection_record(kind="portal_article", article_id=article.pk)
    deflection_record(kind="self_service", ticket_id=open_ticket(text="打印机").pk, article_id=article.pk)
    page = _client(world.supervisor).get(reverse("console:kb_report")).content.decode()
    assert 'id="deflection-portal">1<' in page and 'id="deflection-self-service">1<' in page


# --- the admin editor ---------------------------------------------------------------------

def _admin_form(**overrides) -> dict:
    form = {
        "title": "扫码盒不亮", "slug": "", "summary": "", "category": "hardware", "audience": "merchant",
        "status": "published", "symptoms": "扫码盒不亮", "steps": "1. 检查电源", "body": "", "response_codes": "",
        "self_service_answer": "", "review_due_on": "",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "0",
    }
    form.update(overrides)
    return form


def test_the_admin_preview_renders_unsaved_text_as_merchants_see_it(world):
    client = _client(world.admin)
    response = client.post(reverse("admin:knowledge_article_preview"), _admin_form(
        steps="1. 先充电\n2. <img src=x onerror=alert(1)>", known_fix="on", self_service_answer="请先充电。",
    ))
    html = response.content.decode()
    assert response.status_code == 200 and "<li>先充电</li>" in html and "onerror" not in html
    assert 'class="portal' in html and "请先充电。" in html  # the portal's own layout and article template
    assert not Article.objects.exists()
    assert _client(world.supervisor).post(reverse("admin:knowledge_article_preview"), _admin_form()).status_code == 302


def test_the_admin_saves_through_the_service_keeping_versions(world):
    client = _client(world.admin)
    response = client.post(reverse("admin:knowledge_article_add"), _admin_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get()
    assert article.slug == "sao-ma-he-bu-liang" and article.updated_by == world.admin
    response = client.post(reverse("admin:knowledge_article_change", args=[article.pk]),
                           _admin_form(slug=article.slug, steps="1. 检查电源\n2. 重新插线", based_on_version="1"))
    assert response.status_code == 302
    assert ArticleVersion.objects.filter(article=article, version=1).exists()


def test_the_admin_shows_service_errors_beside_the_field(world):
    response = _client(world.admin).post(reverse("admin:knowledge_article_add"), _admin_form(known_fix="on"))
    assert response.status_code == 200
    assert "A known fix needs its short self-service answer." in response.content.decode() or \
        "已知解决方法" in response.content.decode()
    assert not Article.objects.exists()
