"""Bad input on surveys: answering a thousand times, two answers at once, links to a
survey that is not (or no longer) the reader's."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.db import connection
from django.test import Client

from destek.accounts.models import User
from destek.surveys import actions, tokens
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets import actions as ticket_actions
from destek.tickets.choices import ActorKind, Channel, EventKind
from destek.tickets.models import Message, Ticket

HAPPY = {"speed": 5, "clarity": 4, "tone": 5, "solved": True}
UNHAPPY_FORM = {"speed": "1", "clarity": "1", "tone": "1", "solved": "no"}


@pytest.fixture(autouse=True)
def _at_once(settings: Any) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    settings.DESTEK_SURVEY_EVERY_DAYS = 7
    settings.DESTEK_SURVEY_ANSWERS_PER_HOUR = 3


def resolved(customer: Any, agent: Any) -> Ticket:
    number = int(customer.file_ticket()["number"])
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    return Ticket.objects.get(number=number)


def link(ticket: Ticket) -> str:
    sent = SurveySent.objects.get(ticket=ticket)
    return f"/survey/{tokens.make(ticket.pk, sent.token_version)}/"


@pytest.mark.django_db
@pytest.mark.usefixtures("one_rate_window")
def test_answering_too_often_over_the_api_is_refused_with_429_in_the_customers_language(
    as_user: Any, agent: Any
) -> None:
    customer = as_user("customer", "tr")
    ticket = resolved(customer, agent)
    for _ in range(3):
        assert customer.post(f"tickets/{ticket.number}/survey", HAPPY).status_code == 201
    refused = customer.post(f"tickets/{ticket.number}/survey", {**HAPPY, "speed": 1})
    assert refused.status_code == 429
    assert refused.json()["code"] == "survey_rate_limited"
    assert "bir saat" in refused.json()["detail"]  # Turkish: "in an hour"
    assert SurveyAnswer.objects.get(ticket=ticket).speed == 5  # the refused one changed nothing


@pytest.mark.django_db
@pytest.mark.usefixtures("one_rate_window")
def test_answering_too_often_on_the_page_is_refused_with_429_and_nothing_reopens(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    ticket = resolved(customer, agent)
    page = Client()
    page.cookies["django_language"] = "ru"
    happy_form = {"speed": "5", "clarity": "5", "tone": "5", "solved": "yes"}
    for _ in range(3):
        assert page.post(link(ticket), happy_form).status_code == 200
    refused = page.post(link(ticket), UNHAPPY_FORM)
    assert refused.status_code == 429
    assert "через час" in refused.content.decode()  # Russian: "in an hour"
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"


@pytest.mark.django_db
def test_a_link_to_a_ticket_now_someone_elses_is_not_found(
    customer: Any, agent: Any, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    ticket = resolved(customer, agent)
    url = link(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(customer=users["customer2"])
    assert Client().get(url).status_code == 404
    assert Client().post(url, UNHAPPY_FORM).status_code == 404
    assert not SurveyAnswer.objects.exists()


@pytest.mark.django_db
def test_a_revoked_link_no_longer_opens_the_survey(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    ticket = resolved(customer, agent)
    old = link(ticket)
    actions.revoke_links(SurveySent.objects.get(ticket=ticket).pk)
    assert Client().get(old).status_code == 404
    assert Client().get(link(ticket)).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_unhappy_answers_at_once_reopen_once_and_store_one_answer(demo: None) -> None:
    customer = User.objects.get(email="customer@example.com")
    agent = User.objects.get(email="agent@example.com")
    ticket = ticket_actions.create_ticket(
        customer=customer,
        subject="Invoice page shows error 500",
        body="Since this morning the invoice page fails with error 500.",
        channel=Channel.WEB,
    )
    ticket_actions.change_status(
        ticket, actor=ticket_actions.Actor(ActorKind.AGENT, agent), status="resolved"
    )
    url = link(ticket)
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def answer() -> None:
        try:
            barrier.wait(timeout=10)
            codes.append(Client().post(url, UNHAPPY_FORM).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [200, 200]
    assert SurveyAnswer.objects.filter(ticket=ticket).count() == 1
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("open", "high")
    reopened = ticket.events.filter(kind=EventKind.STATUS, to_value="open").count()
    assert reopened == 1
    assert Message.objects.filter(ticket=ticket, internal=True).count() == 1
