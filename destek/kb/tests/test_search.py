"""Search and article bodies, on the real database: what a reader finds and sees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from destek.kb.actions import save_translation
from destek.kb.markdown import render, video_embed_url
from destek.kb.models import Article, Section
from destek.kb.search import search
from destek.lib.stems import search_text, similarity


@pytest.fixture
def section(db: None) -> Section:
    return Section.objects.create(slug="account", titles={"en": "Account"})


def article(
    section: Section, key: str, status: str = "published", **texts: tuple[str, str]
) -> Article:
    made = Article.objects.create(key=key, section=section, status=status)
    for language, (title, body) in texts.items():
        save_translation(made, language=language, title=title, body=body)
    return made


@pytest.mark.django_db
def test_titles_weigh_more_than_bodies(section: Section) -> None:
    article(section, "wallet", en=("Top up your wallet", "Cards and bank transfers."))
    article(section, "events", en=("Create an event", "Your wallet pays the fee; top up first."))
    keys = [hit.translation.article.key for hit in search("top up wallet", "en")]
    assert keys[0] == "wallet"


@pytest.mark.django_db
def test_russian_and_turkish_inflections_find_the_same_article(section: Section) -> None:
    article(
        section,
        "reset",
        ru=("Как восстановить пароль", "Если вы забыли пароль, откройте страницу входа."),
        tr=("Şifre sıfırlama", "Şifrenizi unuttuysanız giriş sayfasını açın."),
    )
    assert search("забыл пароля", "ru")[0].translation.article.key == "reset"
    assert search("şifremi unuttum", "tr")[0].translation.article.key == "reset"


@pytest.mark.django_db
def test_persian_letter_variants_and_zwnj_do_not_matter(section: Section) -> None:
    article(section, "tickets", fa=("پیگیری تیکت‌ها", "وضعیت تیکت‌های خود را ببینید."))
    # Arabic yeh and kaf, and no ZWNJ, as typed on an Arabic keyboard.
    assert search("تيكتها", "fa")[0].translation.article.key == "tickets"


@pytest.mark.django_db
def test_azerbaijani_endings_and_dotless_i_find_the_article(section: Section) -> None:
    article(
        section,
        "pay",
        az=("Kartla ödəniş alınmır", "Ödənişiniz keçmirsə kartın limitini yoxlayın."),
    )
    assert search("ödənişlər", "az")[0].translation.article.key == "pay"
    assert search("ödəniş alinmir", "az")[0].translation.article.key == "pay"


@pytest.mark.django_db
def test_a_misspelt_word_finds_the_article(section: Section) -> None:
    article(section, "reset", en=("Reset your password", "Forgot your password? Reset it."))
    assert search("pasword", "en")[0].translation.article.key == "reset"
    assert search("passwrod reset", "en")[0].translation.article.key == "reset"


@pytest.mark.django_db
def test_drafts_and_internal_articles_are_found_only_when_asked(section: Section) -> None:
    article(section, "draft", status="draft", en=("Refund rules draft", "Refund rules."))
    internal = article(section, "internal", en=("Refund rules for agents", "Refund rules."))
    internal.visibility = "internal"
    internal.save()
    assert search("refund rules", "en") == []
    agents = search("refund rules", "en", include_internal=True, include_drafts=True)
    assert {hit.translation.article.key for hit in agents} == {"draft", "internal"}


@pytest.mark.django_db
def test_snippets_mark_the_matching_words_and_escape_the_rest(section: Section) -> None:
    article(
        section,
        "xss",
        en=("Wallet <b>limits</b>", "Your wallet limit is 500 AZN. <script>alert(1)</script>"),
    )
    [hit] = search("wallet limit", "en")
    assert "<mark>wallet</mark>" in hit.snippet
    assert "<script>" not in hit.snippet


@pytest.mark.django_db
def test_another_language_is_not_searched(section: Section) -> None:
    article(section, "reset", en=("Reset your password", "Forgot it?"))
    assert search("password", "tr") == []


def test_markdown_never_lets_script_or_foreign_frames_through() -> None:
    html = render(
        "Hi <script>alert(1)</script> [x](javascript:alert(1))\n\n"
        '<iframe src="https://evil.example/"></iframe>\n\n'
        "!video(https://evil.example/watch?v=abcdefghijk)\n\n"
        "!video(https://www.youtube.com/watch?v=dQw4w9WgXcQ)\n"
    )
    # What is left of them is text, never a tag or a link.
    assert "<script" not in html and 'href="javascript' not in html
    assert '<iframe src="https://evil' not in html
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html


def test_only_allow_listed_video_hosts_embed() -> None:
    assert video_embed_url("https://youtu.be/dQw4w9WgXcQ").endswith("/embed/dQw4w9WgXcQ")  # type: ignore[union-attr]
    assert (
        video_embed_url("https://vimeo.com/76979871") == "https://player.vimeo.com/video/76979871"
    )
    assert video_embed_url("http://www.youtube.com/watch?v=dQw4w9WgXcQ") is None
    assert video_embed_url("https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ") is None


def test_faq_pairs_become_a_question_and_answer_list() -> None:
    html = render("Q: Can I pay by card?\nA: Yes, Visa and Mastercard.\n")
    assert (
        '<dl class="faq"><dt>Can I pay by card?</dt><dd>Yes, Visa and Mastercard.</dd></dl>' in html
    )


@given(st.text(max_size=300), st.sampled_from(["az", "fa", "ru", "tr", "en"]))
def test_analysing_text_twice_changes_nothing_more(value: str, language: str) -> None:
    once = search_text(value, language)
    assert "  " not in once
    assert search_text(once, language) == search_text(search_text(once, language), language)


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzəöüğışç", min_size=1, max_size=20))
def test_a_word_is_most_similar_to_itself(word: str) -> None:
    assert similarity(word, word) == 1.0
    assert 0.0 <= similarity(word, word[::-1]) <= 1.0


@given(st.text(max_size=2000))
def test_any_markdown_renders_to_sanitised_html(body: str) -> None:
    html = render(body).lower()
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert "<iframe" not in html or 'src="https://www.youtube-nocookie.com/' in html


@pytest.mark.django_db
def test_a_word_customers_use_finds_the_article_that_says_it_otherwise(section: Section) -> None:
    article(section, "reset", az=("Şifrənin bərpası", "Şifrənizi unutmusunuzsa yenisini yaradın."))
    assert search("parolu unutmuşam", "az")[0].translation.article.key == "reset"


@pytest.mark.django_db
def test_a_new_word_is_found_misspelt_even_after_the_cache_was_emptied(section: Section) -> None:
    from django.core.cache import cache

    article(section, "wallet", en=("Top up your wallet", "With a card."))
    assert search("walet", "en")[0].translation.article.key == "wallet"
    cache.clear()  # as a restart of the cache server would
    article(section, "reset", en=("Reset your password", "Forgot it? Reset it."))
    assert search("pasword", "en")[0].translation.article.key == "reset"


def test_a_turkish_stem_snowball_ends_with_dotless_i_reads_the_same_when_analysed_again() -> None:
    once = search_text("AÂD", "tr")
    assert search_text(once, "tr") == search_text(search_text(once, "tr"), "tr")
