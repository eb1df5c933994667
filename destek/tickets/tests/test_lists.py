"""The queue list: keyset pages, filters, and a query count that does not grow with the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from destek.accounts.models import User
from destek.tickets.choices import Priority, TicketStatus
from destek.tickets.models import Department, Message, Tag, Ticket

pytestmark = pytest.mark.django_db


def make_tickets(count: int, **fields: Any) -> list[Ticket]:
    customer = User.objects.get(email="customer@example.com")
    department = Department.objects.get(slug=fields.pop("department", "technical"))
    tag, _ = Tag.objects.get_or_create(name="bulk")
    tickets = []
    for i in range(count):
        ticket = Ticket.objects.create(
            subject=f"Bulk {i}", department=department, customer=customer, language="en", **fields
        )
        ticket.tags.add(tag)
        Message.objects.create(
            ticket=ticket, author=customer, author_kind="customer", body="x", channel="api"
        )
        tickets.append(ticket)
    return tickets


def test_pages_follow_the_cursor_without_gaps_or_repeats(agent: Any) -> None:
    made = {t.number for t in make_tickets(7)}
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        query = "tickets?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = agent.get(query).json()
        seen += [t["number"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == made


def test_a_bad_cursor_is_a_clear_error(agent: Any) -> None:
    response = agent.get("tickets?cursor=@@@")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_agents_filter_by_status_priority_department_and_assignee(
    agent: Any, admin: Any, users: dict[str, User]
) -> None:
    make_tickets(2, status=TicketStatus.OPEN)
    make_tickets(1, priority=Priority.HIGH, assignee=users["agent"])
    make_tickets(1, department="finance")
    assert len(agent.get("tickets?status=open").json()["items"]) == 2
    assert len(agent.get("tickets?priority=high").json()["items"]) == 1
    assert len(agent.get("tickets?assignee=me").json()["items"]) == 1
    assert len(agent.get("tickets?assignee=none").json()["items"]) == 2
    assert len(agent.get("tickets?assignee=agent@example.com").json()["items"]) == 1
    assert len(admin.get("tickets?department=finance").json()["items"]) == 1
    assert agent.get("tickets?status=bogus").status_code == 422


def count_queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_queue_list_costs_the_same_queries_for_5_or_50_tickets(agent: Any) -> None:
    make_tickets(5)
    agent.get("tickets")  # the token's first use records it; later uses within a minute don't
    small = count_queries(agent, "tickets?limit=50")
    make_tickets(44)
    follow_up = make_tickets(1)[0]
    follow_up.related_to = Ticket.objects.order_by("pk").first()
    follow_up.save()
    large = count_queries(agent, "tickets?limit=50")
    assert large == small + 1, "a follow-up on the page costs one query for all links"
    assert small == 4, "the token, the agent's departments, the page, the page's tags"
