"""The agent desk without JavaScript: the queue, a ticket, reply, note, assign, close."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from destek.tickets import actions
from destek.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(users: dict) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def filed(users: dict, who: str = "customer", subject: str = "Export fails") -> Ticket:
    return actions.create_ticket(
        customer=users[who], subject=subject, body=f"{subject}: it never ends.", channel="web"
    )


def test_the_queue_is_for_agents_only(users: dict) -> None:
    customer = Client()
    customer.force_login(users["customer"])
    assert customer.get("/desk/").status_code == 403
    assert Client().get("/desk/").status_code == 302


def test_the_queue_shows_the_departments_tickets_vip_first_among_equals(
    desk: Client, users: dict
) -> None:
    mine = filed(users)
    theirs = filed(users, subject="Payment failed twice")  # routed to Finance
    page = desk.get("/desk/").content.decode()
    assert f"#{mine.number}" in page
    assert f"#{theirs.number}" not in page


def test_an_agent_replies_and_chooses_the_status(desk: Client, users: dict) -> None:
    ticket = filed(users)
    response = desk.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "Fixed on our side.", "status": "resolved"},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.first_response_at is not None


def test_notes_are_set_apart_and_never_reach_the_customer(desk: Client, users: dict) -> None:
    ticket = filed(users)
    desk.post(f"/desk/tickets/{ticket.number}/note/", {"body": "Old plan customer"})
    page = desk.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "Internal note" in page and "Old plan customer" in page
    customer = Client()
    customer.force_login(users["customer"])
    assert "Old plan customer" not in customer.get(f"/my/tickets/{ticket.number}/").content.decode()


def test_assign_to_me_and_close_with_a_contract_clause(desk: Client, users: dict) -> None:
    ticket = filed(users)
    desk.post(f"/desk/tickets/{ticket.number}/assign/")
    refused = desk.post(f"/desk/tickets/{ticket.number}/close/", {"reason": "contract"})
    assert "Closing under the contract needs the clause" in refused.content.decode()
    desk.post(f"/desk/tickets/{ticket.number}/close/", {"reason": "contract", "clause": "9.5"})
    ticket.refresh_from_db()
    assert ticket.assignee == users["agent"]
    assert (ticket.status, ticket.close_reason, ticket.contract_clause) == (
        "closed",
        "contract",
        "9.5",
    )


def test_opening_a_ticket_marks_it_seen(desk: Client, users: dict) -> None:
    ticket = filed(users)
    desk.get(f"/desk/tickets/{ticket.number}/")
    ticket.refresh_from_db()
    assert ticket.first_seen_at is not None


def test_another_departments_ticket_is_not_found(desk: Client, users: dict) -> None:
    theirs = filed(users, subject="Payment failed twice")
    assert desk.get(f"/desk/tickets/{theirs.number}/").status_code == 404
    assert desk.post(f"/desk/tickets/{theirs.number}/note/", {"body": "x"}).status_code == 404


def test_the_queue_page_costs_the_same_queries_for_2_or_30_tickets(
    desk: Client, users: dict
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk.get("/desk/").status_code == 200
        return len(queries)

    for i in range(2):
        filed(users, subject=f"Report {i} is blank")
    small = count()
    for i in range(2, 30):
        filed(users, who="vip" if i % 3 else "customer2", subject=f"Report {i} is blank")
    assert count() == small


def test_the_ticket_page_costs_a_fixed_number_of_queries(desk: Client, users: dict) -> None:
    ticket = filed(users)
    desk.get(f"/desk/tickets/{ticket.number}/")  # marks it seen once

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk.get(f"/desk/tickets/{ticket.number}/").status_code == 200
        return len(queries)

    before = count()
    for i in range(5):
        actions.add_message(ticket, author=users["agent"], body=f"Step {i}", internal=i % 2 == 0)
    assert count() == before


def test_subjects_are_text_in_the_desk(desk: Client, users: dict) -> None:
    filed(users, subject="<script>alert(1)</script> broken")
    page = desk.get("/desk/").content.decode()
    assert "<script>alert(1)</script>" not in page
