"""Time spent on a ticket: an agent logs minutes from the ticket page or the API, the page
sums them per agent, the history says so, and the time report adds them up."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from conftest import signed_in_client as desk_for
from destek.accounts.models import User
from destek.tickets.models import TimeEntry

pytestmark = pytest.mark.django_db


def test_an_agent_logs_time_on_the_ticket_page_and_sees_the_total(
    customer: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket()
    desk = desk_for(users["agent"])
    url = f"/desk/tickets/{ticket['number']}/"
    answer = desk.post(url + "time/", {"minutes": "45", "note": "Read the logs"})
    assert answer.status_code == 302
    desk.post(url + "time/", {"minutes": "30"})
    page = desk.get(url).content.decode()
    assert "Time spent: 1 h 15 min" in page
    assert "Time logged" in page, "the history says time was logged"
    assert list(TimeEntry.objects.values_list("minutes", "note")) == [
        (45, "Read the logs"),
        (30, ""),
    ]


def test_a_bad_number_of_minutes_is_refused_in_the_agents_language_and_nothing_is_logged(
    customer: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket()
    User.objects.filter(pk=users["agent"].pk).update(language="ru")
    desk = desk_for(users["agent"], "ru")
    for bad in ["0", "-5", "abc", "1441"]:
        page = desk.post(f"/desk/tickets/{ticket['number']}/time/", {"minutes": bad})
        assert page.status_code == 200
        assert 'id="time-form"' in page.content.decode()
    assert not TimeEntry.objects.exists()


def test_the_page_speaks_persian_digits(customer: Any, users: dict[str, User]) -> None:
    ticket = customer.file_ticket()
    desk = desk_for(users["agent"], "fa")
    desk.post(f"/desk/tickets/{ticket['number']}/time/", {"minutes": "90"})
    page = desk.get(f"/desk/tickets/{ticket['number']}/").content.decode()
    assert "۱ ساعت و ۳۰ دقیقه" in page


def test_an_agent_of_another_department_and_a_customer_cannot_log_time(
    customer: Any, finance: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket()
    answer = desk_for(users["finance"]).post(
        f"/desk/tickets/{ticket['number']}/time/", {"minutes": "10"}
    )
    assert answer.status_code == 404
    api = finance.post(f"tickets/{ticket['number']}/time", {"minutes": 10})
    assert api.status_code == 404
    mine = customer.post(f"tickets/{ticket['number']}/time", {"minutes": 10})
    assert mine.status_code == 403
    assert not TimeEntry.objects.exists()


def test_time_logged_through_the_api_is_summed_in_the_time_report(
    customer: Any, agent: Any, admin: Any
) -> None:
    first = customer.file_ticket()
    second = customer.file_ticket("Printer jams", "The printer jams on every page.")
    logged = agent.post(f"tickets/{first['number']}/time", {"minutes": 20, "note": "Call"})
    assert logged.status_code == 201
    assert logged.json()["ticket_minutes"] == 20
    agent.post(f"tickets/{second['number']}/time", {"minutes": 40})
    admin.post(f"tickets/{second['number']}/time", {"minutes": 5})
    by_agent = admin.get("reports/time").json()["rows"]
    assert [(r["group"], r["minutes"], r["tickets"]) for r in by_agent] == [
        ("agent@example.com", 60, 2),
        ("admin@example.com", 5, 1),
    ]
    by_department = agent.get("reports/time?group_by=department").json()["rows"]
    assert [(r["group"], r["minutes"]) for r in by_department] == [("technical", 65)]


@override_settings(DESTEK_TIME_TRACKING=False)
def test_with_time_tracking_off_there_is_no_form_and_the_api_refuses(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    ticket = customer.file_ticket()
    page = desk_for(users["agent"]).get(f"/desk/tickets/{ticket['number']}/").content.decode()
    assert 'id="time-form"' not in page
    answer = agent.post(f"tickets/{ticket['number']}/time", {"minutes": 10})
    assert answer.status_code == 403


def test_the_time_report_narrows_to_a_tag(
    customer: Any, agent: Any, users: dict[str, User]
) -> None:
    tagged = customer.file_ticket()
    other = customer.file_ticket("Printer jams", "The printer jams on every page.")
    desk_for(users["agent"]).post(f"/desk/tickets/{tagged['number']}/tags/", {"add": "billing"})
    agent.post(f"tickets/{tagged['number']}/time", {"minutes": 15})
    agent.post(f"tickets/{other['number']}/time", {"minutes": 50})
    rows = agent.get("reports/time?tag=billing").json()["rows"]
    assert [(r["group"], r["minutes"]) for r in rows] == [("agent@example.com", 15)]
    assert agent.get("reports/sla?tag=billing").status_code == 200
    assert agent.get("reports/time?tag=%20%21").json()["rows"] == []
