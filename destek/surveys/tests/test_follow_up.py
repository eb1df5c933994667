"""An unhappy answer about a ticket closed too long ago to reopen: a linked follow-up ticket."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client
from django.utils import timezone

from destek.surveys import tokens
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.choices import AuthorKind, EventKind
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

UNHAPPY = {"speed": "2", "clarity": "4", "tone": "5", "solved": "no", "comment": "Still 500"}


@pytest.fixture(autouse=True)
def _at_once(settings: Any) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    settings.DESTEK_SURVEY_EVERY_DAYS = 7


def closed_long_ago(customer: Any, agent: Any) -> tuple[Ticket, str]:
    """A ticket resolved (its survey mailed), then closed beyond its department's window."""
    number = int(customer.file_ticket()["number"])
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    ticket = Ticket.objects.select_related("department").get(number=number)
    days = ticket.department.reopen_window_days + 1
    Ticket.objects.filter(pk=ticket.pk).update(
        status="closed", closed_at=timezone.now() - timedelta(days=days)
    )
    token = tokens.make(ticket.pk, SurveySent.objects.get(ticket=ticket).token_version)
    return Ticket.objects.get(pk=ticket.pk), f"/survey/{token}/"


def test_unhappy_after_the_reopen_window_opens_a_linked_follow_up_and_tells_the_leads(
    customer: Any, agent: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    old, url = closed_long_ago(customer, agent)
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page = Client().post(url, UNHAPPY)
    assert page.status_code == 200
    assert Ticket.objects.get(pk=old.pk).status == "closed"  # stays closed
    follow_up = Ticket.objects.get(related_to=old)
    assert follow_up.customer_id == old.customer_id
    assert follow_up.department_id == old.department_id
    assert follow_up.subject == old.subject
    assert follow_up.status == "new"
    assert follow_up.priority == "high"  # one step above the old ticket's normal
    first = Message.objects.filter(ticket=follow_up).earliest("id")
    assert first.author_kind == AuthorKind.CUSTOMER
    assert "fully solved: no" in first.body and "Still 500" in first.body
    note = Message.objects.get(ticket=follow_up, internal=True)
    assert f"#{old.number}" in note.body and "Still 500" in note.body
    created = follow_up.events.get(kind=EventKind.CREATED)
    assert created.data.get("related_to") == old.number  # the follow-up names the old one
    on_old = Message.objects.get(ticket=old, internal=True, author_kind=AuthorKind.SYSTEM)
    assert f"#{follow_up.number}" in on_old.body  # and the old one names the follow-up
    # The technical lead reads it in their language (az), besides the new-ticket notice.
    to_lead = [m for m in outbox if m.to == ["agent@example.com"] and "aşağı qiymət" in m.subject]
    assert len(to_lead) == 1
    assert f"#{follow_up.number}" in to_lead[0].subject
    assert f"#{old.number}" in str(to_lead[0].body)


def test_answering_again_never_opens_a_second_follow_up(
    customer: Any, agent: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    old, url = closed_long_ago(customer, agent)
    browser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(url, UNHAPPY)
        browser.post(url, {**UNHAPPY, "speed": "1", "comment": "Worse"})
    assert Ticket.objects.filter(related_to=old).count() == 1
    assert SurveyAnswer.objects.get(ticket=old).comment == "Worse"


def test_a_happy_answer_after_the_window_opens_nothing(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    old, url = closed_long_ago(customer, agent)
    Client().post(url, {"speed": "5", "clarity": "5", "tone": "5", "solved": "yes"})
    assert not Ticket.objects.filter(related_to=old).exists()


def test_the_note_is_in_the_companys_language_not_the_customers(
    customer: Any, agent: Any, outbox: list[EmailMessage], settings: Any
) -> None:
    number = int(customer.file_ticket()["number"])
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    ticket = Ticket.objects.get(number=number)
    sent = SurveySent.objects.get(ticket=ticket)
    browser = Client()
    browser.cookies["django_language"] = "ru"  # the customer reads the page in Russian
    page = browser.post(f"/survey/{tokens.make(ticket.pk, sent.token_version)}/", UNHAPPY)
    assert 'lang="ru"' in page.content.decode()
    note = Message.objects.get(ticket=ticket, internal=True)
    assert settings.LANGUAGE_CODE == "en"
    assert "The customer rated this ticket" in note.body
    assert re.search("[а-яА-Я]", note.body) is None
