"""The desk's reports page: every section with its table, in the reader's language and
digits, each as CSV safe to open in a spreadsheet; agents see their departments only."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import signed_in_client as desk_for
from destek.accounts.models import User
from destek.desk.reports_views import safe_cell
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(customer: Any, agent: Any, users: dict[str, User]) -> list[Ticket]:
    numbers = [
        customer.file_ticket(f"Problem {n}", f"Broken thing {n}.")["number"] for n in range(3)
    ]
    agent.post(f"tickets/{numbers[0]}/messages", {"body": "Fixed.", "status": "resolved"})
    tickets = list(Ticket.objects.filter(number__in=numbers).order_by("id"))
    for ticket, (score, solved) in zip(tickets[:2], [(5, True), (1, False)], strict=True):
        SurveySent.objects.create(
            ticket=ticket,
            customer=ticket.customer,
            agent=users["agent"],
            department=ticket.department,
            channel=ticket.channel,
        )
        SurveyAnswer.objects.create(
            ticket=ticket,
            customer=ticket.customer,
            agent=users["agent"],
            department=ticket.department,
            channel=ticket.channel,
            speed=score,
            clarity=score,
            tone=score,
            solved=solved,
            comment='=HYPERLINK("http://evil")',
        )
    return tickets


def test_the_reports_page_shows_every_section_with_a_table(
    answered: list[Ticket], users: dict[str, User]
) -> None:
    page = desk_for(users["agent"]).get("/desk/reports/").content.decode()
    for section in ("sla", "volume", "backlog", "times", "csat", "kb", "heatmap"):
        assert f'id="report-{section}"' in page
        assert f"section={section}" in page, "each section has its CSV"
    assert page.count("<table") >= 6  # times and deflection are figures, not charts
    assert "Technical" in page
    assert 'id="nav-reports"' in page


def test_an_agent_of_another_department_sees_none_of_its_tickets(
    answered: list[Ticket], users: dict[str, User]
) -> None:
    page = desk_for(users["finance"]).get("/desk/reports/").content.decode()
    assert "No survey answers in this period." in page
    assert "No tickets in this period." in page


def test_customers_cannot_open_the_reports(users: dict[str, User]) -> None:
    assert desk_for(users["customer"]).get("/desk/reports/").status_code == 403


def test_the_page_speaks_persian_with_persian_digits_and_weekdays(
    answered: list[Ticket], users: dict[str, User]
) -> None:
    page = desk_for(users["admin"], "fa").get("/desk/reports/").content.decode()
    assert 'dir="rtl"' in page
    assert "۲۳" in page, "the heatmap's hours in Persian digits"
    assert "٪" in page, "shares with the Persian percent sign"
    days = page[page.index('id="heatmap-table"') :]
    assert days.index("شنبه") < days.index("دوشنبه"), "the Persian week starts on Saturday"


def test_a_bad_period_is_explained_and_the_page_still_shows_the_default(
    answered: list[Ticket], users: dict[str, User]
) -> None:
    page = (
        desk_for(users["agent"], "ru")
        .get("/desk/reports/?start=2026-12-01&end=2026-11-01")
        .content.decode()
    )
    assert 'role="alert"' in page
    assert 'id="report-sla"' in page


def test_csv_has_a_byte_order_mark_plain_numbers_and_no_formulas(
    answered: list[Ticket], users: dict[str, User]
) -> None:
    desk = desk_for(users["admin"], "fa")
    response = desk.get("/desk/reports/?group_by=agent&format=csv&section=csat")
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffgroup,label,answers")
    assert "agent@example.com" in text
    assert ",2," in text and "۲" not in text, "values are not localised"
    for section in ("sla", "volume", "backlog", "times", "kb", "heatmap"):
        assert desk.get(f"/desk/reports/?format=csv&section={section}").status_code == 200
    assert safe_cell("=1+2") == "'=1+2"
    assert safe_cell("-5 apples") == "'-5 apples"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell(-5) == -5
    assert safe_cell("plain") == "plain"


def test_the_page_runs_a_fixed_number_of_queries(
    answered: list[Ticket], customer: Any, users: dict[str, User]
) -> None:
    desk = desk_for(users["admin"])
    desk.get("/desk/reports/")
    with CaptureQueriesContext(connection) as before:
        desk.get("/desk/reports/")
    for n in range(5):
        customer.file_ticket(f"More {n}", f"Another broken thing {n}.")
    with CaptureQueriesContext(connection) as after:
        desk.get("/desk/reports/?group_by=week")
    assert len(after) == len(before) <= 16, [q["sql"][:120] for q in after.captured_queries]
