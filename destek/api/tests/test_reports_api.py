"""The reports API: satisfaction per agent, department, channel and period; the SLA report
grouped; who may read what; bad groupings refused in the reader's language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from destek.accounts.models import User
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def answer(ticket: Ticket, agent: User | None, **scores: Any) -> SurveyAnswer:
    values = {"speed": 5, "clarity": 5, "tone": 5, "solved": True, **scores}
    sent(ticket, agent)
    return SurveyAnswer.objects.create(
        ticket=ticket,
        customer=ticket.customer,
        agent=agent,
        department=ticket.department,
        channel=ticket.channel,
        **values,
    )


def sent(ticket: Ticket, agent: User | None) -> SurveySent:
    return SurveySent.objects.create(
        ticket=ticket,
        customer=ticket.customer,
        agent=agent,
        department=ticket.department,
        channel=ticket.channel,
    )


@pytest.fixture
def rated(customer: Any, users: dict[str, User]) -> list[Ticket]:
    """Three tickets of the Technical department: two answered (one unhappy), one not."""
    tickets = [
        Ticket.objects.get(
            number=customer.file_ticket(f"Problem {n}", f"Broken thing {n}.")["number"]
        )
        for n in range(3)
    ]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(assignee=users["agent"])
    answer(tickets[0], users["agent"], speed=4, clarity=5, tone=3)
    answer(tickets[1], users["agent"], speed=2, clarity=3, tone=4, solved=False)
    sent(tickets[2], users["agent"])
    return tickets


def test_satisfaction_per_agent_averages_each_dimension_and_counts_the_unhappy(
    agent: Any, rated: list[Ticket]
) -> None:
    report = agent.get("reports/csat?group_by=agent").json()
    assert report["group_by"] == "agent"
    (row,) = report["rows"]
    assert row["group"] == "agent@example.com"
    assert (row["answers"], row["sent"]) == (2, 3)
    assert (row["speed"], row["clarity"], row["tone"]) == (3.0, 4.0, 3.5)
    assert (row["solved_share"], row["unhappy_share"]) == (0.5, 0.5)
    assert row["response_rate"] == round(2 / 3, 4)


def test_satisfaction_by_department_channel_and_month(agent: Any, rated: list[Ticket]) -> None:
    by_department = agent.get("reports/csat?group_by=department").json()["rows"]
    assert [(r["group"], r["answers"]) for r in by_department] == [("technical", 2)]
    by_channel = agent.get("reports/csat?group_by=channel").json()["rows"]
    assert [(r["group"], r["answers"]) for r in by_channel] == [("api", 2)]
    by_month = agent.get("reports/csat?period=month").json()
    assert by_month["group_by"] == "month"
    assert sum(r["answers"] for r in by_month["rows"]) == 2


def test_an_agent_of_another_department_sees_no_answers_and_an_admin_sees_them(
    finance: Any, admin: Any, rated: list[Ticket]
) -> None:
    assert finance.get("reports/csat").json()["rows"] == []
    assert admin.get("reports/csat").json()["rows"][0]["answers"] == 2


def test_customers_get_no_satisfaction_report(customer: Any) -> None:
    assert customer.get("reports/csat").status_code == 403


def test_answers_outside_the_period_are_left_out(agent: Any, rated: list[Ticket]) -> None:
    later = (timezone.now() + timedelta(days=1)).isoformat()
    response = agent.get("reports/csat?" + urlencode({"from": later, "to": later}))
    assert response.status_code == 422  # the period must end after it starts
    past = timezone.now() - timedelta(days=90)
    data = {"from": past.isoformat(), "to": (past + timedelta(days=10)).isoformat()}
    assert agent.get("reports/csat?" + urlencode(data)).json()["rows"] == []


def test_a_bad_grouping_is_refused_in_the_readers_language(as_user: Any) -> None:
    agent = as_user("agent", "ru")
    response = agent.get("reports/csat?group_by=customer")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_group_by"
    assert "agent" not in response.json()["detail"], "the message is in Russian"
    assert agent.get("reports/csat?period=year").json()["code"] == "invalid_period_grouping"
    assert agent.get("reports/sla?group_by=priority").json()["code"] == "invalid_group_by"


def test_the_sla_report_grouped_by_channel_counts_first_responses_and_resolutions(
    agent: Any, admin: Any, customer: Any
) -> None:
    numbers = [
        customer.file_ticket(f"Problem {n}", f"Broken thing {n}.")["number"] for n in range(2)
    ]
    agent.post(f"tickets/{numbers[0]}/messages", {"body": "Fixed.", "status": "resolved"})
    Ticket.objects.filter(number=numbers[1]).update(
        first_response_breached_at=timezone.now(), resolution_breached_at=timezone.now()
    )
    report = agent.get("reports/sla?group_by=channel").json()
    assert report["group_by"] == "channel"
    (row,) = report["rows"]
    assert (row["group"], row["tickets"]) == ("api", 2)
    assert (row["first_response_met"], row["first_response_breached"]) == (1, 1)
    assert (row["resolution_met"], row["resolution_breached"]) == (1, 1)
    assert row["resolution_share_met"] == 0.5
    since = (timezone.now() - timedelta(days=7)).isoformat()
    by_agent = admin.get("reports/sla?" + urlencode({"group_by": "agent", "from": since})).json()
    assert sum(r["tickets"] for r in by_agent["rows"]) >= 2


def test_the_sla_report_without_grouping_keeps_its_rows_per_department_and_priority(
    agent: Any, customer: Any
) -> None:
    customer.file_ticket()
    row = agent.get("reports/sla").json()["rows"][0]
    assert {"department", "priority", "share_met"} <= set(row)


def test_a_survey_sent_keeps_the_tickets_agent_department_and_channel(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    from destek.surveys.actions import claim

    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Fixed.", "status": "resolved"})
    ticket = Ticket.objects.get(number=number)
    survey = claim(ticket, via="email")
    assert survey is not None
    assert (survey.agent, survey.department, survey.channel) == (
        users["agent"],
        ticket.department,
        "api",
    )
    (row,) = agent.get("reports/csat?group_by=agent").json()["rows"]
    assert (row["group"], row["answers"], row["sent"]) == ("agent@example.com", 0, 1)


def test_the_response_rate_counts_only_answers_to_surveys_sent_and_never_passes_100_percent(
    agent: Any, customer: Any, rated: list[Ticket], users: dict[str, User]
) -> None:
    # Two more tickets rated in the portal before their survey went out: no survey is sent
    # for them (an answered ticket is not asked), so they are no responses to a survey.
    for n in (3, 4):
        ticket = Ticket.objects.get(
            number=customer.file_ticket(f"Problem {n}", f"Broken thing {n}.")["number"]
        )
        Ticket.objects.filter(pk=ticket.pk).update(assignee=users["agent"])
        SurveyAnswer.objects.create(
            ticket=ticket,
            customer=ticket.customer,
            agent=users["agent"],
            department=ticket.department,
            channel=ticket.channel,
            speed=5,
            clarity=5,
            tone=5,
            solved=True,
        )
    (row,) = agent.get("reports/csat?group_by=agent").json()["rows"]
    assert (row["answers"], row["sent"]) == (4, 3)
    assert row["response_rate"] == round(2 / 3, 4)
