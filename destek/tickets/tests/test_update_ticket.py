"""One update action for several fields: all or nothing, one event per changed field, the
same events and refusals as the single-field actions. The desk's forms are tested in
desk/tests/test_desk_fields.py."""

from __future__ import annotations

from typing import Any

import pytest

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.tickets import actions
from destek.tickets.actions import Actor
from destek.tickets.choices import EventKind
from destek.tickets.models import Department, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def filed(users: dict[str, User]) -> Ticket:
    return actions.create_ticket(
        customer=users["customer"],
        subject="Export fails",
        body="Export fails: the button does nothing and the report never arrives.",
        channel="web",
    )


def changes(ticket: Ticket, after: int) -> list[tuple[str, str, str]]:
    return [
        (e.kind, e.from_value, e.to_value)
        for e in TicketEvent.objects.filter(ticket=ticket, pk__gt=after)
    ]


def last_event(ticket: Ticket) -> int:
    return TicketEvent.objects.filter(ticket=ticket).order_by("-pk").values_list("pk", flat=True)[0]


def test_each_changed_field_writes_its_own_event_in_a_fixed_order(users: dict[str, User]) -> None:
    ticket = filed(users)
    before, old_department = last_event(ticket), ticket.department
    finance = Department.objects.get(slug="finance")
    actions.update_ticket(
        ticket,
        Actor.of(users["admin"]),
        department=finance,
        status="pending",
        assignee=users["admin"],
        priority="high",
    )
    assert changes(ticket, before) == [
        (EventKind.PRIORITY, ticket.priority, "high"),
        (EventKind.ASSIGNEE, "", users["admin"].email),
        (EventKind.STATUS, "new", "pending"),
        (EventKind.DEPARTMENT, old_department.slug, "finance"),
    ]


def test_fields_left_unchanged_or_set_to_their_value_write_no_event(users: dict[str, User]) -> None:
    ticket = filed(users)
    before = last_event(ticket)
    actions.update_ticket(ticket, Actor.of(users["agent"]))
    actions.update_ticket(
        ticket, Actor.of(users["agent"]), priority=ticket.priority, department=ticket.department
    )
    assert changes(ticket, before) == []


def test_a_refused_field_undoes_the_fields_changed_before_it(users: dict[str, User]) -> None:
    ticket = filed(users)
    before, priority = last_event(ticket), ticket.priority
    with pytest.raises(ActionRefused) as refused:
        # Closing needs a reason: the priority, changed first, is not kept either.
        actions.update_ticket(ticket, Actor.of(users["agent"]), priority="low", status="closed")
    assert refused.value.code == "close_reason_required"
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) == (priority, "new")
    assert changes(ticket, before) == []


def test_unassigning_is_a_change_and_leaving_the_assignee_out_is_not(
    users: dict[str, User],
) -> None:
    ticket = filed(users)
    agent = Actor.of(users["agent"])
    actions.update_ticket(ticket, agent, assignee=users["agent"])
    before = last_event(ticket)
    actions.update_ticket(ticket, agent, priority="high")
    ticket.refresh_from_db()
    assert ticket.assignee == users["agent"]
    actions.update_ticket(ticket, agent, assignee=None)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert [kind for kind, *_ in changes(ticket, before)] == [
        EventKind.PRIORITY,
        EventKind.ASSIGNEE,
    ]


def test_a_close_reason_without_closing_is_refused(users: dict[str, User]) -> None:
    ticket = filed(users)
    with pytest.raises(ActionRefused) as refused:
        actions.update_ticket(ticket, Actor.of(users["agent"]), close_reason="resolved")
    assert refused.value.code == "close_reason_without_close"


# --- PATCH /tickets/{number}, which calls it ---------------------------------------------------


def test_a_patch_of_several_fields_writes_one_event_each(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    ticket = Ticket.objects.get(number=number)
    before = last_event(ticket)
    response = agent.patch(
        f"tickets/{number}",
        {
            "priority": "high",
            "assignee": "agent@example.com",
            "status": "closed",
            "close_reason": "contract",
            "contract_clause": "9.5",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["priority"], body["assignee"], body["status"]) == (
        "high",
        "agent@example.com",
        "closed",
    )
    assert [kind for kind, *_ in changes(ticket, before)] == [
        EventKind.PRIORITY,
        EventKind.ASSIGNEE,
        EventKind.STATUS,
    ]


def test_a_patch_refused_on_its_last_field_keeps_none_of_the_others(
    customer: Any, agent: Any
) -> None:
    number = customer.file_ticket()["number"]
    ticket = Ticket.objects.get(number=number)
    before = last_event(ticket)
    response = agent.patch(
        f"tickets/{number}", {"priority": "high", "status": "pending", "department": "nowhere"}
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_department")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) != ("high", "pending")
    assert changes(ticket, before) == []


def test_a_patch_with_a_close_reason_but_no_status_is_refused(customer: Any, agent: Any) -> None:
    number = customer.file_ticket()["number"]
    response = agent.patch(f"tickets/{number}", {"priority": "high", "close_reason": "resolved"})
    assert (response.status_code, response.json()["code"]) == (422, "close_reason_without_close")
    assert Ticket.objects.get(number=number).priority != "high"
