"""Search as people type: Azerbaijani and Turkish words without their letters (sifre, odeme)
find what they mean, and a query of words the articles do not have finds nothing rather than
a random article. On SQLite and PostgreSQL alike (DATABASE_URL)."""

from __future__ import annotations

from typing import Any

import pytest

from destek.kb.actions import load_content, save_translation
from destek.kb.models import Article, Section
from destek.kb.search import search
from destek.lib.stems import edits, fold, terms

pytestmark = pytest.mark.django_db


def keys(query: str, language: str) -> list[str]:
    return [hit.translation.article.key for hit in search(query, language, limit=3)]


@pytest.fixture
def articles(db: Any) -> None:
    section = Section.objects.create(slug="account", titles={"en": "Account"})
    texts = {
        "password": {
            "az": ("Şifrəni necə dəyişmək olar", "Şifrəni unutmusunuzsa, giriş səhifəsində "
                   "«Şifrəni unutdum» düyməsini seçin."),
            "tr": ("Şifrenizi sıfırlayın", "Şifrenizi unuttuysanız giriş sayfasında "
                   "«Şifremi unuttum» bağlantısını seçin."),
        },
        "payment": {
            "az": ("Ödəniş üsulları", "Kartla ödəniş və bank köçürməsi qəbul edilir."),
            "tr": ("Ödeme yöntemleri", "Kartla ödeme ve havale kabul edilir; çek alınmaz."),
        },
        "delivery": {
            "az": ("Biletin çatdırılması", "Bilet e-poçtla göndərilir."),
            "tr": ("Biletin teslimi", "Bilet e-postayla gönderilir."),
        },
    }  # fmt: skip
    for key, languages in texts.items():
        made = Article.objects.create(key=key, section=section, status="published")
        for language, (title, body) in languages.items():
            save_translation(made, language=language, title=title, body=body)


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("sifre", "az", "password"),
        ("sifrə", "az", "password"),
        ("şifre", "az", "password"),
        ("sifreni unutdum", "az", "password"),
        ("odenis", "az", "payment"),
        ("odenis usullari", "az", "payment"),
        ("ödəniş", "az", "payment"),
        ("sifre", "tr", "password"),
        ("sifremi unuttum", "tr", "password"),
        ("odeme", "tr", "payment"),
        ("odeme yontemleri", "tr", "payment"),
        ("ödeme", "tr", "payment"),
    ],
)
def test_words_typed_without_their_letters_find_what_they_mean(
    articles: None, query: str, language: str, expected: str
) -> None:
    assert keys(query, language)[:1] == [expected]


def test_folding_is_only_for_azerbaijani_and_turkish() -> None:
    assert fold("şçğöüə") == "scgoue"
    assert terms("şifrə", "az") == terms("sifre", "az")
    assert terms("ödeme", "tr") == terms("odeme", "tr")
    assert terms("über", "en") != terms("uber", "en")


def test_a_typo_is_a_few_keystrokes_not_any_word_alike() -> None:
    assert edits("pasword", "password") == 1
    assert edits("passwrod", "password") == 1  # two letters swapped
    assert edits("quantum", "quantiti") >= 3


@pytest.fixture
def demo_articles(demo: None) -> None:
    load_content()


def test_a_query_that_matches_nothing_meaningful_finds_nothing(demo_articles: None) -> None:
    for language in ("en", "az", "tr", "ru", "fa"):
        assert keys("xyzzy quantum", language) == [], language
    assert keys("the xyzzy", "en") == []
    assert keys("quantum", "en") == []


def test_real_queries_with_a_typo_or_a_stray_word_still_find_the_article(
    demo_articles: None,
) -> None:
    assert "reset-password" in keys("pasword", "en")
    assert "reset-password" in keys("reset password xyzzy", "en")
    assert "reset-password" in keys("sifremi unuttum", "tr")
    assert "reset-password" in keys("sifre", "az")
    assert "payment-methods" in keys("odeme", "tr")
