"""Limits that keep the desk and search fast however large the help centre grows."""

from __future__ import annotations

from typing import Any

import pytest

from destek.desk.selectors import LINKS_MAX, article_links
from destek.kb.actions import import_translations, record_search, save_translation
from destek.kb.models import Article, Section
from destek.kb.reports import empty_searches
from destek.kb.search import search

pytestmark = pytest.mark.django_db


def test_the_ticket_page_offers_a_bounded_list_with_the_matching_articles_first() -> None:
    section = Section.objects.create(slug="wallet", titles={"en": "Wallet"})
    articles = Article.objects.bulk_create(
        [Article(key=f"a{n}", section=section, status="published") for n in range(60)]
    )
    import_translations([(a, "en", f"Event hall {a.key}", "Seats and halls.") for a in articles])
    wanted = Article.objects.create(key="top-up", section=section, status="published")
    save_translation(wanted, language="en", title="Top up your wallet", body="With a card.")
    links = article_links("en", "Cannot top up my wallet")
    assert len(links) == LINKS_MAX
    assert links[0]["title"] == "Top up your wallet"


def test_a_query_of_many_misspelt_words_looks_up_only_a_few(
    django_assert_max_num_queries: Any,
) -> None:
    section = Section.objects.create(slug="wallet", titles={"en": "Wallet"})
    article = Article.objects.create(key="top-up", section=section, status="published")
    save_translation(article, language="en", title="Top up your wallet", body="With a card.")
    misspelt = " ".join(f"wallletz{n}qx" for n in range(12))
    with django_assert_max_num_queries(12 + 4 + 3):
        search(misspelt, "en")


def test_half_typed_subjects_are_not_reported_as_searches_that_found_nothing() -> None:
    record_search("walle", "en", 0, "suggest")
    record_search("crypto refunds", "en", 0, "search")
    assert [row.query for row in empty_searches()] == ["crypto refunds"]
