"""The admin reads survey answers and the surveys sent; nobody edits an answer there."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from destek.accounts.models import User
from destek.surveys.models import SurveySent
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _at_once(settings: Any) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    settings.DESTEK_SURVEY_EVERY_DAYS = 0


def answered(customer: Any, agent: Any, subject: str) -> int:
    number = int(customer.file_ticket(subject=subject)["number"])
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    rating = {"speed": 4, "clarity": 4, "tone": 5, "solved": True, "comment": ""}
    assert customer.post(f"tickets/{number}/survey", rating).status_code == 201
    return number


def test_the_admin_lists_answers_and_surveys_sent_in_a_fixed_number_of_queries(
    customer: Any,
    agent: Any,
    users: dict[str, User],
    outbox: list[EmailMessage],
    django_assert_max_num_queries: Any,
) -> None:
    first = answered(customer, agent, "Invoice page shows error 500")
    client = Client()
    client.force_login(users["admin"])
    with django_assert_max_num_queries(12):
        one = client.get("/admin/surveys/surveyanswer/")
    answered(customer, agent, "The export button does nothing")
    answered(customer, agent, "Password reset mail never arrives")
    with django_assert_max_num_queries(12) as counted:
        page = client.get("/admin/surveys/surveyanswer/?solved__exact=1")
    assert one.status_code == page.status_code == 200
    assert f"#{first}" in page.content.decode()
    assert len(counted.captured_queries) <= 12
    assert client.get("/admin/surveys/surveysent/?via__exact=email").status_code == 200
    assert client.get("/admin/surveys/surveyanswer/add/").status_code == 403


def test_revoking_links_from_the_admin_bumps_the_version(
    customer: Any, agent: Any, users: dict[str, User], outbox: list[EmailMessage]
) -> None:
    number = answered(customer, agent, "Invoice page shows error 500")
    sent = SurveySent.objects.get(ticket=Ticket.objects.get(number=number))
    client = Client()
    client.force_login(users["admin"])
    response = client.post(
        "/admin/surveys/surveysent/",
        {"action": "revoke_selected_links", "_selected_action": [sent.pk]},
    )
    assert response.status_code == 302
    sent.refresh_from_db()
    assert sent.token_version == 2


def test_nobody_deletes_a_sent_survey_or_an_answer_in_the_admin(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    from conftest import signed_in_client

    number = answered(customer, agent, "Printer jams")
    sent = SurveySent.objects.get(ticket__number=number)
    admin = signed_in_client(users["admin"])
    assert admin.get(f"/admin/surveys/surveysent/{sent.pk}/delete/").status_code == 403
    assert (
        admin.post(f"/admin/surveys/surveysent/{sent.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert SurveySent.objects.filter(pk=sent.pk).exists()
