"""The knowledge base in the desk: agents list, search, write, preview, upload, draft from a
ticket, link from a reply, and read the reports; customers never get in."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.encoding import iri_to_uri

from destek.accounts.models import User
from destek.demo.data import load_demo
from destek.desk.article_drafts import thread_as_markdown
from destek.kb import actions as kb_actions
from destek.kb import editing, reports
from destek.kb.choices import ArticleEventKind
from destek.kb.models import Article, ArticleFile, SearchLog, Section, Translation
from destek.kb.search import search
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    return signed_in(users["agent"])


@pytest.fixture
def section(db: Any) -> Section:
    return Section.objects.create(slug="account", position=10, titles={"en": "Account"})


def article(
    section: Section,
    title: str,
    *,
    language: str = "en",
    status: str = "published",
    visibility: str = "public",
    body: str = "Some words about it.",
) -> Article:
    return editing.create_article(
        section=section,
        status=status,
        visibility=visibility,
        language=language,
        title=title,
        body=body,
    )


def filed(users: dict[str, User], subject: str = "Cannot reset my password") -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=subject,
        body="The reset mail never arrives.",
        channel="web",
        language="az",
    )


def test_customers_and_strangers_never_reach_the_desk_knowledge_base(
    users: dict[str, User], section: Section
) -> None:
    found = article(section, "Reset your password")
    pages = [
        "/desk/kb/",
        "/desk/kb/?q=password",
        "/desk/kb/new/",
        "/desk/kb/reports/",
        f"/desk/kb/{found.pk}/",
        f"/desk/kb/{found.pk}/en/",
    ]
    posts = [
        "/desk/kb/new/",
        "/desk/kb/preview/",
        f"/desk/kb/{found.pk}/",
        f"/desk/kb/{found.pk}/en/",
        f"/desk/kb/{found.pk}/files/",
    ]
    customer = signed_in(users["customer"])
    stranger = Client()
    for url in pages:
        assert customer.get(url).status_code == 403, url
        assert stranger.get(url).status_code == 302, url
    for url in posts:
        assert customer.post(url, {"title": "x", "body": "x"}).status_code == 403, url
        assert stranger.post(url, {"title": "x", "body": "x"}).status_code == 302, url
    assert Translation.objects.get().title == "Reset your password"


def test_an_agent_writes_an_article_in_two_languages_publishes_it_and_search_finds_it(
    desk: Client, section: Section
) -> None:
    response = desk.post(
        "/desk/kb/new/",
        {
            "language": "en",
            "title": "Top up your wallet",
            "body": "Open **Wallet** and choose *Top up*.",
            "section": section.pk,
            "status": "draft",
            "visibility": "public",
            "tags": "wallet, money, wallet",
        },
    )
    assert response.status_code == 302
    created = Article.objects.get()
    assert created.status == "draft" and created.tags == "wallet, money"
    assert search("wallet", "en") == []  # a draft is not for customers yet
    response = desk.post(
        f"/desk/kb/{created.pk}/ru/",
        {"title": "Пополнение кошелька", "body": "Откройте **Кошелёк** и нажмите «Пополнить»."},
    )
    assert response.status_code == 302
    response = desk.post(
        f"/desk/kb/{created.pk}/",
        {"section": section.pk, "status": "published", "visibility": "public", "tags": "wallet"},
    )
    assert response.status_code == 302
    assert [hit.translation.article for hit in search("wallet", "en")] == [created]
    assert [hit.translation.article for hit in search("кошелька", "ru")] == [created]
    listing = desk.get("/desk/kb/").content.decode()
    assert "Top up your wallet" in listing and "Published" in listing
    ru = Translation.objects.get(language="ru")
    assert "<strong>Кошелёк</strong>" in ru.body_html


def test_the_list_shows_drafts_and_internal_articles_and_which_languages_are_missing(
    desk: Client, section: Section
) -> None:
    article(section, "Refund rules for agents", visibility="internal", status="draft")
    page = desk.get("/desk/kb/").content.decode()
    assert "Refund rules for agents" in page
    assert "Internal (agents only)" in page and "Draft" in page
    for code in ("az", "fa", "ru", "tr"):
        assert f"/{code}/" in page
    results = desk.get("/desk/kb/?q=refund&lang=en").content.decode()
    assert 'id="kb-results"' in results
    assert results.count("Refund rules for agents") == 2  # in the results and in the list


def test_the_preview_renders_without_saving_and_a_script_never_survives(
    desk: Client, section: Section
) -> None:
    found = article(section, "Two-factor sign-in", body="The old text.")
    evil = "## Steps\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))\n\n1. Open it"
    response = desk.post(
        f"/desk/kb/{found.pk}/en/",
        {"title": "Two-factor sign-in", "body": evil, "preview": "1"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    shown = page.split('id="kb-preview"', 1)[1].split("</section>", 1)[0]
    assert "<h2>Steps</h2>" in shown and "<ol>" in shown
    assert "<script" not in shown and 'href="javascript' not in shown
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\n" in page  # kept in the text box, as text
    assert Translation.objects.get().body == "The old text."
    live = desk.post("/desk/kb/preview/", {"body": evil, "article": found.pk})
    assert live.status_code == 200
    assert "<h2>Steps</h2>" in live.content.decode()
    assert "<script" not in live.content.decode()
    assert 'href="javascript' not in live.content.decode()
    assert Translation.objects.get().body == "The old text."


def test_a_video_line_previews_as_an_allowed_player_and_the_editor_allows_that_frame(
    desk: Client, section: Section
) -> None:
    found = article(section, "Publish an event")
    response = desk.post(
        f"/desk/kb/{found.pk}/en/",
        {
            "title": "Publish an event",
            "body": "!video(https://www.youtube.com/watch?v=dQw4w9WgXcQ)",
            "preview": "1",
        },
    )
    assert "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ" in response.content.decode()
    assert "frame-src https://www.youtube-nocookie.com" in response["Content-Security-Policy"]


def test_a_refused_save_says_why_next_to_the_field_and_keeps_what_was_typed(
    desk: Client, section: Section
) -> None:
    article(section, "Reset your password")  # slug reset-your-password
    other = article(section, "Change your e-mail address", body="Old body.")
    typed = "A long text the agent must not lose: step one, step two."
    response = desk.post(f"/desk/kb/{other.pk}/en/", {"title": "  ", "body": typed})
    page = response.content.decode()
    assert response.status_code == 422
    assert "An article needs a title." in page and typed in page
    response = desk.post(
        f"/desk/kb/{other.pk}/en/",
        {"title": "New title", "slug": "reset-your-password", "body": typed},
    )
    page = response.content.decode()
    assert response.status_code == 422
    assert "Another article already uses this address in this language." in page
    assert typed in page and "New title" in page
    assert Translation.objects.get(article=other).body == "Old body."
    response = desk.post(
        "/desk/kb/new/",
        {"language": "en", "title": "Fresh", "body": " ", "section": section.pk,
         "status": "draft", "visibility": "public"},
    )  # fmt: skip
    assert response.status_code == 422 and "An article needs a text." in response.content.decode()
    assert Article.objects.count() == 2  # no article without its text


def test_images_and_pdf_guides_upload_within_the_type_and_size_limits(
    desk: Client, section: Section, settings: Any
) -> None:
    found = article(section, "Take a screenshot", body="![The button](file:shot-1.png)")
    response = desk.post(
        f"/desk/kb/{found.pk}/files/",
        {"file": SimpleUploadedFile("shot\u202e 1.png", PNG, content_type="text/html")},
    )
    assert response.status_code == 302
    stored = ArticleFile.objects.get()
    assert stored.filename == "shot-1.png" and stored.content_type == "image/png"
    html = Translation.objects.get().body_html
    assert f'src="/kb/files/{stored.public_id}/"' in html  # the reference works at once
    pdf = SimpleUploadedFile("guide.PDF", b"%PDF-1.4\n...", content_type="application/pdf")
    assert desk.post(f"/desk/kb/{found.pk}/files/", {"file": pdf}).status_code == 302
    assert ArticleFile.objects.filter(filename="guide.pdf").exists()
    page = desk.get(f"/desk/kb/{found.pk}/").content.decode()
    assert "[guide.pdf](file:guide.pdf)" in page and "![](file:shot-1.png)" in page
    for name, data in (
        ("page.html", b"<html><script>alert(1)</script>"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("fake.png", b"MZ\x90\x00 not an image"),
    ):
        response = desk.post(
            f"/desk/kb/{found.pk}/files/",
            {"file": SimpleUploadedFile(name, data, content_type="image/png")},
        )
        assert response.status_code == 415, name
        assert "Only PNG, JPEG, GIF and WebP images and PDF documents" in response.content.decode()
    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    big = SimpleUploadedFile("big.png", PNG + b"\0" * (1024 * 1024), content_type="image/png")
    response = desk.post(f"/desk/kb/{found.pk}/files/", {"file": big})
    assert response.status_code == 413
    assert "The file is larger than 1 MB." in response.content.decode()
    assert ArticleFile.objects.count() == 2


def test_the_same_file_name_twice_gets_a_second_name() -> None:
    assert editing._file_name("a.png", "image/png", {"a.png"}) == "a-2.png"
    assert editing._file_name("notes.exe", "application/pdf", set()) == "notes.exe.pdf"
    assert editing._file_name("my (1) pic.JPG", "image/jpeg", set()) == "my-1-pic.jpg"
    assert editing.sniff(io.BytesIO(b"RIFF\0\0\0\0WEBPVP8 ").read()) == "image/webp"
    assert editing.sniff(b"RIFF\0\0\0\0WAVEfmt ") is None


def test_an_article_from_a_ticket_is_a_draft_of_its_public_thread_without_internal_notes(
    desk: Client, users: dict[str, User], section: Section
) -> None:
    ticket = filed(users)
    actions.add_message(ticket, author=users["agent"], body="Customer is rude, VIP?", internal=True)
    actions.add_message(
        ticket, author=users["agent"], body="Check the spam folder, then ask again."
    )
    assert ticket.language == "az"
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert f"/desk/kb/new/?ticket={ticket.number}" in page
    response = desk.get(f"/desk/kb/new/?ticket={ticket.number}")
    page = response.content.decode()
    assert "Cannot reset my password" in page
    assert "&gt; The reset mail never arrives." in page
    assert "Check the spam folder, then ask again." in page
    assert "Customer is rude" not in page
    assert '<option value="az" selected>' in page
    assert Article.objects.count() == 0  # opening the form creates nothing
    response = desk.post(
        "/desk/kb/new/",
        {
            "language": "az",
            "title": "Şifrə bərpası məktubu gəlmir",
            "body": thread_as_markdown(ticket),
            "section": section.pk,
            "status": "draft",
            "visibility": "public",
            "ticket": ticket.number,
        },
    )
    assert response.status_code == 302
    draft = Article.objects.get()
    assert draft.status == "draft" and draft.source_ticket == ticket
    assert "rude" not in Translation.objects.get(article=draft, language="az").body
    finance = signed_in(users["finance"])  # not the Finance department's ticket
    assert finance.get(f"/desk/kb/new/?ticket={ticket.number}").status_code == 404


def test_insert_a_link_lists_only_published_public_articles_in_the_tickets_language(
    desk: Client, users: dict[str, User], section: Section, settings: Any
) -> None:
    settings.BASE_URL = "https://help.example.com"
    article(section, "Şifrəni necə bərpa etmək olar", language="az")
    article(section, "Reset your password", language="en")
    article(section, "Qaralama məqalə", language="az", status="draft")
    article(section, "Daxili qayda", language="az", visibility="internal")
    ticket = filed(users)
    # The menu on the ticket page asks for its list when it opens (htmx): the page itself
    # runs no knowledge-base search.
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    links_url = f"/desk/tickets/{ticket.number}/articles/"
    assert 'id="kb-insert-link"' in page and f'hx-get="{links_url}"' in page
    assert "Şifrəni necə bərpa etmək olar" not in page
    menu = desk.get(links_url, headers={"HX-Request": "true"})
    assert "HX-Request" in menu["Vary"]
    fragment = menu.content.decode()
    assert "<html" not in fragment and 'id="kb-links" lang="az"' in fragment
    assert "Şifrəni necə bərpa etmək olar" in fragment
    slug = Translation.objects.get(
        language="az", article__status="published", article__visibility="public"
    ).slug
    escaped = iri_to_uri(f"https://help.example.com/kb/az/{slug}/")
    assert f'data-url="{escaped}"' in fragment  # what a reply inserts: works in any mail
    # What the agent reads is the address in its own letters, left to right in any page.
    assert f'dir="ltr">https://help.example.com/kb/az/{slug}/</a>' in fragment
    for hidden in ("Reset your password", "Qaralama məqalə", "Daxili qayda"):
        assert hidden not in fragment
    # Without JavaScript the menu's link opens the same list as a page, to copy from.
    whole = desk.get(links_url).content.decode()
    assert "<html" in whole and "Şifrəni necə bərpa etmək olar" in whole
    assert f'href="/desk/tickets/{ticket.number}/"' in whole


def test_the_link_menu_of_a_ticket_in_another_department_is_not_found(
    users: dict[str, User], section: Section
) -> None:
    article(section, "Şifrəni necə bərpa etmək olar", language="az")
    ticket = filed(users)
    finance = signed_in(users["finance"])
    url = f"/desk/tickets/{ticket.number}/articles/"
    assert finance.get(url, headers={"HX-Request": "true"}).status_code == 404
    customer = Client()
    customer.force_login(users["customer"])
    assert customer.get(url, headers={"HX-Request": "true"}).status_code == 403


def test_the_link_menu_says_so_when_no_article_is_in_the_tickets_language(
    desk: Client, users: dict[str, User], section: Section
) -> None:
    article(section, "Reset your password", language="en")
    ticket = filed(users)  # in Azerbaijani
    fragment = desk.get(
        f"/desk/tickets/{ticket.number}/articles/", headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="kb-links-none"' in fragment and "Reset your password" not in fragment


def _events(found: Article, kind: str, n: int, language: str = "en") -> None:
    for _i in range(n):
        kb_actions.record_event(found, kind, language=language)


def test_reports_count_views_votes_deflections_and_searches_that_found_nothing(
    desk: Client, users: dict[str, User], section: Section, django_assert_num_queries: Any
) -> None:
    read = article(section, "Failed payment")
    quiet = article(section, "Support hours")
    _events(read, ArticleEventKind.VIEW, 5)
    _events(quiet, ArticleEventKind.VIEW, 1)
    for visit, ticket in (("v1", None), ("v2", None), ("v3", filed(users))):
        kb_actions.record_event(read, ArticleEventKind.SUGGESTED_OPEN, language="en", visit=visit)
        kb_actions.settle_visit(visit, ticket=ticket)
    kb_actions.settle_visit("v1")  # twice changes nothing
    for helpful, comment in ((True, ""), (True, "Clear!"), (False, "Too long"), (False, "")):
        kb_actions.give_feedback(read, language="en", helpful=helpful, comment=comment)
    for query, language in (
        ("iban", "en"), ("IBAN", "en"), ("iban", "en"), ("kripto", "az"), ("wallet", "en"),
    ):  # fmt: skip
        kb_actions.record_search(query, language, 0 if query != "wallet" else 3, "search")
    old = SearchLog.objects.create(query="ancient", language="en", results=0)
    SearchLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    rows = {row.article.pk: row for row in reports.article_rows("en")}
    first = rows[read.pk]
    assert (first.views, first.suggested_opens, first.deflections, first.filed_anyway) == (
        5, 3, 2, 1,
    )  # fmt: skip
    assert (first.helpful, first.votes, first.comments, first.helpful_share) == (2, 4, 2, 0.5)
    assert rows[quiet.pk].views == 1 and rows[quiet.pk].helpful_share is None
    empty = reports.empty_searches()
    assert [(e.query, e.language, e.count) for e in empty] == [
        ("iban", "en", 3),
        ("kripto", "az", 1),
    ]

    for _i in range(5):
        article(section, f"Extra article {_i}")
    # session, user, articles, their titles, events, votes, empty searches
    with django_assert_num_queries(7):
        page = desk.get("/desk/kb/reports/").content.decode()
    assert "Failed payment" in page and "50 %" in page and "kripto" in page
    assert "ancient" not in page and "wallet</td>" not in page


def test_the_list_page_takes_the_same_few_queries_whatever_the_number_of_articles(
    desk: Client,
    section: Section,
    django_assert_num_queries: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for i in range(12):
        found = article(section, f"Article number {i}", status="draft" if i % 2 else "published")
        kb_actions.save_translation(found, language="ru", title=f"Статья {i}", body="Текст.")
    with django_assert_num_queries(4):  # session, user, articles, their languages
        assert desk.get("/desk/kb/").status_code == 200
    desk.get("/desk/kb/?q=article&lang=en")  # warm the vocabulary cache
    with django_assert_max_num_queries(8):
        page = desk.get("/desk/kb/?q=article&lang=en").content.decode()
    assert page.count('<li data-article="') == 12


def test_the_demo_knowledge_base_loads_twice_without_duplicates(db: Any) -> None:
    load_demo(knowledge_base=True)
    counts = (Section.objects.count(), Article.objects.count(), Translation.objects.count())
    load_demo(knowledge_base=True)
    assert counts[1] >= 10 and counts[2] >= counts[1]
    assert (Section.objects.count(), Article.objects.count(), Translation.objects.count()) == (
        counts
    )


def test_the_admin_writes_translations_through_the_action_so_search_follows(
    users: dict[str, User], section: Section
) -> None:
    found = article(section, "Browser requirements", body="Use a recent browser.")
    client = signed_in(users["admin"])
    for page in ("kb/section", "kb/article", "kb/feedback", "kb/searchlog", "kb/articleevent"):
        assert client.get(f"/admin/{page}/").status_code == 200, page
    translation = Translation.objects.get()
    response = client.post(
        f"/admin/kb/article/{found.pk}/change/",
        {
            "key": found.key,
            "section": section.pk,
            "status": "published",
            "visibility": "public",
            "tags": "",
            "position": 0,
            "created_at_0": "2025-01-01",
            "created_at_1": "10:00:00",
            "translations-TOTAL_FORMS": 2,
            "translations-INITIAL_FORMS": 1,
            "translations-MIN_NUM_FORMS": 0,
            "translations-MAX_NUM_FORMS": 1000,
            "translations-0-id": translation.pk,
            "translations-0-article": found.pk,
            "translations-0-language": "en",
            "translations-0-title": "Supported browsers and devices",
            "translations-0-slug": "",
            "translations-0-body": "Use a recent **Firefox** or Chrome.",
            "translations-1-article": found.pk,
            "translations-1-language": "tr",
            "translations-1-title": "Tarayıcı gereksinimleri",
            "translations-1-slug": "",
            "translations-1-body": "Güncel bir tarayıcı kullanın.",
            "files-TOTAL_FORMS": 0,
            "files-INITIAL_FORMS": 0,
            "files-MIN_NUM_FORMS": 0,
            "files-MAX_NUM_FORMS": 1000,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    translation.refresh_from_db()
    assert translation.slug == "supported-browsers-and-devices"
    assert "<strong>Firefox</strong>" in translation.body_html
    assert [hit.translation for hit in search("firefox", "en")] == [translation]
    assert search("tarayıcı", "tr")[0].translation.title == "Tarayıcı gereksinimleri"
    assert settings.LANGUAGE_CODE  # the admin kept the site working


def test_a_full_disk_while_adding_an_article_file_is_said_next_to_the_field(
    desk: Client, section: Section, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from django.core.files.storage import Storage

    def disk_full(self: Any, name: str, content: Any, max_length: int | None = None) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    found = article(section, "Take a screenshot", body="Press the button.")
    monkeypatch.setattr(Storage, "save", disk_full)
    response = desk.post(
        f"/desk/kb/{found.pk}/files/",
        {"file": SimpleUploadedFile("shot.png", PNG, content_type="image/png")},
    )
    assert response.status_code == 507
    assert "the server has no room for it right now" in response.content.decode()
    assert not ArticleFile.objects.exists()
