"""What one write costs in SQL statements, as production runs it: no test transaction
around it, so savepoints are the request's own. BEGIN and COMMIT are not counted (SQLite
logs them, PostgreSQL does not).

The admin's configuration is read once per process (`destek.lib.config_cache`), so these
counts are for a warm process: the first request after a configuration change reads it
again. Mail is written to the outbox in the request and sent by the worker, whose
statements are its own: the job it is handed is recorded here instead of run.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from destek.notify import actions as outbox

# As in production, search words are the worker's, seconds later (conftest.search_later).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("search_later")]


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    handed: list[list[int]] = []
    monkeypatch.setattr(outbox, "deliver_many", lambda ids, mail=True: handed.append(ids))
    return handed


@pytest.fixture(autouse=True)
def default_policy(demo: None) -> None:
    """The policy every installation has (made by a migration): a transactional test that ran
    before may have flushed it, and whether a ticket has a policy changes what a reply reads
    (its status history for the next-response clock), so the counts are taken with it."""
    from datetime import time

    from destek.lib import config_cache
    from destek.sla.models import Calendar, WeeklyHours
    from destek.tickets.models import Policy

    if not Policy.objects.filter(name="Default").exists():
        calendar = Calendar.objects.create(name="Office hours (test)", time_zone="Asia/Baku")
        for weekday in range(5):
            WeeklyHours.objects.create(
                calendar=calendar, weekday=weekday, start=time(9), end=time(18)
            )
        Policy.objects.create(
            name="Default",
            position=1000,
            calendar=calendar,
            first_response_minutes=240,
            next_response_minutes=240,
            resolution_minutes=3 * 540,
        )
    config_cache.forget()


def statements(request: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = request()
    sql = [q["sql"] for q in captured.captured_queries]
    return response, [s for s in sql if not s.startswith(("BEGIN", "COMMIT"))]


def show(sql: list[str]) -> str:
    return "\n".join(s[:160] for s in sql)


def test_filing_a_ticket_takes_ten_statements_and_one_job(
    customer: Any, jobs: list[list[int]]
) -> None:
    customer.file_ticket(subject="Printer on floor two jams", body="It jams on every page.")
    jobs.clear()
    response, sql = statements(
        lambda: customer.post(
            "tickets",
            {"subject": "Invoice page shows error 500", "body": "Since this morning it fails."},
        )
    )
    assert response.status_code == 201
    # the token; savepoint; the customer locked with their addresses; the duplicate check;
    # ticket, message, history; the agents to tell; the outbox; release
    assert len(sql) == 10, show(sql)
    assert len(jobs) == 1 and len(jobs[0]) == 2, "the customer's and the agent's mail, one job"


def test_an_agent_reply_takes_fifteen_statements_and_one_job(
    customer: Any, agent: Any, jobs: list[list[int]]
) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Looking into it."})
    customer.post(f"tickets/{number}/messages", {"body": "Still broken here."})
    jobs.clear()
    response, sql = statements(
        lambda: agent.post(f"tickets/{number}/messages", {"body": "Fixed: please try again."})
    )
    assert response.status_code == 201
    # the token; the ticket through the access door; savepoint; the ticket locked; message,
    # history (reply, status); the status history for the clocks; the ticket saved; the
    # customer's address and latest mail; the outbox; release; the message and its files
    assert len(sql) == 15, show(sql)
    assert len(jobs) == 1


def test_a_customer_reply_takes_thirteen_statements(
    customer: Any, agent: Any, jobs: list[list[int]]
) -> None:
    number = customer.file_ticket()["number"]
    agent.post(f"tickets/{number}/messages", {"body": "Looking into it."})
    jobs.clear()
    response, sql = statements(
        lambda: customer.post(f"tickets/{number}/messages", {"body": "Still broken here."})
    )
    assert response.status_code == 201
    # the token; the ticket through the access door; savepoint; the ticket locked; message,
    # history (status); the message that started the next-response clock; the status history
    # for the clocks; the ticket saved; history (reply); release; the message and its files
    assert len(sql) == 13, show(sql)


def test_a_ticket_whose_random_number_is_taken_is_filed_under_a_new_one(
    customer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from destek.tickets.models import Ticket

    taken = customer.file_ticket()["number"]
    numbers = iter([taken, taken, 55_555_555])
    # Django reads a field's default through this (cached) callable.
    monkeypatch.setattr(Ticket._meta.get_field("number"), "_get_default", lambda: next(numbers))
    filed = customer.file_ticket(subject="Export to CSV is empty", body="The file has no rows.")
    assert filed["number"] == 55_555_555
    assert Ticket.objects.filter(number=taken).count() == 1
    assert Ticket.objects.get(number=55_555_555).messages.count() == 1
