"""A resolved ticket's survey, as the customer meets it: the mail, its links, the page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.core.mail import EmailMessage
from django.test import Client
from django.utils import timezone

from destek.surveys import tokens
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _at_once(settings: Any) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    settings.DESTEK_SURVEY_EVERY_DAYS = 7


def resolve(customer: Any, agent: Any, subject: str = "Invoice page shows error 500") -> int:
    number = int(customer.file_ticket(subject=subject)["number"])
    response = agent.post(
        f"tickets/{number}/messages", {"body": "Fixed on our side.", "status": "resolved"}
    )
    assert response.status_code == 201, response.content
    return number


def survey_mail(outbox: list[EmailMessage], to: str = "customer@example.com") -> EmailMessage:
    found = [m for m in outbox if m.to == [to] and "How did we do" in m.subject]
    assert len(found) == 1, [m.subject for m in outbox]
    return found[0]


def links(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+/survey/[^\s/]+/(?:\?speed=\d)?", str(message.body))


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_a_resolved_ticket_mails_a_survey_with_one_click_speed_links(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    resolve(customer, agent)
    message = survey_mail(outbox)
    speed_links = [url for url in links(message) if "?speed=" in url]
    assert [url[-1] for url in speed_links] == ["1", "2", "3", "4", "5"]
    assert message.alternatives, "the survey has an HTML part too"  # type: ignore[attr-defined]


def test_opening_a_link_shows_the_page_with_the_answer_chosen_and_records_nothing(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    resolve(customer, agent)
    one_click = next(url for url in links(survey_mail(outbox)) if url.endswith("?speed=4"))
    scanner = Client()
    page = scanner.get(path_of(one_click))
    assert page.status_code == 200
    assert 'name="speed" value="4" checked' in page.content.decode()
    assert 'id="chat-launcher"' not in page.content.decode()  # nothing over the questions
    assert scanner.head(path_of(one_click)).status_code == 200
    assert not SurveyAnswer.objects.exists()


def test_not_solved_reopens_raises_priority_notes_and_tells_the_leads(
    customer: Any, agent: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    number = resolve(customer, agent)
    url = path_of(links(survey_mail(outbox))[0])
    browser = Client()
    page = browser.get(url)
    assert page.status_code == 200
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answered = browser.post(
            url, {"speed": "4", "clarity": "4", "tone": "5", "solved": "no", "comment": "Still 500"}
        )
    assert answered.status_code == 200
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == "open"
    assert ticket.priority == "high"  # one step up from normal
    note = Message.objects.filter(ticket=ticket, internal=True).latest("created_at")
    assert "fully solved: no" in note.body and "Still 500" in note.body
    to_lead = [m for m in outbox if m.to == ["agent@example.com"]]  # the technical lead
    assert len(to_lead) == 1
    assert "aşağı qiymət" in to_lead[0].subject  # in the lead's language (az)
    assert "Still 500" in str(to_lead[0].body)
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert (answer.speed, answer.solved, answer.channel) == (4, False, "api")
    assert answer.agent is not None and answer.agent.email == "agent@example.com"


def test_answering_again_replaces_and_never_reopens_twice(
    customer: Any, agent: Any, outbox: list[EmailMessage], django_capture_on_commit_callbacks: Any
) -> None:
    number = resolve(customer, agent)
    url = path_of(links(survey_mail(outbox))[0])
    browser = Client()
    unhappy = {"speed": "1", "clarity": "1", "tone": "1", "solved": "no"}
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(url, unhappy)
    agent.patch(f"tickets/{number}", {"status": "resolved"})
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(url, {**unhappy, "comment": "Still bad"})
    ticket = Ticket.objects.get(number=number)
    assert ticket.status == "resolved"
    assert ticket.priority == "high"
    assert Message.objects.filter(ticket=ticket, internal=True).count() == 1
    answer = SurveyAnswer.objects.get(ticket=ticket)
    assert answer.comment == "Still bad"
    happy = {"speed": "5", "clarity": "5", "tone": "5", "solved": "yes"}
    browser.post(url, happy)
    assert SurveyAnswer.objects.get(ticket=ticket).solved is True
    assert SurveyAnswer.objects.count() == 1


def test_a_comment_alone_never_reopens(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = resolve(customer, agent)
    url = path_of(links(survey_mail(outbox))[0])
    Client().post(
        url, {"speed": "4", "clarity": "3", "tone": "5", "solved": "yes", "comment": "Slow."}
    )
    assert Ticket.objects.get(number=number).status == "resolved"


def test_an_incomplete_form_is_refused_clearly_and_records_nothing(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    resolve(customer, agent)
    url = path_of(links(survey_mail(outbox))[0])
    page = Client().post(url, {"speed": "9", "clarity": "3", "tone": "5", "solved": "yes"})
    assert page.status_code == 422
    assert "from 1 to 5" in page.content.decode()
    assert not SurveyAnswer.objects.exists()


def test_a_forged_link_is_refused_in_the_readers_language(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = resolve(customer, agent)
    ticket = Ticket.objects.get(number=number)
    forged = signing.dumps({"t": ticket.pk, "v": 1}, salt="another salt")
    page = Client().get(f"/survey/{forged}/", HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 400
    assert 'lang="ru"' in page.content.decode()
    posted = Client().post(f"/survey/{forged}/", {"speed": "1", "clarity": "1", "tone": "1"})
    assert posted.status_code == 400
    assert not SurveyAnswer.objects.exists()


def test_a_link_older_than_fourteen_days_has_expired(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = resolve(customer, agent)
    token = tokens.make(Ticket.objects.get(number=number).pk, 1)
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        page = Client().post(
            f"/survey/{token}/", {"speed": "1", "clarity": "1", "tone": "1", "solved": "no"}
        )
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert Ticket.objects.get(number=number).status == "resolved"


def test_no_second_survey_within_the_days_set(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    resolve(customer, agent)
    resolve(customer, agent, subject="The export button does nothing")
    assert len([m for m in outbox if "How did we do" in m.subject]) == 1
    assert SurveySent.objects.count() == 1


def test_running_the_job_twice_sends_one_survey(
    customer: Any, agent: Any, outbox: list[EmailMessage], run_job: Any
) -> None:
    from destek.surveys.jobs import send_survey

    number = resolve(customer, agent)
    ticket_id = Ticket.objects.get(number=number).pk
    assert run_job(send_survey.call_local, ticket_id) is False
    assert SurveySent.objects.count() == 1


def test_a_persian_customers_survey_mail_counts_in_persian_digits(
    customer: Any, agent: Any, users: dict[str, Any], outbox: list[EmailMessage]
) -> None:
    users["customer"].language = "fa"
    users["customer"].save(update_fields=["language"])
    number = int(customer.file_ticket(subject="Invoice page shows error 500")["number"])
    Ticket.objects.filter(number=number).update(language="fa")
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    found = [m for m in outbox if m.to == ["customer@example.com"] and "/survey/" in str(m.body)]
    assert len(found) == 1
    body = str(found[0].body)
    assert "۱: http" in body and "۵: http" in body and "?speed=5" in body
