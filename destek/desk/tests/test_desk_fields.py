"""The desk's fields form and bulk changes go through one update action: a priority and a
department changed together are one transaction, with one event each."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.choices import EventKind
from destek.tickets.models import Department, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(users: dict[str, User]) -> Client:
    client = Client()
    client.force_login(users["agent"])
    client.cookies["django_language"] = "en"
    return client


def filed(users: dict[str, User], subject: str = "Export fails") -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject=subject,
        body=f"{subject}: the button does nothing and the report never arrives.",
        channel="web",
    )


def kinds_since(ticket: Ticket, after: int) -> list[str]:
    return list(
        TicketEvent.objects.filter(ticket=ticket, pk__gt=after).values_list("kind", flat=True)
    )


def last_event(ticket: Ticket) -> int:
    return TicketEvent.objects.filter(ticket=ticket).order_by("-pk").values_list("pk", flat=True)[0]


def test_a_priority_and_department_change_writes_one_event_each(
    desk: Client, users: dict[str, User]
) -> None:
    ticket = filed(users)
    before = last_event(ticket)
    finance = Department.objects.get(slug="finance")
    response = desk.post(
        f"/desk/tickets/{ticket.number}/fields/",
        {"priority": "high", "priority_reason": "", "department": finance.pk},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.department) == ("high", finance)
    assert kinds_since(ticket, before) == [EventKind.PRIORITY, EventKind.DEPARTMENT]


def test_a_refused_department_change_keeps_the_priority_as_it_was(
    desk: Client, users: dict[str, User], monkeypatch: Any
) -> None:
    ticket = filed(users)
    before, priority = last_event(ticket), ticket.priority

    def refuse(*args: Any, **kwargs: Any) -> Ticket:
        raise ActionRefused("forbidden", "Only agents of the department can do this.", status=403)

    # Where update_ticket looks it up: the department is the second change of the form.
    monkeypatch.setattr("destek.tickets.actions.update.change_department", refuse)
    finance = Department.objects.get(slug="finance")
    response = desk.post(
        f"/desk/tickets/{ticket.number}/fields/",
        {"priority": "high", "priority_reason": "", "department": finance.pk},
    )
    assert "Only agents of the department can do this." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == priority and ticket.department != finance
    assert kinds_since(ticket, before) == []


def test_a_bulk_change_writes_the_events_of_the_ticket_page(
    desk: Client, users: dict[str, User]
) -> None:
    tickets = [filed(users), filed(users, subject="Invoice page shows an error")]
    before = {t.pk: last_event(t) for t in tickets}
    numbers = [t.number for t in tickets]
    desk.post("/desk/bulk/", {"ticket": numbers, "op": "assign", "assignee": "me"})
    desk.post("/desk/bulk/", {"ticket": numbers, "op": "status", "status": "closed"})
    for ticket in tickets:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.status, ticket.close_reason) == (
            users["agent"],
            "closed",
            "resolved",
        )
        assert kinds_since(ticket, before[ticket.pk]) == [EventKind.ASSIGNEE, EventKind.STATUS]
