"""The right article in the top 3 for each query of the search test set, on whichever database
the suite runs on (SQLite FTS5 or PostgreSQL full text): given the demo articles."""

from __future__ import annotations

import pytest

from posdesk.demo.articles import demo_articles_load
from posdesk.knowledge.selectors import article_suggest
from posdesk.knowledge.tests.search_cases import INTERNAL_CASES, SEARCH_CASES

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(world) -> None:
    assert demo_articles_load(actor=world.admin) >= 30


def test_search_test_set_has_at_least_40_queries() -> None:
    assert len(SEARCH_CASES) >= 40


def test_each_colloquial_query_finds_its_article_in_the_top_3(articles) -> None:
    # given the demo articles; when each query of the test set is searched as a merchant
    misses = []
    for query, slug in SEARCH_CASES:
        top = [s.slug for s in article_suggest(text=query, audience="merchant", limit=3)]
        if slug not in top:
            misses.append((query, slug, top))
    # then every query has its article among the first three
    assert misses == []


def test_internal_articles_are_found_for_staff_and_never_for_merchants(articles) -> None:
    for query, slug in INTERNAL_CASES:
        assert slug in [s.slug for s in article_suggest(text=query, audience="internal", limit=3)], query
        assert slug not in [s.slug for s in article_suggest(text=query, audience="merchant", limit=10)], query
