"""The survey over the API: the customer reads and answers it; agents read the rating."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage

from destek.surveys.models import SurveyAnswer
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db

HAPPY = {"speed": 5, "clarity": 4, "tone": 5, "solved": True, "comment": "Quick, thanks."}


def resolved(customer: Any, agent: Any) -> int:
    number = int(customer.file_ticket()["number"])
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    return number


def test_the_customer_reads_the_questions_then_answers_with_201(customer: Any, agent: Any) -> None:
    number = resolved(customer, agent)
    survey = customer.get(f"tickets/{number}/survey")
    assert survey.status_code == 200
    body = survey.json()
    assert [q["name"] for q in body["questions"]] == [
        "speed",
        "clarity",
        "tone",
        "solved",
        "comment",
    ]
    assert body["answer"] is None
    answered = customer.post(f"tickets/{number}/survey", HAPPY)
    assert answered.status_code == 201, answered.content
    assert answered.json()["answer"]["speed"] == 5
    assert customer.get(f"tickets/{number}/survey").json()["answer"]["comment"] == "Quick, thanks."
    assert Ticket.objects.get(number=number).status == "resolved"


def test_a_score_out_of_range_is_refused_with_422_and_nothing_recorded(
    customer: Any, agent: Any
) -> None:
    number = resolved(customer, agent)
    refused = customer.post(f"tickets/{number}/survey", {**HAPPY, "speed": 6})
    assert refused.status_code == 422
    assert "speed" in refused.json()["detail"]
    assert not SurveyAnswer.objects.exists()


def test_someone_elses_ticket_is_not_found(customer: Any, customer2: Any, agent: Any) -> None:
    number = resolved(customer, agent)
    assert customer2.get(f"tickets/{number}/survey").status_code == 404
    assert customer2.post(f"tickets/{number}/survey", HAPPY).status_code == 404
    assert agent.post(f"tickets/{number}/survey", HAPPY).status_code == 403
    assert not SurveyAnswer.objects.exists()


def test_not_solved_over_the_api_reopens_once_and_agents_see_the_rating(
    customer: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    number = resolved(customer, agent)
    unhappy = {**HAPPY, "solved": False}
    assert customer.post(f"tickets/{number}/survey", unhappy).status_code == 201
    assert customer.post(f"tickets/{number}/survey", unhappy).status_code == 201
    ticket = agent.get(f"tickets/{number}").json()
    assert ticket["status"] == "open"
    assert ticket["priority"] == "high"
    assert ticket["rating"]["solved"] is False
    assert customer.get(f"tickets/{number}").json()["rating"] is None
    assert SurveyAnswer.objects.count() == 1


def test_the_customer_sees_their_rating_on_the_ticket_page(
    customer: Any, agent: Any, users: dict[str, Any]
) -> None:
    from conftest import signed_in_client

    number = resolved(customer, agent)
    customer.post(f"tickets/{number}/survey", {**HAPPY, "comment": "Very clear."})
    page = signed_in_client(users["customer"]).get(f"/my/tickets/{number}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="ticket-rating"' in html and "Very clear." in html


def test_the_agent_sees_the_customers_rating_on_the_desk_ticket_page(
    customer: Any, agent: Any, users: dict[str, Any]
) -> None:
    from conftest import signed_in_client

    number = resolved(customer, agent)
    customer.post(f"tickets/{number}/survey", {**HAPPY, "comment": "Very clear."})
    html = signed_in_client(users["agent"]).get(f"/desk/tickets/{number}/").content.decode()
    assert 'id="ticket-rating"' in html, html[:3000]
    assert "The customer's rating" in html
    assert "Very clear." in html


def test_a_ticket_still_being_worked_cannot_be_rated_so_its_priority_cannot_be_raised(
    customer: Any, agent: Any
) -> None:
    number = int(customer.file_ticket()["number"])
    response = customer.post(f"tickets/{number}/survey", {**HAPPY, "speed": 1, "solved": False})
    assert response.status_code == 409
    assert response.json()["code"] == "survey_not_yet"
    assert agent.get(f"tickets/{number}").json()["priority"] == "normal"
    assert not SurveyAnswer.objects.exists()


def test_the_rating_note_is_signed_by_the_system_not_called_an_automatic_answer(
    customer: Any, agent: Any, users: dict[str, Any]
) -> None:
    from conftest import signed_in_client

    number = resolved(customer, agent)
    customer.post(f"tickets/{number}/survey", {**HAPPY, "solved": False})
    html = signed_in_client(users["agent"]).get(f"/desk/tickets/{number}/").content.decode()
    note = html[html.index('class="message system internal"') :]
    note = note[: note.index("</div>")]
    assert "System" in note and "Automatic answer" not in note
