"""Knowledge-base review: the search index after deletions, what a one-letter word costs,
and counts that a script must not be able to inflate."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client

from destek.accounts.models import User
from destek.kb import views
from destek.kb.choices import ArticleEventKind
from destek.kb.models import ArticleEvent, Translation
from destek.kb.search import search
from destek.kb.tests.pages_helpers import article, page, reset_password

pytestmark = pytest.mark.django_db


def fts_rows() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rowid FROM kb_fts")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_deleting_an_article_or_a_translation_removes_its_rows_from_the_fts_index(
    db: Any,
) -> None:
    made = reset_password()
    other = article("wallet", {"en": ("Top up your wallet", "Cards and transfers.")})
    russian = Translation.objects.get(article=made, language="ru")
    assert russian.pk in fts_rows()
    Translation.objects.filter(pk=russian.pk).delete()  # as the admin's inline does
    assert russian.pk not in fts_rows()
    gone = set(made.translations.values_list("pk", flat=True))
    made.delete()  # the translations go by cascade
    assert not gone & fts_rows()
    assert fts_rows() == set(other.translations.values_list("pk", flat=True))


def test_a_one_letter_word_is_not_a_prefix_of_every_word(db: Any) -> None:
    reset_password()
    assert search("p", "en") == []
    assert search("r y", "en") == []
    # Three letters or more still match as a prefix.
    assert search("pas", "en")[0].translation.article.key == "reset-password"


@pytest.mark.usefixtures("one_rate_window")
def test_cookieless_requests_from_one_address_count_a_bounded_number_of_views(db: Any) -> None:
    made = reset_password()
    address = page(made, "en")
    for n in range(views.VIEWS_PER_ADDRESS + 10):
        # A script that changes its User-Agent each time is still capped per address.
        response = Client(headers={"User-Agent": f"script/{n}"}).get(address)
        assert response.status_code == 200
    counted = ArticleEvent.objects.filter(article=made, kind=ArticleEventKind.VIEW).count()
    assert counted == views.VIEWS_PER_ADDRESS


@pytest.mark.usefixtures("one_rate_window")
def test_anonymous_views_make_no_session_and_count_once_per_client(db: Any) -> None:
    made = reset_password()
    address = page(made, "en")
    for n in range(20):  # ten readers, each reading twice
        reader = Client(REMOTE_ADDR=f"198.51.100.{n % 10 + 1}")
        assert reader.get(address).status_code == 200
        assert not reader.cookies.get(settings.SESSION_COOKIE_NAME)
    assert Session.objects.count() == 0
    counted = ArticleEvent.objects.filter(article=made, kind=ArticleEventKind.VIEW).count()
    assert counted == 10


@pytest.mark.usefixtures("one_rate_window")
def test_opening_articles_with_ever_new_visit_ids_counts_a_bounded_number_of_deflections(
    users: dict[str, User],
) -> None:
    made = reset_password()
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    address = page(made, "en")
    for _n in range(views.SUGGESTED_OPENS_PER_HOUR + 10):
        form = client.get("/my/tickets/new/").content.decode()
        visit = re.search(r'name="visit" value="([0-9a-f]{32})"', form)
        assert visit is not None
        client.get(f"{address}?visit={visit.group(1)}")
    opened = ArticleEvent.objects.filter(kind=ArticleEventKind.SUGGESTED_OPEN).count()
    assert opened == views.SUGGESTED_OPENS_PER_HOUR
