"""Automatic answers and new tickets speak the language of the customer's own words when
they are clear, else the account's, else the page's; the header's choice is saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from destek.accounts.models import User
from destek.tickets import actions, notifications
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

TURKISH_NUDGE = "Merhaba, ne zaman cevap vereceksiniz? Hâlâ bekliyorum."


def on_a_page_in(language: str, user: User) -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def test_a_turkish_nudge_on_a_turkish_page_gets_a_turkish_answer(
    users: dict[str, User], django_capture_on_commit_callbacks: Any, outbox: list[EmailMessage]
) -> None:
    olga = users["customer2"]
    assert olga.language == "ru"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.create_ticket(
            customer=olga, subject="Fatura sayfası açılmıyor", body="Hata 500.", channel="web"
        )
    outbox.clear()
    page = on_a_page_in("tr", olga)
    with django_capture_on_commit_callbacks(execute=True):
        page.post(f"/my/tickets/{ticket.number}/reply/", {"body": TURKISH_NUDGE})
    answer = Message.objects.get(ticket=ticket, author_kind="system")
    ticket.refresh_from_db()
    assert answer.body == notifications.nudge_answer_text(ticket, language="tr")
    assert answer.body != notifications.nudge_answer_text(ticket, language="ru")
    [mail] = outbox
    assert answer.body in mail.body


def test_an_unclear_nudge_is_answered_in_the_accounts_language(
    users: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    olga = users["customer2"]
    ticket = actions.create_ticket(
        customer=olga, subject="Счёт не открывается", body="Ошибка 500.", channel="web"
    )
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_message(ticket, author=olga, body="any update?")
    answer = Message.objects.get(ticket=ticket, author_kind="system")
    assert answer.body == notifications.nudge_answer_text(ticket, language="ru")


def test_a_new_tickets_language_is_that_of_its_clear_text(
    customer: Any, users: dict[str, User]
) -> None:
    assert users["customer"].language == "az"
    filed = customer.file_ticket(
        subject="Fatura sayfası açılmıyor",
        body="Merhaba, fatura sayfasına giriş yapamıyorum, hata veriyor. Yardım eder misiniz?",
    )
    assert filed["language"] == "tr"
    unclear = customer.file_ticket(subject="VPS 203.0.113.7", body="SSH 500")
    assert unclear["language"] == "az"  # the account's, though the API caller asked for en


def test_a_language_picked_in_the_header_is_saved_to_the_profile(users: dict[str, User]) -> None:
    kamran = users["customer"]
    page = on_a_page_in("az", kamran)
    response = page.post("/i18n/setlang/", {"language": "fa", "next": "/my/tickets/"})
    assert response.status_code == 302
    kamran.refresh_from_db()
    assert kamran.language == "fa"
    assert page.cookies["django_language"].value == "fa"


def test_an_anonymous_visitor_picking_a_language_only_gets_the_cookie(db: None) -> None:
    page = Client()
    response = page.post("/i18n/setlang/", {"language": "tr", "next": "/"})
    assert response.status_code == 302
    assert page.cookies["django_language"].value == "tr"
    assert Ticket.objects.count() == 0
