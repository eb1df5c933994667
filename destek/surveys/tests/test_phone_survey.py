"""After a phone ticket the survey goes by mail, when the caller has an address."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.mail import EmailMessage

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.desk.actions import file_phone_ticket
from destek.surveys.models import SurveySent
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _at_once(settings: Any) -> None:
    settings.DESTEK_SURVEY_DELAY_MINUTES = 0
    settings.DESTEK_SURVEY_EVERY_DAYS = 7


def phone_ticket(users: dict[str, User], customer: str, run_job: Any) -> Ticket:
    ticket: Ticket = run_job(
        file_phone_ticket,
        users["agent"],
        customer=customer,
        subject="Cannot sign in to the panel",
        body="Called: the panel refuses the password.",
        department=None,
        priority="normal",
    )
    return ticket


def test_a_resolved_phone_ticket_mails_the_caller_a_survey(
    users: dict[str, User], agent: Any, outbox: list[EmailMessage], run_job: Any
) -> None:
    ticket = phone_ticket(users, "customer@example.com", run_job)
    assert ticket.channel == "phone"
    agent.post(f"tickets/{ticket.number}/messages", {"body": "Reset it.", "status": "resolved"})
    sent = SurveySent.objects.get(ticket=ticket)
    assert sent.via == "email"
    surveys = [m.to for m in outbox if "/survey/" in str(m.body)]
    assert surveys == [["customer@example.com"]]


def test_a_caller_without_an_address_gets_no_survey_and_no_error(
    users: dict[str, User], agent: Any, outbox: list[EmailMessage], run_job: Any
) -> None:
    contact = User.objects.create(
        email="telegram-4242@messenger-contacts.invalid", role=Role.CUSTOMER, full_name="Caller"
    )
    ticket = phone_ticket(users, f"#{contact.customer_number}", run_job)
    response = agent.post(
        f"tickets/{ticket.number}/messages", {"body": "Reset it.", "status": "resolved"}
    )
    assert response.status_code == 201
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    assert not SurveySent.objects.exists()
    assert not [m for m in outbox if "/survey/" in str(m.body)]
