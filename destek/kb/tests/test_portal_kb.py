"""The help centre as customers and visitors see it, without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.test import Client

from destek.accounts.models import User
from destek.kb.choices import ArticleEventKind, ArticleStatus, Visibility
from destek.kb.models import ArticleEvent, ArticleFile, Feedback, SearchLog
from destek.kb.tests.pages_helpers import article, page, reset_password, section

pytestmark = pytest.mark.django_db


def visitor(language: str = "en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.cookies["django_language"] = language
    return client


def signed_in(user: Any, language: str = "en") -> Client:
    client = visitor(language)
    client.force_login(user)
    return client


def test_the_help_centre_lists_articles_by_section_in_the_visitors_language(db: Any) -> None:
    reset_password()
    article(
        "english-only",
        {"en": ("Only in English", "This one has no Persian text.")},
        where=section("technical", en="Technical problems", fa="مشکلات فنی"),
    )
    english = visitor("en").get("/kb/").content.decode()
    assert "Account" in english and "Reset your password" in english
    assert "Technical problems" in english and "Only in English" in english
    persian = visitor("fa").get("/kb/")
    text = persian.content.decode()
    assert 'dir="rtl"' in text
    assert "حساب کاربری" in text and "بازنشانی رمز عبور" in text
    assert "Only in English" not in text
    assert "مشکلات فنی" not in text  # a section with nothing in Persian is not shown empty


def test_everyone_sees_the_help_centre_link_in_the_header(customer_client: Client) -> None:
    for client in (visitor(), customer_client):
        assert 'href="/kb/"' in client.get("/kb/").content.decode()
        assert 'href="/kb/"' in client.get("/", follow=True).content.decode()


@pytest.fixture
def customer_client(users: dict[str, User]) -> Client:
    return signed_in(users["customer"])


def test_an_article_page_shows_its_text_date_tags_and_other_languages(db: Any) -> None:
    made = reset_password()
    response = visitor("en").get(page(made, "en"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "<title>Reset your password · Destek</title>" in text
    assert "<strong>Forgot password</strong>" in text
    assert "<ol>" in text
    assert "Last updated" in text and '<time datetime="' in text
    assert ">password</span>" in text and ">sign-in</span>" in text
    assert f'href="{page(made, "fa")}" hreflang="fa" lang="fa">فارسی</a>' in text
    assert f'href="{page(made, "ru")}" hreflang="ru" lang="ru">Русский</a>' in text
    assert f'rel="alternate" hreflang="fa" href="{page(made, "fa")}"' in text


def test_a_persian_article_is_right_to_left_even_when_the_page_is_in_english(db: Any) -> None:
    made = reset_password()
    text = visitor("en").get(page(made, "fa")).content.decode()
    assert '<html lang="en" dir="ltr">' in text
    assert '<article class="card kb-article" lang="fa" dir="rtl">' in text
    assert "بازنشانی رمز عبور" in text
    persian_ui = visitor("fa").get(page(made, "en")).content.decode()
    assert '<html lang="fa" dir="rtl">' in persian_ui
    assert '<article class="card kb-article" lang="en" dir="ltr">' in persian_ui


def test_an_azerbaijani_article_is_left_to_right(db: Any) -> None:
    made = article("az-only", {"az": ("Şifrənin bərpası", "Şifrəni unutmusunuz?")})
    text = visitor("fa").get(page(made, "az")).content.decode()
    assert '<article class="card kb-article" lang="az" dir="ltr">' in text


def test_the_language_switcher_leads_to_the_same_article_in_that_language(db: Any) -> None:
    made = reset_password()
    client = visitor("en")
    russian = client.get(page(made, "ru"))
    assert russian.status_code == 200
    assert "Сброс пароля" in russian.content.decode()
    # It lists the others, not itself.
    text = russian.content.decode()
    assert 'hreflang="en"' in text and 'hreflang="fa"' in text
    assert '<a href="' + page(made, "ru") + '" hreflang="ru"' not in text


def test_related_articles_appear_in_the_pages_language_where_translated(db: Any) -> None:
    made = reset_password()
    other = article(
        "two-factor",
        {
            "en": ("Two-factor sign-in", "Use a code from your app."),
            "ru": ("Двухфакторный вход", "Введите код из приложения."),
        },
    )
    english_only = article("phone", {"en": ("Verify your phone", "We send a code.")})
    made.related.set([other, english_only])
    text = visitor("en").get(page(made, "ru")).content.decode()
    assert "Двухфакторный вход" in text
    assert "Two-factor sign-in" not in text
    assert "Verify your phone" in text  # no Russian text: the English one


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_drafts_and_internal_articles_do_not_exist_for_customers(
    who: str, users: dict[str, User]
) -> None:
    draft = article(
        "draft", {"en": ("Upcoming refund rules", "Not yet.")}, status=ArticleStatus.DRAFT
    )
    internal = article(
        "internal",
        {"en": ("Refund override procedure", "Agents only: the override.")},
        visibility=Visibility.INTERNAL,
    )
    client = visitor() if who == "anonymous" else signed_in(users["customer"])
    assert client.get(page(draft, "en")).status_code == 404
    assert client.get(page(internal, "en")).status_code == 404
    home = client.get("/kb/").content.decode()
    assert "Upcoming refund rules" not in home and "Refund override" not in home
    found = client.get("/kb/search/", {"q": "refund"}).content.decode()
    assert "Upcoming refund rules" not in found and "Refund override" not in found
    assert "Nothing found" in found
    assert client.post(page(internal, "en") + "feedback/", {"helpful": "yes"}).status_code == 404
    assert Feedback.objects.count() == 0


def test_agents_see_internal_articles_marked_as_internal_but_never_drafts(
    users: dict[str, User],
) -> None:
    internal = article(
        "internal",
        {"en": ("Refund override procedure", "Agents only: the override.")},
        visibility=Visibility.INTERNAL,
    )
    draft = article(
        "draft", {"en": ("Upcoming refund rules", "Not yet.")}, status=ArticleStatus.DRAFT
    )
    client = signed_in(users["agent"])
    response = client.get(page(internal, "en"))
    assert response.status_code == 200
    assert "Internal: agents only" in response.content.decode()
    assert "Internal" in client.get("/kb/").content.decode()
    assert "Refund override" in client.get("/kb/search/?q=refund").content.decode()
    assert client.get(page(draft, "en")).status_code == 404


def test_an_unknown_language_or_slug_is_not_found(db: Any) -> None:
    made = reset_password()
    client = visitor()
    assert client.get(page(made, "en").replace("/en/", "/xx/")).status_code == 404
    assert client.get("/kb/en/no-such-article/").status_code == 404


def test_search_shows_title_section_and_highlighted_snippet(db: Any) -> None:
    reset_password()
    response = visitor("en").get("/kb/search/", {"q": "forgot password"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "Reset your password" in text
    assert "Account" in text
    assert "<mark>password</mark>" in text or "<mark>Forgot</mark>" in text
    log = SearchLog.objects.get()
    assert (log.query, log.language, log.results, log.source) == (
        "forgot password",
        "en",
        1,
        "search",
    )


def test_search_that_finds_nothing_offers_to_file_a_ticket(db: Any) -> None:
    reset_password()
    text = visitor("en").get("/kb/search/", {"q": "quantum entanglement"}).content.decode()
    assert "Nothing found" in text
    assert 'href="/my/tickets/new/"' in text
    assert SearchLog.objects.get().results == 0


def test_titles_and_queries_are_shown_as_text(db: Any) -> None:
    made = article(
        "xss",
        {"en": ('<img src=x onerror=alert(1)> password "help"', "About the password form.")},
    )
    client = visitor()
    for url in ("/kb/", page(made, "en"), "/kb/search/?q=password"):
        text = client.get(url).content.decode()
        assert "<img src=x onerror" not in text, url
        assert "&lt;img src=x onerror=alert(1)&gt;" in text, url
    text = client.get("/kb/search/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)</script>" not in text


def test_script_in_an_articles_markdown_never_reaches_the_page(db: Any) -> None:
    made = article(
        "nasty",
        {
            "en": (
                "Nasty article",
                'Hello <script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n'
                "[click](javascript:alert(1))\n",
            )
        },
    )
    text = visitor().get(page(made, "en")).content.decode()
    assert "<script>alert" not in text
    assert "<img src=x" not in text
    assert 'href="javascript:' not in text


def test_a_helpful_vote_is_recorded_once_per_submit_with_its_comment(
    users: dict[str, User],
) -> None:
    made = reset_password()
    client = signed_in(users["customer"])
    response = client.post(
        page(made, "en") + "feedback/",
        {"helpful": "no", "comment": "The mail never came."},
        follow=True,
    )
    assert response.status_code == 200
    assert "Thank you for your feedback." in response.content.decode()
    vote = Feedback.objects.get()
    assert (vote.helpful, vote.comment, vote.language, vote.user) == (
        False,
        "The mail never came.",
        "en",
        users["customer"],
    )
    # The thanks is shown once; the form is back on the next visit.
    assert "Was this helpful?" in client.get(page(made, "en")).content.decode()
    visitor().post(page(made, "fa") + "feedback/", {"helpful": "yes"})
    assert Feedback.objects.count() == 2
    assert Feedback.objects.filter(helpful=True, language="fa", user=None).count() == 1


def test_a_vote_needs_the_csrf_token(db: Any) -> None:
    made = reset_password()
    client = Client(enforce_csrf_checks=True)
    assert client.post(page(made, "en") + "feedback/", {"helpful": "yes"}).status_code == 403
    assert Feedback.objects.count() == 0


def test_a_vote_without_an_answer_is_refused_next_to_the_form(db: Any) -> None:
    made = reset_password()
    response = visitor().post(page(made, "en") + "feedback/", {"comment": "kept"})
    assert response.status_code == 422
    assert "kept" in response.content.decode()
    assert Feedback.objects.count() == 0


def test_a_view_counts_once_per_session_within_half_an_hour(db: Any) -> None:
    made = reset_password()
    client = visitor()
    with time_machine.travel("2025-03-01 10:00:00+00:00", tick=False) as clock:
        client.get(page(made, "en"))
        client.get(page(made, "en"))
        client.get(page(made, "fa"))  # the same article in another language
        other = visitor()  # another reader, elsewhere
        other.defaults["REMOTE_ADDR"] = "198.51.100.7"
        other.get(page(made, "en"))
        assert ArticleEvent.objects.filter(kind=ArticleEventKind.VIEW).count() == 2
        clock.shift(31 * 60)
        client.get(page(made, "en"))
    assert ArticleEvent.objects.filter(kind=ArticleEventKind.VIEW).count() == 3


def test_a_video_article_may_frame_the_allowed_players_only(db: Any) -> None:
    made = article(
        "video",
        {"en": ("Watch how", "Watch:\n\n!video(https://www.youtube.com/watch?v=dQw4w9WgXcQ)\n")},
    )
    plain = reset_password()
    response = visitor().get(page(made, "en"))
    assert "youtube-nocookie.com/embed/dQw4w9WgXcQ" in response.content.decode()
    assert "frame-src https://www.youtube-nocookie.com" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "frame-src" not in visitor().get(page(plain, "en"))["Content-Security-Policy"]


def _file(made: Any, name: str, content_type: str, data: bytes) -> ArticleFile:
    item = ArticleFile(article=made, filename=name, content_type=content_type)
    item.file.save("stored-name", ContentFile(data), save=False)
    item.save()
    return item


def test_an_articles_image_is_shown_inline_and_a_guide_is_downloaded(db: Any) -> None:
    made = reset_password()
    image = _file(made, "screen.png", "image/png", b"\x89PNG\r\n\x1a\nfake")
    guide = _file(made, "Руководство оплаты.pdf", "application/pdf", b"%PDF-1.4 fake")
    client = visitor()
    shown = client.get(f"/kb/files/{image.public_id}/")
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"].startswith("inline;")
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in shown["Content-Security-Policy"]
    assert b"".join(shown.streaming_content) == b"\x89PNG\r\n\x1a\nfake"  # type: ignore[attr-defined]
    download = client.get(f"/kb/files/{guide.public_id}/")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == (
        'attachment; filename="___________ ______.pdf"; '
        "filename*=UTF-8''%D0%A0%D1%83%D0%BA%D0%BE%D0%B2%D0%BE%D0%B4%D1%81%D1%82%D0%B2%D0%BE"
        "%20%D0%BE%D0%BF%D0%BB%D0%B0%D1%82%D1%8B.pdf"
    )
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]


def test_an_svg_or_html_file_is_never_rendered_inline(db: Any) -> None:
    made = reset_password()
    for name, kind in (("x.svg", "image/svg+xml"), ("x.html", "text/html")):
        item = _file(made, name, kind, b"<svg onload=alert(1)>")
        response = visitor().get(f"/kb/files/{item.public_id}/")
        assert response["Content-Type"] == "application/octet-stream", name
        assert response["Content-Disposition"].startswith("attachment;"), name


def test_files_of_hidden_articles_are_not_found_for_customers(users: dict[str, User]) -> None:
    internal = reset_password(visibility=Visibility.INTERNAL)
    draft = article("draft", {"en": ("Draft", "Soon.")}, status=ArticleStatus.DRAFT)
    files = [_file(a, "a.png", "image/png", b"png") for a in (internal, draft)]
    for client in (visitor(), signed_in(users["customer"])):
        for item in files:
            assert client.get(f"/kb/files/{item.public_id}/").status_code == 404
    agent = signed_in(users["agent"])
    for item in files:
        assert agent.get(f"/kb/files/{item.public_id}/").status_code == 200
    assert visitor().get("/kb/files/00000000-0000-0000-0000-000000000000/").status_code == 404


def _many_articles(count: int) -> None:
    where = section()
    previous = None
    for n in range(count):
        made = article(
            f"article-{n}",
            {"en": (f"Article number {n}", f"Text {n}."), "fa": (f"مقاله {n}", "متن.")},
            where=where,
            tags="a, b",
        )
        if previous is not None:
            made.related.add(previous)
        previous = made


def test_the_help_centre_home_takes_a_fixed_number_of_queries(
    django_assert_num_queries: Any, users: dict[str, User]
) -> None:
    _many_articles(12)
    client = signed_in(users["customer"])
    client.get("/kb/")
    # session, user, the articles with their sections
    with django_assert_num_queries(3):
        response = client.get("/kb/")
    assert response.content.decode().count("Article number") == 12
    anonymous = visitor()
    with django_assert_num_queries(1):
        anonymous.get("/kb/")


def test_an_article_page_takes_a_fixed_number_of_queries(
    django_assert_num_queries: Any, django_assert_max_num_queries: Any, users: dict[str, User]
) -> None:
    _many_articles(12)
    client = signed_in(users["customer"])
    url = "/kb/en/article-number-5/"
    client.get(url)
    # session, user, the page, its other languages, related articles (a reload counts no view)
    with django_assert_num_queries(5):
        response = client.get(url)
    assert response.status_code == 200
    anonymous = visitor()
    with django_assert_max_num_queries(8):  # first view: the view and the new session
        anonymous.get(url)
