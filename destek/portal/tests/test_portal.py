"""The customer's pages, without JavaScript: sign in, file, follow, reply, close, reopen."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from destek.accounts.models import User
from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(users: dict[str, User], django_capture_on_commit_callbacks: Any) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer"])
    client.cookies["django_language"] = "en"
    return client


def test_a_customer_signs_in_with_email_and_password(demo: None) -> None:
    client = Client(headers={"Accept-Language": "en"})
    wrong = client.post("/sign-in/", {"email": "customer@example.com", "password": "nope"})
    assert wrong.status_code == 200
    assert "Invalid e-mail or password." in wrong.content.decode()
    right = client.post("/sign-in/", {"email": "Customer@Example.com", "password": "demo"})
    assert right.status_code == 302
    assert client.get("/my/tickets/").status_code == 200


def test_every_page_has_the_support_button(browser: Client) -> None:
    for page in ("/", "/my/tickets/", "/my/tickets/new/"):
        response = browser.get(page, follow=True)
        assert 'class="support-button"' in response.content.decode(), page


def test_filing_a_ticket_in_the_form_shows_its_number(browser: Client) -> None:
    response = browser.post(
        "/my/tickets/new/",
        {
            "subject": "Invoice page shows error 500",
            "body": "It fails since 9:00.",
            "urgency": "normal",
            "department": "",
        },
        follow=True,
    )
    ticket = Ticket.objects.get()
    assert ticket.channel == "web"
    page = response.content.decode()
    assert f"#{ticket.number}" in page
    assert "Awaiting operator reply" in page
    assert "We will answer by" in page


def test_a_refusal_appears_next_to_the_field_and_keeps_what_was_typed(browser: Client) -> None:
    response = browser.post(
        "/my/tickets/new/",
        {
            "subject": "hello",
            "body": "My long description stays here.",
            "urgency": "normal",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The subject says nothing about the problem" in page
    assert "My long description stays here." in page
    assert Ticket.objects.count() == 0


def test_the_ticket_page_shows_the_public_thread_only(
    browser: Client, users: dict[str, User]
) -> None:
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="CSV export never ends.",
        channel="web",
    )
    actions.add_message(ticket, author=users["agent"], body="Secret note", internal=True)
    actions.add_message(ticket, author=users["agent"], body="Please try again now.")
    page = browser.get(f"/my/tickets/{ticket.number}/").content.decode()
    assert "Please try again now." in page
    assert "Secret note" not in page
    assert "Awaiting your reply" in page


def test_reply_close_and_reopen_from_the_ticket_page(
    browser: Client, users: dict[str, User]
) -> None:
    ticket = actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="CSV export never ends.",
        channel="web",
    )
    actions.add_message(ticket, author=users["agent"], body="Which browser?")
    browser.post(f"/my/tickets/{ticket.number}/reply/", {"body": "Firefox 133."})
    ticket.refresh_from_db()
    assert ticket.status == "open"
    browser.post(f"/my/tickets/{ticket.number}/close/")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_reason) == ("closed", "customer")
    browser.post(f"/my/tickets/{ticket.number}/reopen/")
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_another_customers_ticket_is_not_found(browser: Client, users: dict[str, User]) -> None:
    theirs = actions.create_ticket(
        customer=users["customer2"],
        subject="Export fails",
        body="CSV export never ends.",
        channel="web",
    )
    assert browser.get(f"/my/tickets/{theirs.number}/").status_code == 404
    assert browser.post(f"/my/tickets/{theirs.number}/reply/", {"body": "x"}).status_code == 404
    assert browser.post(f"/my/tickets/{theirs.number}/close/").status_code == 404


def test_subjects_are_shown_as_text(browser: Client, users: dict[str, User]) -> None:
    actions.create_ticket(
        customer=users["customer"],
        subject="<script>alert(1)</script> x",
        body="<img src=x onerror=alert(1)>",
        channel="web",
    )
    page = browser.get("/my/tickets/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_persian_pages_are_right_to_left(users: dict[str, User]) -> None:
    client = Client()
    client.force_login(users["customer"])
    client.cookies["django_language"] = "fa"
    page = client.get("/my/tickets/").content.decode()
    assert '<html lang="fa" dir="rtl">' in page


def test_the_users_own_language_is_used_without_a_switch(users: dict[str, User]) -> None:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["customer2"])  # prefers Russian
    assert '<html lang="ru"' in client.get("/my/tickets/").content.decode()


def test_the_ticket_list_costs_the_same_queries_for_2_or_20_tickets(
    browser: Client, users: dict[str, User]
) -> None:
    def count() -> int:
        # Once before: the status banner keeps what it read in the cache (one query cold).
        browser.get("/my/tickets/")
        with CaptureQueriesContext(connection) as queries:
            assert browser.get("/my/tickets/").status_code == 200
        return len(queries)

    for i in range(2):
        actions.create_ticket(
            customer=users["customer"],
            subject=f"Report {i} is blank",
            body=f"Report {i} shows nothing.",
            channel="web",
        )
    small = count()
    for i in range(2, 20):
        actions.create_ticket(
            customer=users["customer"],
            subject=f"Report {i} is blank",
            body=f"Report {i} shows nothing.",
            channel="web",
        )
    assert count() == small


def test_agents_are_not_customers_here(users: dict[str, User]) -> None:
    client = Client()
    client.force_login(users["agent"])
    assert client.get("/my/tickets/").status_code == 403


def test_files_attach_to_a_new_ticket_and_to_a_reply(
    browser: Client, users: dict[str, User]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    browser.post(
        "/my/tickets/new/",
        {
            "subject": "Invoice page shows error 500",
            "body": "Screenshot attached.",
            "urgency": "normal",
            "department": "",
            "attachments": [
                SimpleUploadedFile("shot.png", b"png", content_type="image/png"),
                SimpleUploadedFile("log.txt", b"log", content_type="text/plain"),
            ],
        },
    )
    ticket = Ticket.objects.get()
    browser.post(
        f"/my/tickets/{ticket.number}/reply/",
        {
            "body": "One more.",
            "attachments": SimpleUploadedFile("more.txt", b"x"),
        },
    )
    page = browser.get(f"/my/tickets/{ticket.number}/").content.decode()
    for name in ("shot.png", "log.txt", "more.txt"):
        assert name in page


def test_a_file_over_the_limit_is_refused_next_to_the_field(browser: Client, settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DESTEK_MAX_ATTACHMENT_MB = 1
    response = browser.post(
        "/my/tickets/new/",
        {
            "subject": "Invoice page shows error 500",
            "body": "Huge video attached.",
            "urgency": "normal",
            "attachments": SimpleUploadedFile("big.webm", b"x" * (1024 * 1024 + 1)),
        },
    )
    assert response.status_code == 200
    assert "The file is larger than 1 MB." in response.content.decode()
    assert "Huge video attached." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_a_full_disk_refuses_the_file_keeps_what_was_typed_and_leaves_no_file(
    browser: Client, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import os

    from django.core.files.uploadedfile import SimpleUploadedFile

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    response = browser.post(
        "/my/tickets/new/",
        {
            "subject": "Invoice page shows error 500",
            "body": "Screenshot attached.",
            "urgency": "normal",
            "attachments": SimpleUploadedFile("shot.png", b"\x89PNG" + b"0" * 5000),
        },
    )
    monkeypatch.undo()
    assert response.status_code == 200
    page = response.content.decode()
    assert "The file could not be saved" in page and "Screenshot attached." in page
    assert Ticket.objects.count() == 0
    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == []
