"""The survey at the end of a live chat, through the chat API: asked in the widget when an
agent served the chat to its end (at most once per customer every N days), answered only by
the chat's own visitor, out-of-range answers refused in the visitor's language, answering
again replaces the answer and reopens the ticket once."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage

from destek.chat.tests.test_chat_api import as_visitor, events, online, start
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Ticket

HAPPY = {"speed": 5, "clarity": 4, "tone": 5, "solved": True, "comment": "Quick, thanks."}
UNHAPPY = {"speed": 4, "clarity": 4, "tone": 5, "solved": False, "comment": "Still broken."}


def served(visitor: Any, agent: Any, *, ended_by: str = "agent") -> dict[str, Any]:
    """A chat an agent took and answered, then ended by `ended_by`."""
    online(agent)
    chat = start(visitor)
    agent.post(f"chats/{chat['id']}/accept")
    agent.post(f"tickets/{chat['ticket']['number']}/messages", {"body": "Done: refunded."})
    if ended_by == "agent":
        response = agent.post(f"chats/{chat['id']}/end", {})
    else:
        response = visitor.post(f"chats/{chat['id']}/end", {}, headers=as_visitor(chat))
    assert response.status_code == 200, response.content
    return chat


def survey_url(chat: dict[str, Any]) -> str:
    return f"chats/{chat['id']}/survey"


@pytest.mark.parametrize("ended_by", ["agent", "visitor"])
def test_the_end_of_a_served_chat_asks_the_survey_in_the_widget(
    anonymous: Any, agent: Any, ended_by: str
) -> None:
    chat = served(anonymous, agent, ended_by=ended_by)
    ended = events(anonymous, chat)[-1]
    assert ended["type"] == "ended" and ended["survey"] is True
    survey = anonymous.get(survey_url(chat), headers=as_visitor(chat))
    assert survey.status_code == 200, survey.content
    body = survey.json()
    assert body["asked"] is True and body["answer"] is None
    assert [q["name"] for q in body["questions"]] == [
        "speed",
        "clarity",
        "tone",
        "solved",
        "comment",
    ]
    sent = SurveySent.objects.get(ticket__number=chat["ticket"]["number"])
    assert sent.via == "chat"


def test_the_visitor_answers_with_201_and_answering_again_replaces_it(
    anonymous: Any, agent: Any
) -> None:
    chat = served(anonymous, agent)
    first = anonymous.post(survey_url(chat), HAPPY, headers=as_visitor(chat))
    assert first.status_code == 201, first.content
    assert first.json()["answer"]["speed"] == 5
    assert first.json()["reopened"] is False
    again = anonymous.post(survey_url(chat), {**HAPPY, "speed": 3}, headers=as_visitor(chat))
    assert again.status_code == 201
    assert SurveyAnswer.objects.get().speed == 3
    assert Ticket.objects.get(number=chat["ticket"]["number"]).status == "resolved"
    # The agent reads it too, through the same door.
    assert agent.get(survey_url(chat)).json()["answer"]["speed"] == 3


def test_not_solved_reopens_the_ticket_once_and_it_goes_on_by_mail(
    anonymous: Any, agent: Any, outbox: list[EmailMessage]
) -> None:
    chat = served(anonymous, agent)
    answered = anonymous.post(survey_url(chat), UNHAPPY, headers=as_visitor(chat))
    assert answered.status_code == 201, answered.content
    assert answered.json()["reopened"] is True
    ticket = Ticket.objects.get(number=chat["ticket"]["number"])
    assert ticket.status == "open"
    assert ticket.priority == "high"
    # The agent's answer reaches the visitor at the address they gave.
    assert ticket.notify_customer and ticket.notify_address == "leyla@example.net"
    again = anonymous.post(survey_url(chat), UNHAPPY, headers=as_visitor(chat))
    assert again.status_code == 201
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"  # never raised twice
    notes = ticket.messages.filter(internal=True, body__contains="fully solved")
    assert notes.count() == 1


def test_a_signed_in_customer_answers_with_their_own_token(customer: Any, agent: Any) -> None:
    chat = served(customer, agent)
    answered = customer.post(survey_url(chat), HAPPY)
    assert answered.status_code == 201, answered.content
    assert SurveyAnswer.objects.get().customer.email == "customer@example.com"


def test_a_forged_token_or_another_chats_token_answers_nothing(
    anonymous: Any, customer2: Any, agent: Any, finance: Any
) -> None:
    chat = served(anonymous, agent)
    other = served(anonymous, agent)
    for headers in (as_visitor(other), {"X-Chat-Token": "dcv_forged"}, {}):
        assert anonymous.post(survey_url(chat), HAPPY, headers=headers).status_code == 404
        assert anonymous.get(survey_url(chat), headers=headers).status_code == 404
    assert customer2.post(survey_url(chat), HAPPY).status_code == 404
    assert finance.post(survey_url(chat), HAPPY).status_code == 404  # another department
    refused = agent.post(survey_url(chat), HAPPY)
    assert refused.status_code == 403
    assert refused.json()["code"] == "customers_only"
    assert not SurveyAnswer.objects.filter(ticket__number=chat["ticket"]["number"]).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [({"speed": 6}, "speed"), ({"clarity": 0}, "clarity"), ({"tone": -1}, "tone")],
)
def test_an_answer_out_of_range_is_a_clear_422_and_records_nothing(
    anonymous: Any, agent: Any, change: dict[str, int], field: str
) -> None:
    chat = served(anonymous, agent)
    refused = anonymous.post(survey_url(chat), {**HAPPY, **change}, headers=as_visitor(chat))
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "survey_score_out_of_range" and body["field"] == field
    assert "1 to 5" in body["detail"]
    assert not SurveyAnswer.objects.exists()


def test_the_refusal_is_in_the_visitors_language(as_user: Any, agent: Any) -> None:
    visitor = as_user(None, "fa")
    chat = served(visitor, agent)
    refused = visitor.post(survey_url(chat), {**HAPPY, "speed": 9}, headers=as_visitor(chat))
    assert refused.status_code == 422
    assert "سرعت اولین پاسخ" in refused.json()["detail"]


def test_a_customer_asked_within_the_last_days_is_not_asked_again(
    customer: Any, agent: Any, settings: Any
) -> None:
    settings.DESTEK_SURVEY_EVERY_DAYS = 7
    first = served(customer, agent)
    assert events(customer, first)[-1]["survey"] is True
    second = served(customer, agent)
    assert events(customer, second)[-1]["survey"] is False
    assert customer.get(survey_url(second)).json()["asked"] is False
    refused = customer.post(survey_url(second), HAPPY)
    assert refused.status_code == 409
    assert refused.json()["code"] == "survey_not_asked"
    assert SurveySent.objects.count() == 1


def test_a_chat_that_goes_on_as_a_ticket_or_nobody_answered_asks_nothing_yet(
    anonymous: Any, agent: Any
) -> None:
    online(agent)
    unanswered = start(anonymous)
    anonymous.post(f"chats/{unanswered['id']}/end", {}, headers=as_visitor(unanswered))
    assert events(anonymous, unanswered)[-1]["survey"] is False
    kept = start(anonymous)
    agent.post(f"chats/{kept['id']}/accept")
    agent.post(f"tickets/{kept['ticket']['number']}/messages", {"body": "Asking billing."})
    agent.post(f"chats/{kept['id']}/end", {"keep_open": True})
    assert events(anonymous, kept)[-1]["survey"] is False
    assert not SurveySent.objects.exists()


def test_a_live_chat_has_no_survey_to_answer(anonymous: Any, agent: Any) -> None:
    online(agent)
    chat = start(anonymous)
    refused = anonymous.post(survey_url(chat), HAPPY, headers=as_visitor(chat))
    assert refused.status_code == 409


def test_the_survey_asked_in_the_chat_is_not_mailed_again(
    customer: Any, agent: Any, outbox: list[EmailMessage], settings: Any
) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    chat = served(customer, agent)
    assert events(customer, chat)[-1]["survey"] is True
    assert not [m for m in outbox if "/survey/" in str(m.body)]
    assert SurveySent.objects.get().via == "chat"


def test_the_agent_sees_the_answer_on_the_chat_page(
    anonymous: Any, agent: Any, users: dict[str, Any]
) -> None:
    from conftest import signed_in_client

    chat = served(anonymous, agent)
    anonymous.post(survey_url(chat), UNHAPPY, headers=as_visitor(chat))
    page = signed_in_client(users["agent"]).get(f"/desk/chats/{chat['id']}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="survey-answer"' in html and "Still broken." in html
